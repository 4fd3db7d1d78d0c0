#include "verify_repair.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "folio/db/retry.hpp"
#include "folio/db/transaction.hpp"
#include "folio/obs/log.hpp"
#include "folio/partitioning/routing_store.hpp"
#include "verify_sql.hpp"

namespace folio::cutover::detail {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kBatchKeys = 50;

Side other_side(Side side) { return side == Side::legacy ? Side::partitioned : Side::legacy; }
int at(Side side) { return side == Side::legacy ? 0 : 1; }

// "{org_id,occurred_at,id}" from "org_id, occurred_at, id".
std::string key_array(std::string_view columns) {
  std::string out = "{";
  for (const char c : columns) {
    if (c != ' ') out += c;
  }
  return out + "}";
}

// The statements of one table's repair; [at(side)] names the side the statement reads
// (lock) or writes (the others).
struct RepairSql {
  std::string lock[2];
  std::string delete_stale[2];  // id tables only
  std::string upsert[2];        // into the side, from the other one
  std::string delete_absent[2];
  // id tables: sets the key's locator row from the partitioned side as it now is (a write
  // behind the triggers' back, which the repair corrects, may have left it wrong).
  std::string relocate;
};

// Column lists come from the catalog (both sides have the legacy table's columns, in order).
asio::awaitable<RepairSql> build_sql(db::Pool& pool, const TableSpec& spec) {
  auto r = co_await pool.query(
      "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum), "
      "string_agg(format('%1$I = EXCLUDED.%1$I', attname), ', ' ORDER BY attnum) "
      "  FILTER (WHERE attname::text <> ALL ($2::text[])), "
      "string_agg(format('%1$I = EXCLUDED.%1$I', attname), ', ' ORDER BY attnum) "
      "  FILTER (WHERE attname::text <> ALL ($3::text[])) "
      "FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
      std::string(spec.name), key_array(spec.partitioned_key), key_array(spec.row_key));
  const auto cols = r.front().get<std::string>(0);
  const std::string set[2] = {r.front().get<std::string>(2), r.front().get<std::string>(1)};
  const std::string conflict[2] = {std::string(spec.row_key), std::string(spec.partitioned_key)};
  const auto time = spec.time_column;
  const auto type = spec.time_type;
  RepairSql sql;
  for (const Side side : {Side::legacy, Side::partitioned}) {
    const int i = at(side);
    const auto table = spec.table(side);
    const auto source = spec.table(other_side(side));
    if (spec.keyed_by_id()) {
      // Legacy holds one row per id; the partitioned side is searched under the orgs the row
      // was seen with ($2), since its primary key leads with org_id.
      sql.lock[i] =
          side == Side::legacy
              ? fmt::format("SELECT t.org_id, t.{}::text FROM {} t WHERE t.id = $1 FOR UPDATE",
                            time, table)
              : fmt::format(
                    "SELECT t.org_id, t.{}::text FROM {} t WHERE t.org_id = ANY ($2::bigint[]) "
                    "AND t.id = $1 ORDER BY t.updated_at DESC FOR UPDATE",
                    time, table);
      sql.delete_stale[i] =
          side == Side::legacy
              ? fmt::format(
                    "DELETE FROM {} t WHERE t.id = $1 AND (t.org_id, t.{}) IS DISTINCT FROM "
                    "($2::bigint, $3::{})",
                    table, time, type)
              : fmt::format(
                    "DELETE FROM {} t WHERE t.org_id = ANY ($2::bigint[]) AND t.id = $1 AND "
                    "(t.org_id, t.{}) IS DISTINCT FROM ($3::bigint, $4::{})",
                    table, time, type);
      sql.upsert[i] =
          side == Side::partitioned
              ? fmt::format(
                    "INSERT INTO {0} ({1}) SELECT {1} FROM {2} t WHERE t.id = $1 "
                    "ON CONFLICT ({3}) DO UPDATE SET {4}",
                    table, cols, source, conflict[i], set[i])
              : fmt::format(
                    "INSERT INTO {0} ({1}) SELECT {1} FROM {2} t WHERE t.org_id = $2 AND "
                    "t.{3} = $3::{4} AND t.id = $1 ON CONFLICT ({5}) DO UPDATE SET {6}",
                    table, cols, source, time, type, conflict[i], set[i]);
      sql.delete_absent[i] =
          side == Side::legacy
              ? fmt::format("DELETE FROM {} t WHERE t.id = $1", table)
              : fmt::format("DELETE FROM {} t WHERE t.org_id = ANY ($2::bigint[]) AND t.id = $1",
                            table);
    } else {
      const std::string key = fmt::format("t.org_id = $1 AND t.{} = $2::date", time);
      sql.lock[i] = fmt::format("SELECT t.org_id FROM {} t WHERE {} FOR UPDATE", table, key);
      sql.upsert[i] = fmt::format(
          "INSERT INTO {0} ({1}) SELECT {1} FROM {2} t WHERE {3} ON CONFLICT ({4}) DO UPDATE "
          "SET {5}",
          table, cols, source, key, conflict[i], set[i]);
      sql.delete_absent[i] = fmt::format("DELETE FROM {} t WHERE {}", table, key);
    }
  }
  if (spec.keyed_by_id()) {
    const auto locator = locator_table(spec);
    sql.relocate = fmt::format(
        "WITH now_at AS (SELECT id, org_id, date_trunc('month', occurred_at AT TIME ZONE "
        "'UTC')::date AS month FROM {0} WHERE id = $1), "
        "gone AS (DELETE FROM {1} l WHERE l.id = $1 AND NOT EXISTS (SELECT 1 FROM now_at)) "
        "INSERT INTO {1} (id, org_id, month) SELECT id, org_id, month FROM now_at "
        "ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id, month = EXCLUDED.month",
        spec.partitioned, locator);
  }
  co_return sql;
}

asio::awaitable<std::int64_t> repair_entry(db::Transaction& tx, const RepairSql& sql,
                                           const Difference& d, Side source);

// Makes the other side of one key equal to its source side. Returns rows written.
asio::awaitable<std::int64_t> repair_key(db::Transaction& tx, const TableSpec& spec,
                                         const RepairSql& sql, const Difference& d, Side source) {
  const Side other = other_side(source);
  std::int64_t written = 0;
  if (!spec.keyed_by_id()) {
    const auto day = d.key.day.value_or(std::chrono::sys_days{});
    const bool found = !(co_await tx.query(sql.lock[at(source)], d.key.first, day)).empty();
    const auto& statement = found ? sql.upsert[at(other)] : sql.delete_absent[at(other)];
    co_return (co_await tx.query(statement, d.key.first, day)).affected_rows();
  }
  const std::int64_t id = d.key.first;
  written += co_await repair_entry(tx, sql, d, source);
  co_await tx.execute(sql.relocate, db::Params::of(id));
  co_return written;
}

// repair_key for an entry table, before its locator row is set.
asio::awaitable<std::int64_t> repair_entry(db::Transaction& tx, const RepairSql& sql,
                                           const Difference& d, Side source) {
  const Side other = other_side(source);
  std::int64_t written = 0;
  const std::int64_t id = d.key.first;
  std::vector<std::int64_t> orgs;
  for (const auto& org : {d.legacy_org, d.partitioned_org}) {
    if (org) orgs.push_back(*org);
  }
  // (No co_await inside ?: — GCC 12 destroys such temporaries twice.)
  db::Result source_row;
  if (source == Side::legacy) {
    source_row = co_await tx.query(sql.lock[0], id);
  } else {
    source_row = co_await tx.query(sql.lock[1], id, int_array(orgs));
  }
  if (source_row.empty()) {
    db::Result deleted;
    if (other == Side::legacy) {
      deleted = co_await tx.query(sql.delete_absent[0], id);
    } else {
      deleted = co_await tx.query(sql.delete_absent[1], id, int_array(orgs));
    }
    co_return deleted.affected_rows();
  }
  const auto org = source_row.front().get<std::int64_t>(0);
  const auto time = source_row.front().get<std::string>(1);
  if (std::find(orgs.begin(), orgs.end(), org) == orgs.end()) orgs.push_back(org);
  if (other == Side::legacy) {
    written += (co_await tx.query(sql.delete_stale[0], id, org, time)).affected_rows();
    written += (co_await tx.query(sql.upsert[0], id, org, time)).affected_rows();
  } else {
    written +=
        (co_await tx.query(sql.delete_stale[1], id, int_array(orgs), org, time)).affected_rows();
    written += (co_await tx.query(sql.upsert[1], id)).affected_rows();
  }
  co_return written;
}

std::int64_t org_of(const TableSpec& spec, const Difference& d) {
  if (!spec.keyed_by_id()) return d.key.first;
  return d.legacy_org.value_or(d.partitioned_org.value_or(0));
}

}  // namespace

