#!/usr/bin/env bash
# Serve the web app with a Celery worker and beat beside it; Ctrl-C stops all three.
# The worker and beat are supervised: if one exits, it is logged and started again.
set -u
cd "$(dirname "$0")/.."
VENV=.venv/bin
mkdir -p var/broker var/broker-processed
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping web, worker and beat..."
  kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup INT TERM EXIT
scripts/supervise.sh worker \
  "$VENV/celery" -A config worker --loglevel=INFO --concurrency=1 --without-gossip --without-mingle &
pids+=($!)
scripts/supervise.sh beat "$VENV/celery" -A config beat --loglevel=INFO --schedule var/celerybeat-schedule &
pids+=($!)
"$VENV/python" manage.py runserver --noreload "${BIND:-127.0.0.1:8000}" &
pids+=($!)
echo "Serving on http://${BIND:-127.0.0.1:8000}/ (admin at /admin/); Ctrl-C stops everything."
wait -n "${pids[@]}"
