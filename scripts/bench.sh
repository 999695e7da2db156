#!/usr/bin/env bash
# `make bench`: every benchmark, each printing its figures (not part of CI), with its duration.
# Includes `load` (USSD/SMS/API at 50/100/200 users, embedded and production configurations) and
# `faults` (kill -9 of web and workers under load, registry outage, PostgreSQL restart).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
for name in $(.venv/bin/chumnuoy bench list); do
  echo "=== bench $name"
  started=$(date +%s)
  .venv/bin/chumnuoy bench "$name"
  echo "=== bench $name: $(( $(date +%s) - started )) s"
done
