#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer; start the
# local servers when they are installed but down; fail clearly when they cannot be had.
set -u
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || python3 - <<'PY' 2>/dev/null
import socket; socket.create_connection(("127.0.0.1", 5432), 2).close()
PY
}
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is down; starting the local cluster..."
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
fi
if ! pg_up; then
  echo "ERROR: PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started." >&2
  echo "       Install it (apt-get install postgresql) or set TEST_DATABASE_URL to a server you have." >&2
  exit 1
fi

# Up is not enough: the suite logs in as the URL's user (trust auth on these machines).
TEST_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tracker}"
ADMIN_URL="${TEST_URL%/*}/postgres"
if command -v psql >/dev/null 2>&1 && ! psql "$ADMIN_URL" -qtAc 'select 1' >/dev/null 2>&1; then
  echo "ERROR: PostgreSQL answers on 127.0.0.1:5432 but refuses to log in as given in" >&2
  echo "       $TEST_URL (the tests need a role that may create databases)." >&2
  echo "       Either allow it (a 'host all all 127.0.0.1/32 trust' line in pg_hba.conf)" >&2
  echo "       or set TEST_DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/tracker." >&2
  exit 1
fi

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "Redis is down; starting a local server..."
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 \
      || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1
    for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
  fi
fi
if ! redis_up; then
  echo "ERROR: Redis is not reachable on 127.0.0.1:6379 and could not be started." >&2
  echo "       Install it (apt-get install redis-server) or set TEST_REDIS_URL." >&2
  exit 1
fi
echo "PostgreSQL and Redis are up."
