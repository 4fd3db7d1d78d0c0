# shellcheck shell=bash
# Shared by the bench/*.sh scripts (sourced from the repository root): the folioctl to
# measure and the stack to measure on.

# Sets $folioctl: $FOLIOCTL, else the release build. Exits when it is missing.
bench_folioctl() {
  folioctl=${FOLIOCTL:-build/release/apps/folioctl/folioctl}
  [ -x "$folioctl" ] || {
    echo "build first: cmake --preset release && cmake --build --preset release" >&2
    exit 1
  }
}

# Uses the stack in $FOLIO_STACK_DIR when set, otherwise starts one (shared_buffers 2GB like
# docs/benchmarks.md's reference runs) in a temporary directory, remembered in $own_stack
# for bench_stack_down. Loads its stack.env into the environment.
bench_stack_up() {
  own_stack=""
  if [ -z "${FOLIO_STACK_DIR:-}" ]; then
    own_stack=$(mktemp -d /tmp/folio-bench.XXXXXX)
    FOLIO_PG_SHARED_BUFFERS=${FOLIO_PG_SHARED_BUFFERS:-2GB} scripts/stack up --dir "$own_stack" >/dev/null
    FOLIO_STACK_DIR=$own_stack
  fi
  set -a
  # shellcheck disable=SC1091
  . "$FOLIO_STACK_DIR/stack.env"
  set +a
}

# Stops the stack bench_stack_up started, if it started one.
bench_stack_down() {
  [ -z "${own_stack:-}" ] || scripts/stack down --dir "$own_stack" >/dev/null
}

# Sets $server_bin: $FOLIO_SERVER, else the release build. Exits when it is missing.
bench_server() {
  server_bin=${FOLIO_SERVER:-build/release/apps/folio-server/folio-server}
  [ -x "$server_bin" ] || { echo "build folio-server first" >&2; exit 1; }
}

# bench_reseed ORGS: the stack's folio database migrated, emptied (the partitioned side and
# the cutover state too) and seeded with ORGS organizations x 20 rows over 12 months up to
# 2026-10 (legacy tables; the same data on every run).
bench_reseed() {
  "$folioctl" migrate --database-url "$DATABASE_DIRECT_URL" >/dev/null
  psql "$DATABASE_DIRECT_URL" -XqAt -c "TRUNCATE organizations, revenues, expenses, balances" \
    -c "DROP TABLE IF EXISTS revenues_partitioned, expenses_partitioned, balances_partitioned CASCADE" \
    -c "TRUNCATE revenues_locator, expenses_locator" \
    -c "DELETE FROM partition_routing" -c "DELETE FROM backfill_progress" >/dev/null 2>&1 || true
  "$folioctl" seed --database-url "$DATABASE_URL" --orgs "$1" --rows-per-org 20 --months 12 \
    --until 2026-10 --seed 7 >/dev/null
}

# Prints a free loopback TCP port.
bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_start_server LOG [folio-server flags...]: starts $server_bin on a free loopback port
# on the primary only (no replicas, no Redis cache: the uncached path), logging to LOG, and
# waits until it is ready. Sets $port and $server_pid; returns 1 (log shown) if it never is.
bench_start_server() {
  local log=$1
  shift
  port=$(bench_free_port)
  REPLICA_URLS="" REPLICA_HEALTH_URLS="" REDIS_URL="" \
    "$server_bin" --listen "127.0.0.1:$port" --log-level warn "$@" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$log" >&2
  return 1
}
