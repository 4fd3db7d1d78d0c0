#include "backfill_ranges.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "folio/db/errors.hpp"
#include "folio/db/transaction.hpp"

namespace folio::cutover::detail {

namespace asio = boost::asio;

namespace {

// Serializes range creation between concurrent backfills (any constant unique to it).
constexpr std::string_view kRangesLockSql = "SELECT pg_advisory_xact_lock(7142300501)";

constexpr std::string_view kSelectRangesSql =
    "SELECT table_name, range_start, range_end, next_start, rows_copied "
    "FROM backfill_progress WHERE table_name = $1 ORDER BY range_start";

constexpr std::string_view kInsertRangeSql =
    "INSERT INTO backfill_progress (table_name, range_start, range_end, next_start) "
    "VALUES ($1, $2, $3, $4)";

constexpr std::string_view kLockCheckpointSql =
    "SELECT next_start, range_end FROM backfill_progress "
    "WHERE table_name = $1 AND range_start = $2 FOR UPDATE";

constexpr std::string_view kAdvanceCheckpointSql =
    "UPDATE backfill_progress SET next_start = $3, rows_copied = rows_copied + $4, "
    "updated_at = clock_timestamp() WHERE table_name = $1 AND range_start = $2";

BackfillRangeState range_from(const db::Row& row) {
  BackfillRangeState r;
  r.table = row.get<std::string>(0);
  r.range_start = row.get<std::int64_t>(1);
  r.range_end = row.get<std::int64_t>(2);
  r.next_start = row.get<std::int64_t>(3);
  r.rows_copied = row.get<std::int64_t>(4);
  return r;
}

}  // namespace

asio::awaitable<TableRanges> load_or_create_ranges(db::Pool& pool, const TableSpec& spec,
                                                   int workers) {
  const std::string table(spec.name);
  auto tx = co_await db::Transaction::begin(co_await pool.acquire());
  co_await tx.execute(kRangesLockSql);
  TableRanges out;
  for (const auto row : co_await tx.query(kSelectRangesSql, table)) {
    out.ranges.push_back(range_from(row));
  }
  if (!out.ranges.empty()) {
    co_await tx.commit();
    co_return out;
  }

  // The bound: rows above it are written after this point, when the triggers mirror them.
  const std::string column(spec.range_column);
  const auto bounds =
      co_await tx.execute("SELECT min(" + column + "), max(" + column + ") FROM " + table);
  const auto lo = bounds.front().get<std::optional<std::int64_t>>(0);
  const auto hi = bounds.front().get<std::optional<std::int64_t>>(1);
  if (!lo || !hi) {
    // Nothing to copy: one finished range records that the bound was taken.
    co_await tx.query(kInsertRangeSql, table, std::int64_t{0}, std::int64_t{0}, std::int64_t{1});
    out.ranges.push_back({table, 0, 0, 1, 0});
  } else {
    const std::int64_t span = *hi - *lo + 1;
    const std::int64_t n = std::clamp<std::int64_t>(workers, 1, span);
    const std::int64_t base = span / n;
    const std::int64_t extra = span % n;
    std::int64_t start = *lo;
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t end = start + base + (i < extra ? 1 : 0) - 1;
      co_await tx.query(kInsertRangeSql, table, start, end, start);
      out.ranges.push_back({table, start, end, start, 0});
      start = end + 1;
    }
  }
  co_await tx.commit();
  out.created = true;
  co_return out;
}

asio::awaitable<std::string> copy_sql(db::Pool& pool, const TableSpec& spec) {
  const auto cols =
      (co_await pool.query("SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) "
                           "FROM pg_attribute WHERE attrelid = $1::regclass "
                           "AND attnum > 0 AND NOT attisdropped",
                           spec.name))
          .scalar<std::string>();
  std::string copy = "INSERT INTO " + std::string(spec.partitioned) + " (" + cols + ") SELECT " +
                     cols + " FROM " + std::string(spec.name) + " WHERE " +
                     std::string(spec.range_column) +
                     " BETWEEN $1 AND $2 FOR SHARE ON CONFLICT DO NOTHING";
  if (!spec.keyed_by_id()) co_return copy;
  // Entries: the copied rows' locator rows in the same statement (the preamble keeps the
  // locator trigger quiet, or it does not fire at all), so the count is still the rows copied.
  co_return fmt::format(
      "WITH copied AS ({0} RETURNING id, org_id, occurred_at) "
      "INSERT INTO {1} (id, org_id, month) SELECT id, org_id, "
      "date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM copied "
      "ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id, month = EXCLUDED.month",
      copy, locator_table(spec));
}

asio::awaitable<std::string> batch_preamble(db::Pool& pool, bool skip_triggers) {
  std::string script = std::string(kLocalSettings) + " " + std::string(kSyncGuardOnSql) +
                       "; SELECT set_config('folio.locator_guard', 'on', true);";
  if (skip_triggers &&
      (co_await pool.query("SELECT has_parameter_privilege('session_replication_role', 'SET')"))
          .scalar<bool>()) {
    script += " SET LOCAL session_replication_role = replica;";
  }
  co_return script;
}

asio::awaitable<double> rows_per_value(db::Pool& pool, const TableSpec& spec, std::int64_t first,
                                       std::int64_t last) {
  if (last < first) co_return 1.0;
  const double values = static_cast<double>(last - first + 1);
  const auto tuples = (co_await pool.query("SELECT reltuples::float8 FROM pg_class "
                                           "WHERE oid = $1::regclass",
                                           spec.name))
                          .scalar<double>();
  if (tuples > 0) co_return std::max(1.0, tuples / values);
  // Never analyzed (reltuples -1): count a small window instead.
  const std::int64_t window_last = std::min(last, first + 99);
  const auto sample =
      (co_await pool.query("SELECT count(*) FROM " + std::string(spec.name) + " WHERE " +
                               std::string(spec.range_column) + " BETWEEN $1 AND $2",
                           first, window_last))
          .scalar<std::int64_t>();
  co_return std::max(1.0,
                     static_cast<double>(sample) / static_cast<double>(window_last - first + 1));
}

asio::awaitable<BatchResult> copy_batch(db::Pool& pool, const TableSpec& spec,
                                        const std::string& preamble, const std::string& insert_sql,
                                        std::int64_t range_start, std::int64_t span) {
  const std::string table(spec.name);
  auto tx = co_await db::Transaction::begin(co_await pool.acquire());
  // The guard stays on for the whole transaction: it only copies, and nothing it writes
  // may echo back to legacy through the reverse trigger.
  co_await tx.connection().execute_script(preamble);
  // The checkpoint row, locked: a second backfill on the same range waits here.
  const auto checkpoint = co_await tx.query(kLockCheckpointSql, table, range_start);
  if (checkpoint.empty()) {
    throw db::ProtocolError("", "backfill_progress lost the range of " + table + " starting at " +
                                    std::to_string(range_start));
  }
  BatchResult out;
  out.first = checkpoint.front().get<std::int64_t>(0);
  const auto range_end = checkpoint.front().get<std::int64_t>(1);
  out.next_start = out.first;
  if (out.first > range_end) {
    co_await tx.rollback();
    co_return out;
  }
  out.last = range_end - out.first < span ? range_end : out.first + span - 1;
  out.rows = (co_await tx.query(insert_sql, out.first, out.last)).affected_rows();
  out.next_start = out.last + 1;
  co_await tx.query(kAdvanceCheckpointSql, table, range_start, out.next_start, out.rows);
  co_await tx.commit();
  co_return out;
}

}  // namespace folio::cutover::detail
