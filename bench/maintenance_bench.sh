#!/usr/bin/env bash
# Partition maintenance benchmark: what writers feel while a month is created, folio beside
# pg_partman in the same run, on the same server and database.
#
#  - folio: the partitioned schema of `folioctl switchover prepare --future-months 1` with the
#    sync on (the two-way triggers and the id -> month locator fire on every insert, as in
#    production); `folioctl jobs run partition-maintenance --future-months 2` creates one more
#    month on revenues_partitioned, expenses_partitioned and balances_partitioned: per table a
#    month table with 16 hash leaves, built detached, then attached under lock_timeout.
#  - pg_partman (the Debian package postgresql-15-partman; 4.x or 5.x): revenues_partman, the
#    columns and primary key of revenues_partitioned, PARTITION BY RANGE (occurred_at),
#    monthly, made by partman.create_parent with premake 1; then `UPDATE partman.part_config
#    SET premake = 2` and `CALL partman.run_maintenance_proc()` create one more month. One
#    table, one leaf per month: pg_partman has no hash sub-partitioning.
#
# The load: pgbench, --clients clients (-j 2), one custom script: a single-row INSERT of a
# revenue dated now() (the current month) for a uniformly random organization into the
# table under test, at a fixed total --rate (pgbench -R: latency counts from the scheduled
# start, so a stall is not hidden behind a slower pace), every transaction logged (-l).
# Each window starts pgbench with a -T far beyond it; its first --warmup seconds (connections
# loading the catalog of every partition) are not counted.
#  - baseline: --seconds s of load, no maintenance, per table (the folio insert fires the
#    sync and locator triggers, the pg_partman one none: each case has its own baseline);
#  - maintenance: half of --seconds of load, then the maintenance (its start and end taken
#    around the command), then the other half; pgbench is ended with SIGALRM, the signal of
#    its own -T timer, so it finishes and flushes its logs as at its deadline.
# Reported per window: the inserts whose span [scheduled start, end] overlaps the maintenance
# (count, worst and p99 latency) and every insert of the run (worst, p99). Target: folio's
# worst insert during maintenance <= 100 ms and below pg_partman's.
#
# The bench database logs lock waits over 10 ms (deadlock_timeout) and statements over
# 50 ms; the server log of each run with maintenance is summarized after the table (times
# from the maintenance's start, statements marked in or outside its window), to say what a
# stall waited on.
#
#   bench/maintenance_bench.sh [--orgs N] [--rows-per-org R] [--months M] [--seconds S]
#                              [--rate TPS] [--clients C] [--warmup S] [--rounds N]
#
# Uses the stack in $FOLIO_STACK_DIR when set (in a database of its own, folio_bench_maint,
# dropped afterwards; pgbench straight to the primary: that stack's PgBouncer serves only
# its folio database); otherwise starts one (shared_buffers 2GB) in a temporary directory,
# uses its folio database with pgbench through its PgBouncer (transaction mode), and stops
# it afterwards. Needs a release build of folioctl (cmake --preset release && cmake --build
# --preset release), or FOLIOCTL=path, and pgbench, psql, jq.
set -euo pipefail
cd "$(dirname "$0")/.."

orgs=20000 rows=10 months=6 seconds=20 rate=500 clients=4 warmup=1 rounds=1
while [ $# -gt 0 ]; do
  case $1 in
    --orgs) orgs=$2; shift 2 ;;
    --rows-per-org) rows=$2; shift 2 ;;
    --months) months=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_folioctl
for tool in pgbench psql jq; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
# Month bounds in UTC for folio and pg_partman alike (partman truncates in the session's zone).
export PGTZ=UTC

bench_stack_up
work=$(mktemp -d /tmp/folio-maint-bench.XXXXXX)
writes_pid=""
private_db=""
if [ -n "$own_stack" ]; then
  db=folio
  url=$DATABASE_DIRECT_URL
  write_url=$DATABASE_URL write_via="PgBouncer (transaction mode)"
else
  db=folio_bench_maint private_db=$db
  psql "$DATABASE_DIRECT_URL" -XqAt -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  url="${DATABASE_DIRECT_URL%/*}/$db"
  write_url=$url write_via="the primary directly (the stack's PgBouncer serves only its folio database)"
