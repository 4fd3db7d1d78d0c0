#include "folio/cutover/sync.hpp"

#include <fmt/format.h>

#include <array>

#include "folio/cutover/tables.hpp"
#include "folio/obs/log.hpp"

namespace folio::cutover {

namespace asio = boost::asio;

namespace {

constexpr std::array<std::string_view, 3> kOperations = {"insert", "update", "delete"};

std::string trigger_names(const TableSpec& spec) {
  std::string names;
  for (const auto op : kOperations) {
    names += fmt::format("{}sync_{}_{}", names.empty() ? "" : ",", spec.name, op);
  }
  return names;
}

asio::awaitable<int> count_triggers(db::Pool& pool, std::string_view table, const TableSpec& spec) {
  auto r = co_await pool.query(
      "SELECT count(*)::int FROM pg_trigger WHERE tgrelid = to_regclass($1) "
      "AND tgname = ANY (string_to_array($2, ','))",
      std::string(table), trigger_names(spec));
  co_return r.scalar<std::int32_t>();
}

std::string install_sql(const TableSpec& spec) {
  std::string sql;
  for (const Side side : {Side::legacy, Side::partitioned}) {
    const auto mirror = side == Side::legacy ? Side::partitioned : Side::legacy;
    for (const auto op : kOperations) {
      sql += fmt::format(
          "CREATE OR REPLACE TRIGGER sync_{0}_{1} AFTER {2} ON {3} FOR EACH ROW "
          "EXECUTE FUNCTION folio_sync_{0}_to_{4}();",
          spec.name, op,
          op == "insert"   ? "INSERT"
          : op == "update" ? "UPDATE"
                           : "DELETE",
          spec.table(side), to_string(mirror));
    }
  }
  return sql;
}

std::string drop_sql(const TableSpec& spec) {
  std::string sql;
  for (const Side side : {Side::legacy, Side::partitioned}) {
    for (const auto op : kOperations) {
      sql +=
          fmt::format("DROP TRIGGER IF EXISTS sync_{}_{} ON {};", spec.name, op, spec.table(side));
    }
  }
  return sql;
}

// Both sides of a table change in one transaction, locked together and in a fixed order, so
// no write is ever mirrored one way only.
asio::awaitable<void> change_table(db::Pool& pool, const TableSpec& spec, std::string what,
                                   std::string sql, const LockRetryOptions& locks) {
  const std::string lock =
      fmt::format("LOCK TABLE {}, {} IN SHARE ROW EXCLUSIVE MODE;", spec.name, spec.partitioned);
  std::vector<std::string> tables{std::string(spec.name), std::string(spec.partitioned)};
  co_await with_lock_retry(pool, what + " " + std::string(spec.name), std::move(tables), locks,
                           [&](db::Transaction& tx) -> asio::awaitable<void> {
                             co_await tx.connection().execute_script(lock + sql);
                           });
}

}  // namespace

asio::awaitable<std::vector<SyncState>> sync_state(db::Pool& pool) {
  std::vector<SyncState> states;
  for (const auto& spec : all_tables()) {
    SyncState s;
    s.table = spec.name;
    s.legacy_triggers = co_await count_triggers(pool, spec.name, spec);
    s.partitioned_triggers = co_await count_triggers(pool, spec.partitioned, spec);
    states.push_back(std::move(s));
  }
  co_return states;
}

asio::awaitable<int> sync_on(db::Pool& pool, const LockRetryOptions& locks) {
  static const obs::Logger log("cutover.sync");
  int changed = 0;
  const auto states = co_await sync_state(pool);
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (states[i].on()) continue;
    const auto& spec = all_tables()[i];
    co_await change_table(pool, spec, "sync-on", install_sql(spec), locks);
    log.info("sync triggers installed", {{"table", spec.name}});
    ++changed;
  }
  co_return changed;
}

asio::awaitable<int> sync_off(db::Pool& pool, const LockRetryOptions& locks) {
  static const obs::Logger log("cutover.sync");
  int changed = 0;
  const auto states = co_await sync_state(pool);
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (states[i].legacy_triggers == 0 && states[i].partitioned_triggers == 0) continue;
    const auto& spec = all_tables()[i];
    co_await change_table(pool, spec, "sync-off", drop_sql(spec), locks);
    log.info("sync triggers dropped", {{"table", spec.name}});
    ++changed;
  }
  co_return changed;
}

}  // namespace folio::cutover
