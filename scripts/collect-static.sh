#!/bin/sh
# Static files as production serves them, for the Docker image and its test
# (tests/test_static_build.py). DEBUG must be off here: only then is the storage
# WhiteNoise's manifest storage, which writes the hashed copies and staticfiles.json
# that {% static %} looks names up in when DEBUG is off. Built with DEBUG on, every
# page fails with "Missing staticfiles manifest entry". The secret is a placeholder:
# collectstatic signs nothing, and the running container gets its own.
set -eu
cd "$(dirname "$0")/.."
DEBUG=false \
SECRET_KEY="${SECRET_KEY:-collectstatic-signs-nothing-placeholder-0123456789abcdefghijklmnop}" \
  "${PYTHON:-python}" manage.py collectstatic --noinput --verbosity 0
test -s "${VAR_DIR:-var}/staticfiles/staticfiles.json"
