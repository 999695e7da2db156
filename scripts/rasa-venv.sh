#!/usr/bin/env bash
# Build .venv-rasa (Python 3.10, Rasa Open Source 3.6.21) from the hashed constraints file.
# Idempotent: a no-op when the venv was built from the current constraints file.
# Usage: scripts/rasa-venv.sh [VENV_DIR]   (default .venv-rasa at the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-rasa}
constraints=nlu/rasa/requirements-rasa.txt
stamp=$venv/.installed
want=$(sha256sum "$constraints" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/rasa" ]; then
  echo "rasa-venv: $venv up to date"
  exit 0
fi

find_python310() {
  if command -v pyenv >/dev/null 2>&1; then
    local candidate
    candidate="$(pyenv root)/versions/3.10.13/bin/python"
    if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
    for candidate in "$(pyenv root)"/versions/3.10.*/bin/python; do
      if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
    done
  fi
  if command -v python3.10 >/dev/null 2>&1; then command -v python3.10; return 0; fi
  echo "rasa-venv: Python 3.10 is required (pyenv 3.10.x or python3.10 on PATH)" >&2
  return 1
}

python310=$(find_python310)
rm -rf "$venv"
"$python310" -m venv "$venv"
export RASA_TELEMETRY_ENABLED=false PIP_DISABLE_PIP_VERSION_CHECK=1
"$venv/bin/python" -m pip install -q --require-hashes --no-deps -r "$constraints"
"$venv/bin/python" -m pip check >/dev/null
echo "$want" > "$stamp"
echo "rasa-venv: $venv ready ($(du -sh "$venv" | cut -f1))"
