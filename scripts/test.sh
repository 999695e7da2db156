#!/usr/bin/env bash
# `make test`: install what the tests need, run every stage, print the time of each.
set -uo pipefail
cd "$(dirname "$0")/.."

declare -a SUMMARY=()
FAILED=0
stage() {  # stage NAME COMMAND...
  local name=$1; shift
  local started=$SECONDS
  echo
  echo "=== stage: $name"
  if "$@"; then
    SUMMARY+=("$(printf '%-34s %5ss  ok' "$name" $((SECONDS - started)))")
  else
    SUMMARY+=("$(printf '%-34s %5ss  FAILED' "$name" $((SECONDS - started)))")
    FAILED=1
  fi
}
finish() {
  echo
  echo "=== stage timings"
  printf '%s\n' "${SUMMARY[@]}"
  printf 'total %ss\n' "$SECONDS"
}
trap 'bash scripts/services.sh stop >/dev/null 2>&1 || true' EXIT

stage "bootstrap (.venv, packages)" bash scripts/bootstrap.sh || true
if [ $FAILED = 1 ]; then finish; exit 1; fi
stage "lint (ruff)" .venv/bin/ruff check .
stage "test services (PostgreSQL, Redis)" bash scripts/services.sh start
eval "$(bash scripts/services.sh env)"
export CHUMNUOY_REQUIRE_SERVICES=1
for extra in scripts/test-stages/*.sh; do  # stages added by later issues (Rasa, browser, …)
  [ -e "$extra" ] || continue
  stage "setup: $(basename "$extra" .sh)" bash "$extra"
done
stage "tests on SQLite" .venv/bin/python -m pytest -q -p no:cacheprovider
stage "tests on PostgreSQL + Redis" env CHUMNUOY_BACKEND=postgres .venv/bin/python -m pytest -q -p no:cacheprovider -m "not sqlite_only"
finish
exit $FAILED
