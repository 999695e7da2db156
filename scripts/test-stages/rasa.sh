#!/usr/bin/env bash
# `make test` setup stage: the Rasa venv used by tests/nlu/test_rasa_backend.py (quick when built).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/rasa-venv.sh