fi
pg_log="$FOLIO_STACK_DIR/pg-primary/log/postgresql.log"
cleanup() {
  [ -z "$writes_pid" ] || kill -ALRM "$writes_pid" 2>/dev/null || true
  [ -z "$writes_pid" ] || wait "$writes_pid" 2>/dev/null || true
  rm -rf "$work"
  [ -z "$private_db" ] ||
    psql "$DATABASE_DIRECT_URL" -XqAt -c "DROP DATABASE IF EXISTS $private_db WITH (FORCE)" 2>/dev/null || true
  bench_stack_down
}
trap cleanup EXIT

sql() { psql "$url" -XqAt -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
quiet() { "$@" >"$work/last.out" 2>&1 || { cat "$work/last.out" >&2; return 1; }; }

machine="$(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "maintenance benchmark: $orgs orgs x $rows rows, $months months; $machine" >&2
echo "setup: migrate, seed, switchover prepare --future-months 1, sync-on..." >&2
quiet "$folioctl" migrate --database-url "$url"
quiet "$folioctl" seed --orgs "$orgs" --rows-per-org "$rows" --months "$months" --seed 7 --database-url "$url"
quiet "$folioctl" switchover prepare --future-months 1 --audit-stats none --database-url "$url"
quiet "$folioctl" switchover sync-on --audit-stats none --database-url "$url"
modulus=$(sql -c "SELECT substring(obj_description('revenues_partitioned'::regclass, 'pg_class') FROM 'hash_modulus=(\d+)')")

echo "setup: pg_partman..." >&2
[ "$(sql -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_partman'")" = 1 ] ||
  { echo "pg_partman is not installed: apt-get install postgresql-15-partman (scripts/install-deps)" >&2; exit 1; }
sql -c "CREATE SCHEMA IF NOT EXISTS partman" -c "CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman" >/dev/null
partman_version=$(sql -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_partman'")
sql -c "DROP TABLE IF EXISTS revenues_partman CASCADE" \
    -c "DELETE FROM partman.part_config WHERE parent_table = 'public.revenues_partman'" \
    -c "CREATE TABLE revenues_partman (LIKE revenues_partitioned INCLUDING DEFAULTS
          INCLUDING CONSTRAINTS INCLUDING STORAGE, PRIMARY KEY (org_id, occurred_at, id))
          PARTITION BY RANGE (occurred_at)" >/dev/null
case $partman_version in
  4.*) create_parent="p_parent_table := 'public.revenues_partman', p_control := 'occurred_at',
                      p_type := 'native', p_interval := 'monthly', p_premake := 1" ;;
  *) create_parent="p_parent_table := 'public.revenues_partman', p_control := 'occurred_at',
                    p_interval := '1 month', p_premake := 1" ;;
esac
sql -c "SELECT partman.create_parent($create_parent)" >/dev/null
partman_months() { sql -c "SELECT count(*) FROM partman.show_partitions('public.revenues_partman')"; }

# Lock waits and slow statements of this database go to the server log (new sessions).
sql -c "ALTER DATABASE $db SET log_lock_waits = on" -c "ALTER DATABASE $db SET deadlock_timeout = '10ms'" \
    -c "ALTER DATABASE $db SET log_min_duration_statement = '50ms'" >/dev/null
sql -c "VACUUM ANALYZE" >/dev/null
# PgBouncer is asked only now, so that its server connections start with the settings above.
[ "$write_url" = "$url" ] || psql "$write_url" -XqAt -c "SELECT 1" >/dev/null 2>&1 ||
  { write_url=$url write_via="the primary directly (PgBouncer did not answer)"; }

org_lo=$(sql -c "SELECT min(id) FROM organizations")
org_hi=$(sql -c "SELECT max(id) FROM organizations")
for t in revenues_partitioned revenues_partman; do
  cat >"$work/insert-$t.sql" <<SQL
\\set org random(:org_lo, :org_hi)
\\set amount random(100, 100000)
INSERT INTO $t (org_id, category, amount_cents, currency, occurred_at)
VALUES (:org, 'room', :amount, (SELECT currency FROM organizations WHERE id = :org), now());
SQL
done

