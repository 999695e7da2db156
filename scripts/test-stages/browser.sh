#!/usr/bin/env bash
# `make test` setup stage: Debian's Chromium and its WebDriver for tests/ui (headless browser tests),
# and Khmer fonts so pages and screenshots render Khmer script. Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
dpkg-query -W -f='${Status}' fonts-khmeros 2>/dev/null | grep -q "install ok installed" || missing+=(fonts-khmeros)
if [ ${#missing[@]} -gt 0 ]; then
  echo "browser stage: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
/usr/bin/chromium --version
/usr/bin/chromedriver --version
