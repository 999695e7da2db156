#!/usr/bin/env bash
# `make bench`: every benchmark, each printing its figures (not part of CI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
for name in $(.venv/bin/chumnuoy bench list); do
  echo "=== bench $name"
  .venv/bin/chumnuoy bench "$name"
done