# writes_start NAME TABLE: pgbench in the background (its pid in $writes_pid), every
# transaction logged under $work/lat-NAME.*; returns after the warm-up.
writes_start() {
  pgbench -n -c "$clients" -j 2 -R "$rate" -T 3600 -f "$work/insert-$2.sql" \
    -D org_lo="$org_lo" -D org_hi="$org_hi" -l --log-prefix="$work/lat-$1" "$write_url" \
    >"$work/pgbench-$1.log" 2>&1 &
  writes_pid=$!
  sleep "$warmup"
}
# writes_stop NAME: ends pgbench with SIGALRM and waits; exits when pgbench had failed.
writes_stop() {
  local status=0 early=0
  kill -0 "$writes_pid" 2>/dev/null || early=1
  kill -ALRM "$writes_pid" 2>/dev/null || true
  wait "$writes_pid" || status=$?
  writes_pid=""
  if [ "$status" != 0 ] || [ "$early" = 1 ]; then
    echo "pgbench ($1) failed or ended early (exit $status):" >&2
    tail -n 20 "$work/pgbench-$1.log" >&2
    exit 1
  fi
}
# write_stats NAME FROM WSTART WEND: "inserts failed worst_ms p99_ms" of window NAME's
# transactions that ended at or after FROM (the warm-up's end) and whose span [end - latency,
# end] overlaps [WSTART, WEND] (epoch seconds; 0 1e12 for all). pgbench log lines are "client
# tx latency_us script epoch_s us [lag_us]"; latency includes the schedule lag under -R.
write_stats() {
  cat "$work"/lat-"$1".* | awk -v from="$2" -v ws="$3" -v we="$4" '
    {e = $5 + $6 / 1e6} e < from || e < ws {next}
    $3 !~ /^[0-9]+$/ {failed++; next}
    e - $3 / 1e6 > we {next}
    {print $3}
    END {if (failed) print "failed", failed}' |
    sort -n | awk '$1 == "failed" {f = $2; next} {a[++n] = $1}
      function q(p,  i) {i = int(p * n + 0.999999); return n ? a[i < 1 ? 1 : i] / 1000 : 0}
      END {printf "%d %d %.2f %.2f\n", n, f, n ? a[n] / 1000 : 0, q(0.99)}'
}
settle() { sql -c "CHECKPOINT" >/dev/null; }

