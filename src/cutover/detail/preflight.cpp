// preflight_checks (switchover.hpp): what could make the cutover fail or hurt production,
// found before anything changes. Each check reports instead of throwing, so one run shows
// every problem.
#include <fmt/format.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <optional>

#include "folio/cutover/schema.hpp"
#include "folio/cutover/switchover.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/db/errors.hpp"
#include "folio/db/transaction.hpp"
#include "folio/partitioning/routing_store.hpp"
#include "switch_state.hpp"

namespace folio::cutover {

namespace asio = boost::asio;

namespace {

constexpr double kDiskHeadroom = 1.5;                       // free disk vs legacy size
constexpr double kMaxReplicaLagBytes = 64.0 * 1024 * 1024;  // as the backfill's default
constexpr double kMaxReplicaLagSeconds = 10;
constexpr int kLongTransactionSeconds = 60;

class Checks {
 public:
  void ok(std::string name, std::string message) {
    add(std::move(name), CheckLevel::ok, std::move(message));
  }
  void warn(std::string name, std::string message) {
    add(std::move(name), CheckLevel::warn, std::move(message));
  }
  void fail(std::string name, std::string message) {
    add(std::move(name), CheckLevel::fail, std::move(message));
  }
  std::vector<PreflightCheck> take() { return std::move(checks_); }

