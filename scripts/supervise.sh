#!/usr/bin/env bash
# supervise.sh NAME COMMAND...: run COMMAND; whenever it exits, log it and start it
# again after a pause. SIGTERM/SIGINT stop COMMAND and then this loop.
# `make run` (scripts/run-all.sh) and bench/fault_run.py keep the Celery worker and beat
# alive with it, as docker-compose.yml does with `restart: unless-stopped`.
set -u
name=$1; shift
pause=${SUPERVISE_PAUSE:-2}
child=
stop() {
  if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi
  exit 0
}
trap stop TERM INT
while true; do
  "$@" &
  child=$!
  wait "$child"
  code=$?
  echo "[supervise] $(date -u +%FT%TZ) $name exited with status $code; restarting in ${pause}s" >&2
  sleep "$pause" &
  wait $!
done
