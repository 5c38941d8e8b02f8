#!/usr/bin/env bash
# The browser tests drive Debian's Chromium; install it when missing (as root).
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    && exit 0
fi
echo "ERROR: /usr/bin/chromium is missing and could not be installed; the browser tests need it." >&2
echo "       Install Debian's 'chromium' package (sudo apt-get install chromium)." >&2
exit 1