 private:
  void add(std::string name, CheckLevel level, std::string message) {
    checks_.push_back({std::move(name), level, std::move(message)});
  }
  std::vector<PreflightCheck> checks_;
};

// "512 KiB", "12.3 MiB", "1.5 GiB".
std::string human_bytes(double bytes) {
  constexpr double kKiB = 1024;
  if (bytes < kKiB * kKiB) return fmt::format("{:.0f} KiB", bytes / kKiB);
  if (bytes < kKiB * kKiB * kKiB) return fmt::format("{:.1f} MiB", bytes / (kKiB * kKiB));
  return fmt::format("{:.1f} GiB", bytes / (kKiB * kKiB * kKiB));
}

std::string legacy_names_array() {
  std::vector<std::string_view> names;
  for (const auto& spec : all_tables()) names.push_back(spec.name);
  return fmt::format("{{{}}}", fmt::join(names, ","));
}

std::string all_names_array() {
  std::vector<std::string_view> names;
  for (const auto& spec : all_tables()) {
    names.push_back(spec.name);
    names.push_back(spec.partitioned);
  }
  return fmt::format("{{{}}}", fmt::join(names, ","));
}

// Runs one check; a query it could not run becomes a warning instead of ending preflight.
template <typename Check>
asio::awaitable<void> guarded(Checks& checks, std::string name, Check check) {
  try {
    co_await check();
  } catch (const db::Error& e) {
    checks.warn(name, std::string("could not check: ") + e.what());
  }
}

asio::awaitable<void> check_server(db::Pool& pool, Checks& checks) {
  auto r = co_await pool.query(
      "SELECT current_setting('server_version_num')::int, current_setting('server_version'),"
      "       pg_is_in_recovery()");
  const auto row = r.front();
  const int version = row.get<std::int32_t>(0);
  const auto text = row.get<std::string>(1);
  if (version >= 150000) {
    checks.ok("server version", "PostgreSQL " + text);
  } else {
    checks.fail("server version", "PostgreSQL " + text + ": folio needs 15 or later");
  }
  if (row.get<bool>(2)) {
    checks.fail("server role", "connected to a standby: pass the primary's direct URL");
  }
}

// Free space of the data directory's file system, when it is on this host.
asio::awaitable<void> check_disk(db::Pool& pool, Checks& checks, double legacy_bytes) {
  const double needed = kDiskHeadroom * legacy_bytes;
  std::optional<std::string> data_dir;
  bool local = false;
  try {
    auto r = co_await pool.query(
        "SELECT current_setting('data_directory'), coalesce(host(inet_server_addr()) IN "
        "('127.0.0.1', '::1'), true)");
    data_dir = r.front().get<std::string>(0);
    local = r.front().get<bool>(1);
  } catch (const db::Error& e) {
    checks.warn("free disk", fmt::format("free disk unknown (data_directory not readable: {}); "
                                         "make sure {} are free",
                                         e.what(), human_bytes(needed)));
    co_return;
  }
  struct statvfs fs {};
  if (!local || ::statvfs(data_dir->c_str(), &fs) != 0) {
    checks.warn("free disk", fmt::format("free disk unknown (database not local); make sure {} "
                                         "are free on the server ({} x the legacy tables)",
                                         human_bytes(needed), kDiskHeadroom));
    co_return;
  }
  const double free = static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
  const auto message =
      fmt::format("{} free in {}, need {} ({} x {} of legacy tables)", human_bytes(free), *data_dir,
                  human_bytes(needed), kDiskHeadroom, human_bytes(legacy_bytes));
  if (free >= needed) {
    checks.ok("free disk", message);
  } else {
    checks.fail("free disk", message);
  }
}

asio::awaitable<void> check_replicas(db::Pool& pool, Checks& checks) {
  auto r = co_await pool.query(
      "SELECT coalesce(application_name, ''), coalesce(host(client_addr), 'local'),"
      "       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8,"
      "       coalesce(extract(epoch FROM replay_lag), 0)::float8"
      "  FROM pg_stat_replication ORDER BY 1, 2");
  if (r.empty()) {
    checks.ok("replica lag", "no streaming replicas attached");
    co_return;
  }
  std::string lagging;
  std::string unknown;
  double worst = 0;
  for (const auto& row : r) {
    const auto name = row.get<std::string>(0) + "@" + row.get<std::string>(1);
    const auto bytes = row.get<std::optional<double>>(2);
    const double seconds = row.get<double>(3);
    if (!bytes) {
      unknown += (unknown.empty() ? "" : ", ") + name;
      continue;
    }
    worst = std::max(worst, *bytes);
    if (*bytes > kMaxReplicaLagBytes || seconds > kMaxReplicaLagSeconds) {
      lagging += fmt::format("{}{} ({}, {:.1f} s)", lagging.empty() ? "" : ", ", name,
                             human_bytes(*bytes), seconds);
    }
  }
  if (!lagging.empty()) {
    checks.warn("replica lag", "lagging: " + lagging + "; the backfill will pause for them");
  } else if (!unknown.empty()) {
    checks.warn("replica lag", "lag not visible for " + unknown + " (needs pg_read_all_stats)");
  } else {
    checks.ok("replica lag", fmt::format("{} replicas, worst {}", r.size(), human_bytes(worst)));
  }
}

asio::awaitable<void> check_activity(db::Pool& pool, Checks& checks) {
  auto r = co_await pool.query(
      "SELECT count(*), coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)"
      "::float8, coalesce((array_agg(pid ORDER BY xact_start))[1], 0)"
      "  FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> "
      "pg_backend_pid() AND xact_start < clock_timestamp() - make_interval(secs => $1)",
      kLongTransactionSeconds);
  const auto row = r.front();
  if (const auto n = row.get<std::int64_t>(0); n > 0) {
    checks.warn(
        "long transactions",
        fmt::format("{} open longer than {} s (oldest: pid {}, {:.0f} s); sync-on and "
                    "finalize would wait for them",
                    n, kLongTransactionSeconds, row.get<std::int32_t>(2), row.get<double>(1)));
  } else {
    checks.ok("long transactions", fmt::format("none older than {} s", kLongTransactionSeconds));
  }
  auto w = co_await pool.query(
      "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
      " WHERE NOT l.granted AND c.relname = ANY ($1::text[])",
      all_names_array());
  if (const auto n = w.scalar<std::int64_t>(); n > 0) {
    checks.warn("lock waits", fmt::format("{} lock requests are waiting on the finance tables", n));
  } else {
    checks.ok("lock waits", "no lock requests waiting on the finance tables");
  }
}

asio::awaitable<void> check_objects(db::Pool& pool, Checks& checks,
                                    const detail::SchemaState& state) {
  const auto& tables = state.tables;
  const auto modulus = co_await partitioned_modulus(pool);
  const auto partitioned =
      std::count_if(tables.begin(), tables.end(), [](const auto& t) { return t.partitioned; });
  if (partitioned == 0) {
    checks.ok("partitioned tables", "none yet: prepare will create them");
  } else {
    checks.ok("partitioned tables",
              fmt::format("{} of 3 exist{}: prepare will reuse them", partitioned,
                          modulus ? fmt::format(" (hash modulus {})", *modulus) : ""));
  }
  std::string on;
  std::string partial;
  for (const auto& s : co_await sync_state(pool)) {
    if (s.on()) {
      on += (on.empty() ? "" : ", ") + s.table;
    } else if (s.legacy_triggers + s.partitioned_triggers > 0) {
      partial += (partial.empty() ? "" : ", ") + s.table;
    }
  }
  if (!partial.empty()) {
    checks.warn("sync triggers", "partly installed on " + partial + ": sync-on will complete them");
  } else {
    checks.ok("sync triggers", on.empty() ? "none yet" : "present on " + on + " (sync-on ran)");
  }
  const auto archives = detail::archive_names(state);
  if (detail::finalized(state)) {
    checks.fail("archived tables", "finalize already ran: " + detail::finalized_text(state));
  } else if (!archives.empty()) {
    checks.fail("archived tables",
                archives + " exist: finalize ran before; rename or drop them first");
  } else {
    checks.ok("archived tables", "none");
  }
  const auto routing = co_await partitioning::RoutingStore::load(pool);
  checks.ok("routing", fmt::format("fleet {}, {} pilot rows",
                                   routing.fleet ? partitioning::to_string(*routing.fleet)
                                                 : "unset (environment default)",
                                   routing.pilots.size()));
}

// Months since year 0 of a timestamptz expression, in UTC: year * 12 + month.
std::string month_index(std::string_view expr) {
  return fmt::format(
      "(extract(year FROM {0} AT TIME ZONE 'UTC') * 12 + extract(month FROM {0} AT TIME ZONE "
      "'UTC'))::int",
      expr);
}

// Months the partitioned tables will span: the legacy data's months (from the planner's
// statistics, else min/max under a short timeout) through `future_months` after now.
asio::awaitable<std::optional<int>> months_to_cover(db::Pool& pool, int future_months) {
  auto tx = co_await db::Transaction::begin(
      co_await pool.acquire(), {.read_only = true, .statement_timeout = std::chrono::seconds(5)});
  co_await tx.connection().execute_script(kLocalSettings);
  const int now =
      (co_await tx.execute("SELECT " + month_index("clock_timestamp()"))).scalar<std::int32_t>();
  int first = now;
  int last = now + future_months;
  const std::string bounds = month_index("lo") + ", " + month_index("hi");
  for (const auto& spec : all_tables()) {
    auto stats = co_await tx.query(
        "SELECT " + bounds +
            " FROM (SELECT h[1] AS lo, h[cardinality(h)] AS hi FROM (SELECT "
            "histogram_bounds::text::timestamptz[] AS h FROM pg_stats WHERE schemaname = "
            "current_schema() AND tablename = $1 AND attname = $2 LIMIT 1) s) b WHERE lo IS NOT "
            "NULL",
        spec.name, spec.time_column);
    if (stats.empty()) {
      try {
        stats = co_await tx.execute(
            fmt::format("SELECT {} FROM (SELECT min({}::timestamptz) AS lo, max({}::timestamptz) "
                        "AS hi FROM {}) b WHERE lo IS NOT NULL",
                        bounds, spec.time_column, spec.time_column, spec.name));
      } catch (const db::QueryCanceled&) {
        co_return std::nullopt;
      }
    }
    if (stats.empty()) continue;
    first = std::min(first, stats.front().get<std::int32_t>(0));
    last = std::max(last, stats.front().get<std::int32_t>(1));
  }
  co_await tx.commit();
  co_return last - first + 1;
}

asio::awaitable<void> check_locks(db::Pool& pool, Checks& checks, const PreflightOptions& options) {
  const int modulus = (co_await partitioned_modulus(pool)).value_or(options.hash_modulus);
  const auto months = co_await months_to_cover(pool, options.future_months);
  auto r = co_await pool.query(
      "SELECT current_setting('max_locks_per_transaction')::int,"
      "       current_setting('max_connections')::int");
  const int max_locks = r.front().get<std::int32_t>(0);
  if (!months) {
    checks.warn("max_locks_per_transaction",
                fmt::format("{}; months of data unknown (min/max took too long, no statistics): "
                            "run ANALYZE on the legacy tables and check again",
                            max_locks));
    co_return;
  }
  const int partitions = *months * modulus;
  const auto message = fmt::format(
      "{} (lock table shared by {} connections); a statement over a whole partitioned table "
      "locks {} partitions ({} months x modulus {}) and their indexes",
      max_locks, r.front().get<std::int32_t>(1), partitions, *months, modulus);
  if (max_locks >= partitions) {
    checks.ok("max_locks_per_transaction", message);
  } else {
    checks.warn("max_locks_per_transaction",
                message + fmt::format("; consider raising it to at least {}", partitions));
  }
}

}  // namespace

asio::awaitable<std::vector<PreflightCheck>> preflight_checks(db::Pool& pool,
                                                              PreflightOptions options) {
  Checks checks;
  co_await check_server(pool, checks);

  const auto state = co_await detail::schema_state(pool);
  auto sizes = co_await pool.query(
      "SELECT coalesce(sum(pg_total_relation_size(to_regclass(quote_ident(t))))::float8, 0),"
      "       coalesce(sum(greatest(c.reltuples, 0))::float8, 0),"
      "       to_regclass('folio_id_seq') IS NOT NULL"
      "  FROM unnest($1::text[]) t LEFT JOIN pg_class c ON c.oid = to_regclass(quote_ident(t))",
      legacy_names_array());
  const double legacy_bytes = sizes.front().get<double>(0);
  std::string missing;
  for (const auto& t : state.tables) {
    if (!t.legacy) missing += (missing.empty() ? "" : ", ") + std::string(t.spec->name);
  }
  if (missing.empty()) {
    checks.ok("legacy tables",
              fmt::format("revenues, expenses, balances: {}, about {:.0f} rows",
                          human_bytes(legacy_bytes), sizes.front().get<double>(1)));
  } else {
    checks.fail("legacy tables", "missing: " + missing);
  }
  if (sizes.front().get<bool>(2)) {
    checks.ok("id sequence", "folio_id_seq exists");
  } else {
    checks.fail("id sequence", "folio_id_seq is missing (the shared id sequence of both sides)");
  }

  co_await guarded(checks, "free disk", [&] { return check_disk(pool, checks, legacy_bytes); });
  co_await guarded(checks, "replica lag", [&] { return check_replicas(pool, checks); });
  co_await guarded(checks, "activity", [&] { return check_activity(pool, checks); });
  co_await guarded(checks, "existing objects", [&] { return check_objects(pool, checks, state); });
  if (missing.empty()) {
    co_await guarded(checks, "max_locks_per_transaction",
                     [&] { return check_locks(pool, checks, options); });
  }
  co_return checks.take();
}

}  // namespace folio::cutover
