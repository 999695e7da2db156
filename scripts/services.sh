#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis on loopback for the tests (and for the local production-shaped set).
#   scripts/services.sh install   Debian packages postgresql and redis-server, when missing
#   scripts/services.sh start     install if needed, then start both (idempotent)
#   scripts/services.sh stop      stop both and delete their data
#   scripts/services.sh env       print the export lines for the URLs
#   scripts/services.sh halt      stop both, keeping their data (the production-shaped set of `chumnuoy run
#                                 --production` restarts on the same data)
#   scripts/services.sh restart-pg  restart PostgreSQL only (fault tests on a private cluster)
# CHUMNUOY_TEST_PG_PORT, CHUMNUOY_TEST_REDIS_PORT and CHUMNUOY_TEST_SERVICES_DIR put a second, private set
# elsewhere (the production-shaped set and the fault tests do; the test set stays on 55432/56379).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_PORT=${CHUMNUOY_TEST_PG_PORT:-55432}
REDIS_PORT=${CHUMNUOY_TEST_REDIS_PORT:-56379}
BASE=${CHUMNUOY_TEST_SERVICES_DIR:-/tmp/chumnuoy-services-$(id -u)-$PG_PORT}
PG_USER=chumnuoy
PG_PASSWORD=chumnuoy-test
PG_DB=chumnuoy_test

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
# PostgreSQL refuses to run as root: run its commands as the Debian 'postgres' user then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

install() {
  local wanted=()
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || wanted+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || wanted+=(redis-server)
  if [ ${#wanted[@]} -gt 0 ]; then
    echo "services: installing ${wanted[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
    # Debian starts the packaged servers; ours run apart on their own ports, theirs are not needed.
    as_root service postgresql stop >/dev/null 2>&1 || true
    as_root service redis-server stop >/dev/null 2>&1 || true
  fi
}

start_pg() {
  local bin data="$BASE/pg"
  bin=$(pg_bin)
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then return 0; fi
  mkdir -p "$BASE"
  if [ "$(id -u)" = 0 ]; then chown postgres "$BASE"; chmod 700 "$BASE"; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg bash -c "umask 077; echo '$PG_PASSWORD' > '$BASE/pwfile'"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --pwfile="$BASE/pwfile" -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_pg "$bin/pg_ctl" -D "$data" -l "$BASE/pg.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $BASE -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c autovacuum=off" >/dev/null
  if ! as_pg "$bin/psql" -h "$BASE" -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='$PG_USER'" | grep -q 1; then
    as_pg "$bin/psql" -q -h "$BASE" -p "$PG_PORT" -U postgres \
      -c "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'" \
      -c "CREATE DATABASE $PG_DB OWNER $PG_USER"
  fi
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then return 0; fi
  mkdir -p "$BASE/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$BASE/redis" \
    --save "" --appendonly no --logfile "$BASE/redis.log" --pidfile "$BASE/redis.pid"
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "services: redis did not start" >&2; return 1
}

stop() {
  local bin; bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$BASE/pg/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$BASE/pg" -m fast -w stop >/dev/null || true
  fi
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$BASE"
}

halt() {
  local bin; bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$BASE/pg/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$BASE/pg" -m fast -w stop >/dev/null || true
  fi
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

restart_pg() {
  local bin; bin=$(pg_bin)
  as_pg "$bin/pg_ctl" -D "$BASE/pg" -m fast -w -t 60 restart \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $BASE -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c autovacuum=off" >/dev/null
}

env_lines() {
  echo "export CHUMNUOY_TEST_DATABASE_URL=postgresql+psycopg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
  echo "export CHUMNUOY_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

case "${1:-}" in
  install) install ;;
  start) install; start_pg; start_redis; echo "services: PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT" ;;
  stop) stop; echo "services: stopped" ;;
  env) env_lines ;;
  halt) halt; echo "services: halted (data kept in $BASE)" ;;
  restart-pg) restart_pg; echo "services: PostgreSQL restarted on 127.0.0.1:$PG_PORT" ;;
  *) echo "usage: $0 install|start|stop|env|halt|restart-pg" >&2; exit 2 ;;
esac
