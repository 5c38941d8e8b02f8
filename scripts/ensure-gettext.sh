#!/usr/bin/env bash
# The translation tests and `make messages` use GNU gettext (msgfmt, xgettext); the app
# itself does not (the compiled .mo files are committed). Install it when missing (as root).
set -u
if command -v msgfmt >/dev/null 2>&1 && command -v xgettext >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's gettext for the translation tests..."
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null \
    && exit 0
fi
echo "ERROR: GNU gettext (msgfmt, xgettext) is missing and could not be installed." >&2
echo "       Install Debian's 'gettext' package (sudo apt-get install gettext)." >&2
exit 1
