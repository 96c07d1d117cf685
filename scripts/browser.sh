#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's Chromium with Playwright (never a downloaded
# browser build). Install it from the distribution's packages if it is not there yet.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/browser.sh: /usr/bin/chromium is missing; install Debian's 'chromium' package" >&2
  exit 0
fi
echo "[browser] installing Debian's chromium (once)" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