asio::awaitable<std::int64_t> repair_differences(db::Pool& pool, const TableSpec& spec,
                                                 std::span<const Difference> differences,
                                                 std::chrono::milliseconds statement_timeout) {
  static const obs::Logger log("cutover.verify.repair");
  if (differences.empty()) co_return 0;
  const RepairSql sql = co_await build_sql(pool, spec);
  std::int64_t written = 0;
  for (std::size_t start = 0; start < differences.size(); start += kBatchKeys) {
    const auto batch = differences.subspan(start, std::min(kBatchKeys, differences.size() - start));
    db::RetryPolicy policy;
    policy.max_attempts = 10;
    policy.on_retry = [&](const db::Error& e, int attempt) {
      log.info("repair batch retried",
               {{"table", spec.name}, {"attempt", attempt}, {"sqlstate", e.sqlstate()}});
    };
    written += co_await db::with_retry(
        [&]() -> asio::awaitable<std::int64_t> {
          db::TransactionOptions options;
          options.isolation = db::Isolation::kRepeatableRead;
          options.statement_timeout = statement_timeout;
          auto tx = co_await db::Transaction::begin(co_await pool.acquire(), options);
          co_await tx.connection().execute_script(std::string(kLocalSettings));
          const auto routing = co_await partitioning::RoutingStore::load(tx);
          co_await tx.execute(kSyncGuardOnSql);
          std::int64_t rows = 0;
          for (const auto& d : batch) {
            const auto target =
                partitioning::resolve(routing, org_of(spec, d), partitioning::Target::legacy);
            const Side source =
                target == partitioning::Target::partitioned ? Side::partitioned : Side::legacy;
            rows += co_await repair_key(tx, spec, sql, d, source);
          }
          co_await tx.execute(kSyncGuardOffSql);
          co_await tx.commit();
          co_return rows;
        },
        policy);
  }
  log.info("repaired", {{"table", spec.name},
                        {"keys", static_cast<std::int64_t>(differences.size())},
                        {"rows_written", written}});
  co_return written;
}

}  // namespace folio::cutover::detail
