#!/usr/bin/env bash
# Bulk-load benchmark: `folioctl seed` against its baseline, `psql \copy` of the very same
# rows (written by `folioctl seed --copy-files-dir`), in the same run on the same server,
# each into a fresh database with the legacy schema. Prints both rates and their ratio
# (target: folio >= 0.8 x psql) and folioctl's peak RSS.
#
#   bench/seed_bench.sh [--orgs N] [--rows-per-org R] [--months M] [--keep-files]
#
# Uses the stack in $FOLIO_STACK_DIR when set, otherwise starts one (shared_buffers 2GB like
# docs/benchmarks.md's reference runs) in a temporary directory and stops it afterwards.
# Needs a release build: cmake --preset release && cmake --build --preset release.
set -euo pipefail
cd "$(dirname "$0")/.."

orgs=100000 rows=20 months=24 keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --orgs) orgs=$2; shift 2 ;;
    --rows-per-org) rows=$2; shift 2 ;;
    --months) months=$2; shift 2 ;;
    --keep-files) keep=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_folioctl

bench_stack_up
files=$(mktemp -d /tmp/folio-seed-files.XXXXXX)
chmod 755 "$files"
cleanup() {
  [ "$keep" = 1 ] || rm -rf "$files"
  for db in folio_bench_psql folio_bench_folio; do
    psql "$DATABASE_DIRECT_URL" -XqAt -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
  done
  bench_stack_down
}
trap cleanup EXIT

base=${DATABASE_DIRECT_URL%/*}
fresh_db() {  # name -> URL of a new database with the legacy schema
  psql "$DATABASE_DIRECT_URL" -XqAt -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
  "$folioctl" migrate --database-url "$base/$1" >/dev/null 2>&1
  echo "$base/$1"
}
now() { date +%s.%N; }

opts=(--orgs "$orgs" --rows-per-org "$rows" --months "$months" --seed 1 --until 2026-10)
echo "seed benchmark: $orgs orgs x $rows rows, $months months; $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB" >&2
echo "generating the baseline's COPY files..." >&2
"$folioctl" seed "${opts[@]}" --copy-files-dir "$files" >/dev/null

psql_url=$(fresh_db folio_bench_psql)
t0=$(now)
psql "$psql_url" -Xq -v ON_ERROR_STOP=1 <<SQL
BEGIN;
\copy organizations (id, name, currency, timezone, created_at) from '$files/organizations.tsv'
\copy revenues (id, org_id, category, amount_cents, currency, occurred_at, description, created_at, updated_at) from '$files/revenues.tsv'
\copy expenses (id, org_id, category, amount_cents, currency, occurred_at, description, vendor, created_at, updated_at) from '$files/expenses.tsv'
\copy balances (org_id, balance_date, revenue_cents, expense_cents, net_cents, updated_at) from '$files/balances.tsv'
COMMIT;
ANALYZE organizations, revenues, expenses, balances;
SQL
t1=$(now)
psql_rows=$(psql "$psql_url" -XAt -c "SELECT (SELECT count(*) FROM organizations) + (SELECT count(*) FROM revenues) + (SELECT count(*) FROM expenses) + (SELECT count(*) FROM balances)")

folio_url=$(fresh_db folio_bench_folio)
t2=$(now)
/usr/bin/time -f '%M' -o "$files/rss" "$folioctl" seed "${opts[@]}" --database-url "$folio_url" >/dev/null 2>&1
t3=$(now)
folio_rows=$(psql "$folio_url" -XAt -c "SELECT (SELECT count(*) FROM organizations) + (SELECT count(*) FROM revenues) + (SELECT count(*) FROM expenses) + (SELECT count(*) FROM balances)")

# The two loads must have stored the same rows: equal counts and equal amount totals.
same=$([ "$psql_rows" = "$folio_rows" ] && [ "$(psql "$psql_url" -XAt -c "SELECT sum(amount_cents) FROM revenues")" = "$(psql "$folio_url" -XAt -c "SELECT sum(amount_cents) FROM revenues")" ] && echo yes || echo NO)

awk -v pr="$psql_rows" -v fr="$folio_rows" -v pt="$(echo "$t1 - $t0" | bc)" -v ft="$(echo "$t3 - $t2" | bc)" \
    -v rss="$(cat "$files/rss")" -v same="$same" 'BEGIN {
  printf "%-28s %12s %10s %12s\n", "loader", "rows", "seconds", "rows/s"
  printf "%-28s %12d %10.1f %12.0f\n", "psql \\copy (baseline)", pr, pt, pr / pt
  printf "%-28s %12d %10.1f %12.0f\n", "folioctl seed", fr, ft, fr / ft
  printf "ratio folio/psql: %.2f (target >= 0.80)   folioctl peak RSS: %.1f MiB   same rows: %s\n",
         (fr / ft) / (pr / pt), rss / 1024, same
}'
[ "$same" = yes ]
