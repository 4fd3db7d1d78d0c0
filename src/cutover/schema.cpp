#include "folio/cutover/schema.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "detail/months.hpp"
#include "folio/db/errors.hpp"
#include "folio/obs/log.hpp"
#include "folio/partitioning/layout.hpp"

namespace folio::cutover {

namespace asio = boost::asio;
using detail::current_month;
using detail::to_month;
using std::chrono::year_month;

namespace {

constexpr std::string_view kModulusTag = "hash_modulus=";

// The bound of a month on the time column: midnight UTC for timestamptz.
std::string bound_literal(const TableSpec& spec, year_month m) {
  return spec.time_type == "date" ? "'" + detail::month_first_day(m) + "'"
                                  : "'" + detail::month_first_day(m) + " 00:00:00+00'";
}

asio::awaitable<bool> relation_exists(db::Pool& pool, std::string_view name) {
  auto r = co_await pool.query("SELECT to_regclass($1) IS NOT NULL", std::string(name));
  co_return r.scalar<bool>();
}

asio::awaitable<void> create_parent(db::Pool& pool, const TableSpec& spec, int modulus,
                                    const LockRetryOptions& locks) {
  const std::string parent(spec.partitioned);
  const std::string sql = fmt::format(
      "CREATE TABLE {0} (LIKE {1} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE, "
      "PRIMARY KEY ({2})) PARTITION BY RANGE ({3});"
      "COMMENT ON TABLE {0} IS 'folio: partitioned copy of {1}; {4}{5}';"
      // Rows whose month has no partition yet: accepted, read like any other (a query bounded
      // to that month prunes to it) and moved into their month by partition maintenance.
      "CREATE TABLE {0}_default PARTITION OF {0} DEFAULT;"
      // The services' row-level security (sql/migrations/0004_service_security.sql).
      "SELECT folio_secure_partitions('{0}');"
      // Entries: the id -> month locator's trigger (sql/migrations/0005_entry_locator.sql).
      "{6}",
      parent, spec.name, spec.partitioned_key, spec.time_column, kModulusTag, modulus,
      spec.keyed_by_id() ? fmt::format("SELECT folio_locator_install('{}');", spec.name) : "");
  std::vector<std::string> tables{std::string(spec.name)};
  co_await with_lock_retry(pool, "prepare " + parent, std::move(tables), locks,
                           [&](db::Transaction& tx) -> asio::awaitable<void> {
                             co_await tx.connection().execute_script(sql);
                           });
}

}  // namespace

std::string default_partition_name(const TableSpec& spec) {
  return std::string(spec.partitioned) + "_default";
}

std::string month_partition_name(const TableSpec& spec, year_month month) {
  return partitioning::month_partition_name(spec.partitioned, month);
}

std::string leaf_partition_name(const TableSpec& spec, year_month month, int remainder) {
  return partitioning::leaf_partition_name(spec.partitioned, month, remainder);
}

asio::awaitable<std::optional<int>> partitioned_modulus(db::Pool& pool) {
  auto r = co_await pool.query("SELECT obj_description(to_regclass($1), 'pg_class')",
                               std::string(all_tables().front().partitioned));
  const auto comment = r.front().get<std::optional<std::string>>(0);
  if (!comment) co_return std::nullopt;
  const auto at = comment->find(kModulusTag);
  if (at == std::string::npos) co_return std::nullopt;
  co_return std::stoi(comment->substr(at + kModulusTag.size()));
}

asio::awaitable<std::vector<year_month>> partition_months(db::Pool& pool, const TableSpec& spec) {
  auto r = co_await pool.query(
      "SELECT m[1]::int, m[2]::int FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid, "
      "       regexp_match(c.relname, '_y(\\d{4})m(\\d{2})$') m "
      " WHERE i.inhparent = to_regclass($1) AND m IS NOT NULL ORDER BY 1, 2",
      std::string(spec.partitioned));
  std::vector<year_month> months;
  for (const auto& row : r) {
    months.push_back(std::chrono::year{row.get<std::int32_t>(0)} /
                     std::chrono::month{static_cast<unsigned>(row.get<std::int32_t>(1))});
  }
  co_return months;
}

asio::awaitable<MonthsCreated> ensure_months(db::Pool& pool, const TableSpec& spec,
                                             std::vector<year_month> months, int hash_modulus,
                                             const LockRetryOptions& locks,
                                             std::chrono::milliseconds pace) {
  static const obs::Logger log("cutover.partitions");
  std::sort(months.begin(), months.end());
  months.erase(std::unique(months.begin(), months.end()), months.end());
  const auto existing = co_await partition_months(pool, spec);
  const std::string default_table = default_partition_name(spec);
  MonthsCreated created;
  for (const year_month m : months) {
    if (std::binary_search(existing.begin(), existing.end(), m)) continue;
    const std::string month_table = month_partition_name(spec, m);
    // Built detached (no lock on the live parent), then attached. IF NOT EXISTS lets a run
    // killed between the two steps resume.
    // The services name leaves directly (partitioning/layout.hpp): each table carries the
    // parent's policy (folio_secure_table, as folio_secure_partitions does for a whole tree).
    const auto secure = [](const std::string& table) {
      return fmt::format(
          "SELECT folio_secure_table('{}', 'org_id', 'SELECT, INSERT, UPDATE, DELETE')", table);
    };
    std::vector<std::string> build{fmt::format(
        "CREATE TABLE IF NOT EXISTS {0} (LIKE {1} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING STORAGE, PRIMARY KEY ({2})) PARTITION BY HASH (org_id); {3}",
        month_table, spec.partitioned, spec.partitioned_key, secure(month_table))};
    for (int r = 0; r < hash_modulus; ++r) {
      const std::string leaf = leaf_partition_name(spec, m, r);
      build.push_back(
          fmt::format("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES WITH (MODULUS {}, "
                      "REMAINDER {}); {}",
                      leaf, month_table, hash_modulus, r, secure(leaf)));
    }
    if (pace.count() == 0) {
      auto tx = co_await db::Transaction::begin(co_await pool.acquire());
      if (locks.fence) co_await locks.fence(tx);
      co_await tx.connection().execute_script(fmt::format("{};", fmt::join(build, ";")));
      co_await tx.commit();
    } else {
      // One short transaction per table with a pause between: the catalog work of a month's
      // leaves comes in small slices, so live writers keep the CPU between them.
      asio::steady_timer pause(pool.executor());
      for (const auto& statement : build) {
        auto tx = co_await db::Transaction::begin(co_await pool.acquire());
        if (locks.fence) co_await locks.fence(tx);
        co_await tx.connection().execute_script(statement);
        co_await tx.commit();
        pause.expires_after(pace);
        co_await pause.async_wait(asio::use_awaitable);
      }
    }
    const std::string from = bound_literal(spec, m);
    const std::string to = bound_literal(spec, m + std::chrono::months{1});
    // The month's rows leave the DEFAULT partition in the transaction that attaches the
    // month (its ACCESS EXCLUSIVE lock on the DEFAULT partition, which ATTACH needs anyway,
    // is taken first), so none can arrive in between. The guards keep the sync and locator
    // triggers quiet: the rows, their legacy copies and their locator months do not change.
    const std::string lock = fmt::format("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", default_table);
    const std::string move = fmt::format(
        "WITH moved AS (DELETE FROM {0} WHERE {1} >= {2} AND {1} < {3} RETURNING *), "
        "     copied AS (INSERT INTO {4} SELECT * FROM moved RETURNING 1) "
        "SELECT count(*) FROM copied",
        default_table, spec.time_column, from, to, month_table);
    const std::string attach =
        fmt::format("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})",
                    spec.partitioned, month_table, from, to);
    std::int64_t moved = 0;
    std::vector<std::string> tables{std::string(spec.partitioned), default_table};
    co_await with_lock_retry(
        pool, "attach " + month_table, std::move(tables), locks,
        [&](db::Transaction& tx) -> asio::awaitable<void> {
          co_await tx.execute(lock);
          co_await tx.execute(kSyncGuardOnSql);
          co_await tx.execute("SELECT set_config('folio.locator_guard', 'on', true)");
          moved = (co_await tx.execute(move)).scalar<std::int64_t>();
          co_await tx.execute(kSyncGuardOffSql);
          co_await tx.execute("SELECT set_config('folio.locator_guard', '', true)");
          co_await tx.execute(attach);
        });
    ++created.months;
    created.rows_moved += moved;
    log.info("month partition attached", {{"table", spec.partitioned},
                                          {"month", detail::month_first_day(m)},
                                          {"leaves", hash_modulus},
                                          {"rows_moved_from_default", moved}});
  }
  if (created.months > 0) {
    // Running services reload their layout on any routing notification: the new leaves are
    // named directly from then on (until then their months are read through the parent).
    co_await pool.query(
        "SELECT pg_notify('folio_partition_routing', json_build_object('version', "
        "nextval('partition_routing_version'), 'operation', 'layout', 'table', $1::text)::text)",
        std::string(spec.partitioned));
  }
  co_return created;
}

asio::awaitable<MonthsCreated> ensure_months(db::Pool& pool, const TableSpec& spec,
                                             year_month first, year_month last, int hash_modulus,
                                             const LockRetryOptions& locks) {
  std::vector<year_month> months;
  for (auto m = first; m <= last; m += std::chrono::months{1}) months.push_back(m);
  co_return co_await ensure_months(pool, spec, std::move(months), hash_modulus, locks);
}

asio::awaitable<PrepareReport> prepare(db::Pool& pool, const PrepareOptions& options) {
  if (options.hash_modulus < 1 || options.hash_modulus > 1024) {
    throw std::invalid_argument("hash modulus must be within 1..1024");
  }
  if (options.future_months < 0 || options.future_months > 120) {
    throw std::invalid_argument("future months must be within 0..120");
  }
  static const obs::Logger log("cutover.prepare");
  PrepareReport report;
  report.hash_modulus = options.hash_modulus;
  if (const auto existing = co_await partitioned_modulus(pool);
      existing && *existing != options.hash_modulus) {
    throw db::ObjectNotInPrerequisiteState(
        "", fmt::format("the partitioned tables exist with hash modulus {}, not {}; pass "
                        "--hash-modulus {} (changing it means dropping them and starting over)",
                        *existing, options.hash_modulus, *existing));
  }
  const year_month now = current_month();
  report.first_month = now;
  report.last_month = now + std::chrono::months{options.future_months};
  for (const auto& spec : all_tables()) {
    if (!co_await relation_exists(pool, spec.partitioned)) {
      co_await create_parent(pool, spec, options.hash_modulus, options.locks);
      ++report.tables_created;
    }
    // Months holding legacy data: one scan, done once per prepare.
    std::string day = std::string(spec.time_column);
    if (spec.time_type != "date") day = "(" + day + " AT TIME ZONE 'UTC')";
    const std::string range_sql =
        fmt::format("SELECT min({0})::date, max({0})::date FROM {1}", day, spec.name);
    auto r = co_await pool.query(range_sql);
    year_month first = now;
    year_month last = now + std::chrono::months{options.future_months};
    if (const auto lo = r.front().get<std::optional<std::chrono::sys_days>>(0)) {
      first = std::min(first, to_month(*lo));
      last = std::max(last, to_month(*r.front().get<std::optional<std::chrono::sys_days>>(1)));
    }
    report.first_month = std::min(report.first_month, first);
    report.last_month = std::max(report.last_month, last);
    const int created =
        (co_await ensure_months(pool, spec, first, last, options.hash_modulus, options.locks))
            .months;
    report.months_created += created;
    log.info("partitioned table ready", {{"table", spec.partitioned},
                                         {"months_created", created},
                                         {"first_month", detail::month_first_day(first)},
                                         {"last_month", detail::month_first_day(last)}});
  }
  co_return report;
}

}  // namespace folio::cutover
