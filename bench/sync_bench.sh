#!/usr/bin/env bash
# Dual-write cost: single-row insert TPS into the legacy table with the two-way sync
# triggers on, against the same inserts without them, in the same run on the same server
# (pgbench, the same custom script, alternating rounds so drift hits both alike). Prints
# both rates and their ratio (target: with triggers >= 0.6 x without).
#
#   bench/sync_bench.sh [--orgs N] [--clients C] [--seconds S] [--rounds R]
#
# Uses the stack in $FOLIO_STACK_DIR when set, otherwise starts one in a temporary directory
# and stops it afterwards. Needs a release build (cmake --preset release && cmake --build
# --preset release).
set -euo pipefail
cd "$(dirname "$0")/.."

orgs=10000 clients=4 seconds=15 rounds=2
while [ $# -gt 0 ]; do
  case $1 in
    --orgs) orgs=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_folioctl

bench_stack_up
work=$(mktemp -d /tmp/folio-sync-bench.XXXXXX)
cleanup() {
  rm -rf "$work"
  psql "$DATABASE_DIRECT_URL" -XqAt -c "DROP DATABASE IF EXISTS folio_bench_sync WITH (FORCE)" 2>/dev/null || true
  bench_stack_down
}
trap cleanup EXIT

url=${DATABASE_DIRECT_URL%/*}/folio_bench_sync
psql "$DATABASE_DIRECT_URL" -XqAt -c "DROP DATABASE IF EXISTS folio_bench_sync WITH (FORCE)" -c "CREATE DATABASE folio_bench_sync"
"$folioctl" migrate --database-url "$url" >/dev/null 2>&1
"$folioctl" seed --orgs "$orgs" --months 12 --database-url "$url" >/dev/null 2>&1
"$folioctl" switchover prepare --database-url "$url" --audit-stats none >/dev/null 2>&1

cat >"$work/insert.sql" <<SQL
\\set org random(1, $orgs)
INSERT INTO revenues (org_id, category, amount_cents, currency, occurred_at) VALUES (:org, 'room', 100, 'EUR', now());
SQL
tps() {  # one pgbench round -> TPS
  pgbench -n -M simple -c "$clients" -j "$clients" -T "$seconds" -f "$work/insert.sql" "$url" 2>/dev/null |
    awk '/^tps/ {print $3; exit}'
}
echo "dual-write benchmark: $clients clients x ${seconds}s x $rounds rounds; $(nproc) cores" >&2
without=() with=()
for _ in $(seq "$rounds"); do
  "$folioctl" switchover sync-off --database-url "$url" --audit-stats none >/dev/null 2>&1
  without+=("$(tps)")
  "$folioctl" switchover sync-on --database-url "$url" --audit-stats none >/dev/null 2>&1
  with+=("$(tps)")
done
mean() { printf '%s\n' "$@" | awk '{s += $1} END {printf "%.0f", s / NR}'; }
w=$(mean "${with[@]}") wo=$(mean "${without[@]}")
echo "rounds without triggers: ${without[*]}"
echo "rounds with triggers:    ${with[*]}"
printf 'single-row insert TPS without sync triggers: %s\n' "$wo"
printf 'single-row insert TPS with sync triggers:    %s\n' "$w"
awk -v a="$w" -v b="$wo" 'BEGIN {printf "ratio (target >= 0.6): %.2f\n", a / b}'