month_suffix=$(date -u -d "$(date -u +%Y-%m-01) +2 months" +y%Ym%m)
# folio_maintenance NAME: the job, timed; its JSON record in $work/NAME.json.
folio_maintenance() {
  "$folioctl" jobs run partition-maintenance --future-months 2 --json --database-url "$url" \
    >"$work/$1.json" 2>"$work/$1.err" || { cat "$work/$1.err" "$work/$1.json" >&2; return 1; }
}
partman_maintenance() {
  sql -c "UPDATE partman.part_config SET premake = 2 WHERE parent_table = 'public.revenues_partman'" \
      -c "CALL partman.run_maintenance_proc()" >/dev/null
}
# Undo both maintenances, for the next round (no load runs).
reset_months() {
  local t
  for t in revenues expenses balances; do
    sql -c "ALTER TABLE ${t}_partitioned DETACH PARTITION ${t}_partitioned_$month_suffix" \
        -c "DROP TABLE ${t}_partitioned_$month_suffix" >/dev/null
  done
  local last
  last=$(sql -c "SELECT partition_schemaname || '.' || partition_tablename
                 FROM partman.show_partitions('public.revenues_partman', 'DESC') LIMIT 1")
  sql -c "DROP TABLE $last" \
      -c "UPDATE partman.part_config SET premake = 1 WHERE parent_table = 'public.revenues_partman'" >/dev/null
}

results=$work/results.tsv
: >"$results"
# baseline CASE TABLE ROUND
baseline() {
  local name=base-$1-$3 t0
  settle
  writes_start "$name" "$2"
  t0=$(now)
  sleep "$seconds"
  writes_stop "$name"
  read -r n f worst p99 <<<"$(write_stats "$name" "$t0" 0 1e12)"
  printf '%s\t%s\tbaseline\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$3" "$1" "" "$n" "$f" "$worst" "$p99" "$n" "$worst" "$p99" >>"$results"
  echo "  $1 baseline: $n inserts, worst $worst ms, p99 $p99 ms" >&2
}
# maintained CASE TABLE ROUND COMMAND
maintained() {
  local name=maint-$1-$3 t0 ms me log_from half
  half=$(awk -v s="$seconds" 'BEGIN {print s / 2}')
  settle
  log_from=$(stat -c %s "$pg_log" 2>/dev/null || echo 0)
  writes_start "$name" "$2"
  t0=$(now)
  sleep "$half"
  ms=$(now)
  "$4" "$name"
  me=$(now)
  sleep "$half"
  writes_stop "$name"
  read -r n f worst p99 <<<"$(write_stats "$name" "$t0" "$ms" "$me")"
  read -r an _ aworst ap99 <<<"$(write_stats "$name" "$t0" 0 1e12)"
  local dur
  dur=$(echo "$me - $ms" | bc)
  echo "$ms $me" >"$work/window-$name.txt"
  printf '%s\t%s\tmaintenance\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$3" "$1" "$dur" "$n" "$f" "$worst" "$p99" "$an" "$aworst" "$ap99" >>"$results"
  echo "  $1 maintenance: $(printf %.2f "$dur") s; in the window $n inserts, worst $worst ms, p99 $p99 ms; whole run worst $aworst ms" >&2
  # What the server logged meanwhile (lock waits >= 10 ms, statements >= 50 ms).
  if [ -r "$pg_log" ]; then
    tail -c +"$((log_from + 1))" "$pg_log" | grep -E "@$db " | grep -E "still waiting|acquired|duration:" \
      >"$work/log-$name.txt" || true
    local oids
    oids=$(grep -oE 'relation [0-9]+' "$work/log-$name.txt" | awk '{print $2}' | sort -u | paste -sd, - || true)
    [ -z "$oids" ] || sql -F ' ' -c "SELECT oid, relname FROM pg_class WHERE oid IN ($oids)" >"$work/oids-$name.txt"
  fi
}

log_summary() {  # NAME: the server log of a maintenance run, relations named, times from the job's start
  [ -s "$work/log-$1.txt" ] || { echo "  (nothing logged: no lock wait >= 10 ms, no statement >= 50 ms)"; return; }
  python3 - "$work/log-$1.txt" "$work/oids-$1.txt" "$work/window-$1.txt" <<'PY'
import re, sys, datetime
lines = open(sys.argv[1]).read().splitlines()
names = {}
try:
    for l in open(sys.argv[2]):
        oid, name = l.split()
        names[oid] = name
except FileNotFoundError:
    pass
ms, me = map(float, open(sys.argv[3]).read().split())
def at(line):  # log_line_prefix '%m ...': "2026-12-03 17:01:02.345 UTC"
    t = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() - ms
waits = [l for l in lines if "still waiting" in l]
print(f"  lock waits >= 10 ms: {len(waits)} (maintenance from +0.00 to +{me - ms:.2f} s)")
for l in lines:
    m = re.search(r"acquired (\w+) on relation (\d+) .*after ([\d.]+) ms", l)
    if m:
        print(f"    +{at(l):6.2f} s  {m[1]} on {names.get(m[2], m[2])} after {m[3]} ms")
stmts = []
for l in lines:
    m = re.search(r"duration: ([\d.]+) ms +\w+(?: <[^>]*>)?: *(.*)", l)
    if m:
        stmts.append((float(m[1]), at(l), m[2]))
print("  statements >= 50 ms (time at their end; the 8 slowest):")
for d, t, text in sorted(stmts, reverse=True)[:8]:
    inside = "in the window" if -d / 1000 <= t and t - d / 1000 <= me - ms else "outside"
    print(f"    {d:8.1f} ms at {t:+7.2f} s ({inside})  {text[:90]}")
PY
}

echo "load: pgbench $clients clients, $rate inserts/s, ${seconds} s windows, through $write_via" >&2
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds" >&2
  [ "$r" = 1 ] || reset_months
  baseline folio revenues_partitioned "$r"
  baseline partman revenues_partman "$r"
  before_f=$(sql -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'revenues_partitioned'::regclass")
  before_p=$(partman_months)
  if ((r % 2 == 1)); then
    maintained folio revenues_partitioned "$r" folio_maintenance
    maintained partman revenues_partman "$r" partman_maintenance
  else
    maintained partman revenues_partman "$r" partman_maintenance
    maintained folio revenues_partitioned "$r" folio_maintenance
  fi
  jq -e '.ran and .outcome == "ok" and ([.details.tables[].months_created] | add) == 3' \
    "$work/maint-folio-$r.json" >/dev/null ||
    { echo "folio's maintenance did not create one month on each table:" >&2; cat "$work/maint-folio-$r.json" >&2; exit 1; }
  after_f=$(sql -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'revenues_partitioned'::regclass")
  after_p=$(partman_months)
  if [ "$after_f" != $((before_f + 1)) ] || [ "$after_p" != $((before_p + 1)) ]; then
    echo "expected one new month each: folio $before_f -> $after_f, partman $before_p -> $after_p" >&2
    exit 1
  fi
  jq -r '"  folio job: \(.milliseconds) ms by its own clock"' "$work/maint-folio-$r.json" >&2
done

partman_leaves=$(sql -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'revenues_partman'::regclass")
folio_leaves=$(sql -c "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                       WHERE c.relkind = 'r' AND c.relname LIKE 'revenues_partitioned%'")
echo
echo "maintenance benchmark, $(date -u +%F): $orgs orgs x $rows rows, $months months; $machine;" \
     "PostgreSQL $(sql -c "SHOW server_version" | cut -d' ' -f1), pg_partman $partman_version;" \
     "pgbench $clients clients, $rate inserts/s, $seconds s windows ($warmup s warm-up not counted), through $write_via;" \
     "folio: 3 tables x 1 month x $modulus hash leaves ($folio_leaves leaves under revenues_partitioned after the run);" \
     "pg_partman: 1 table x 1 month, no hash sub-partitioning ($partman_leaves partitions under revenues_partman)"
echo
echo "| round | case | maintenance s | inserts in window | worst ms | p99 ms | inserts in run | run worst ms | run p99 ms |"
echo "|---|---|---|---|---|---|---|---|---|"
awk -F'\t' '{printf "| %s | %s %s | %s | %s | %s | %s | %s | %s | %s |\n",
              $1, $2, $3, ($4 == "" ? "-" : $4), ($3 == "baseline" ? "-" : $5), ($3 == "baseline" ? "-" : $7),
              ($3 == "baseline" ? "-" : $8), $9, $10, $11}' "$results"
[ "$(awk -F'\t' '{f += $6} END {print f + 0}' "$results")" = 0 ] || echo "some inserts failed (see the results)"
echo
awk -F'\t' -v rounds="$rounds" '
  $3 == "maintenance" {d[$2] += $4; w[$2] = ($7 > w[$2] ? $7 : w[$2]); p[$2] += $8}
  $3 == "baseline" {bw[$2] = ($10 > bw[$2] ? $10 : bw[$2]); bp[$2] += $11}
  END {
    printf "worst insert during maintenance (max over %d round(s)): folio %.2f ms, pg_partman %.2f ms, folio/partman %.2f\n",
           rounds, w["folio"], w["partman"], (w["partman"] > 0 ? w["folio"] / w["partman"] : 0)
    printf "p99 during maintenance (mean of rounds): folio %.2f ms, pg_partman %.2f ms, folio/partman %.2f\n",
           p["folio"] / rounds, p["partman"] / rounds, (p["partman"] > 0 ? p["folio"] / p["partman"] : 0)
    printf "maintenance duration (mean): folio %.2f s, pg_partman %.2f s, folio/partman %.2f\n",
           d["folio"] / rounds, d["partman"] / rounds, (d["partman"] > 0 ? d["folio"] / d["partman"] : 0)
    printf "baseline without maintenance: folio worst %.2f ms, p99 %.2f ms; pg_partman worst %.2f ms, p99 %.2f ms\n",
           bw["folio"], bp["folio"] / rounds, bw["partman"], bp["partman"] / rounds
    met = (w["folio"] <= 100 && w["folio"] < w["partman"]) ? "met" : "NOT met"
    printf "target: folio worst <= 100 ms and below pg_partman: %s\n", met
  }' "$results"
jq -s -r '"folio job by its own clock (lease claim to release, no process start): \([.[].milliseconds] | map(tostring) | join(", ")) ms"' \
  "$work"/maint-folio-*.json
echo
for ((r = 1; r <= rounds; r++)); do
  for c in folio partman; do
    echo "server log during the $c run with maintenance, round $r:"
    log_summary "maint-$c-$r"
  done
done
