#include "detail/unit.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <string>

#include "folio/cache/cache_service.hpp"
#include "folio/cutover/sync_failure.hpp"
#include "folio/db/errors.hpp"
#include "folio/db/lsn.hpp"
#include "folio/db/read_guard.hpp"
#include "folio/db/read_router.hpp"
#include "folio/db/retry.hpp"
#include "folio/db/write_positions.hpp"
#include "folio/finance/model.hpp"
#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::finance::detail {
namespace {

namespace asio = boost::asio;

// Role, organization, time zone and timeout for the rest of the transaction only
// (is_local = true), so nothing leaks into a pooled (or PgBouncer) session.
constexpr std::string_view kScopeSql =
    "SELECT set_config('role', 'folio_app', true), set_config('folio.org_id', $1, true), "
    "set_config('TimeZone', 'UTC', true), set_config('statement_timeout', $2, true), "
    "set_config('transaction_read_only', $3, true)";

obs::Histogram& duration(std::string_view operation) {
  return obs::Registry::global().histogram(
      "folio_finance_unit_duration_seconds",
      "Duration of finance repository units of work, retries included",
      obs::default_latency_buckets(), {{"operation", std::string(operation)}});
}

obs::Counter& retries(std::string_view operation) {
  return obs::Registry::global().counter(
      "folio_finance_retries_total",
      "Finance repository units rerun after a deadlock or serialization failure",
      {{"operation", std::string(operation)}});
}

obs::Counter& failures(std::string_view operation) {
  return obs::Registry::global().counter("folio_finance_unit_failures_total",
                                         "Finance repository units that ended in an error",
                                         {{"operation", std::string(operation)}});
}

struct UnitMetrics {
  obs::Histogram* duration;
  obs::Counter* retries;
  obs::Counter* failures;
};

// The series of `operation`, registered by a thread's first unit of that operation and then
// found in the thread's own memo: a unit of work takes no registry lock. (A coroutine stays
// on its worker's thread; the memo's nodes never move, so a reference outlives a resumption
// elsewhere as long as the thread lives, which workers do until the server ends.)
// REQUIRES: `operation` has static storage, as run_unit's contract says.
const UnitMetrics& metrics_of(std::string_view operation) {
  thread_local std::map<std::string_view, UnitMetrics> memo;
  auto it = memo.find(operation);
  if (it == memo.end()) {
    it = memo.emplace(operation,
                      UnitMetrics{&duration(operation), &retries(operation), &failures(operation)})
             .first;
  }
  return it->second;
}

// Where the primary's WAL has got to; after a commit returned, at or past its commit record.
constexpr std::string_view kWalPositionSql = "SELECT pg_current_wal_lsn()::text";

// Whether the organization exists: the first statement of every read after the scope (and
// guard), so an unknown organization is told from one without data in the same round trip.
// (folio_app sees its own organization's row under row-level security.)
constexpr std::string_view kOrgExistsSql =
    "SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1::bigint)";

db::Statement org_exists_statement(std::int64_t org) {
  return db::Statement{std::string(kOrgExistsSql), db::Params::of(org)};
}

const obs::Logger& log() {
  static const obs::Logger logger("finance");
  return logger;
}

// The primary's current WAL position; on failure the largest position, which no replica
// reaches, so the organization reads from the primary until the marker expires.
asio::awaitable<db::Lsn> wal_position(db::Pool& pool) {
  static obs::LogLimiter limiter(std::chrono::seconds(10));
  std::string error;
  try {
    auto conn = co_await pool.acquire();
    const auto result = co_await conn->execute(kWalPositionSql);
    if (auto lsn = db::parse_lsn(result.scalar<std::string>())) co_return *lsn;
    error = "unparseable WAL position";
  } catch (const db::Error& e) {
    error = e.what();
  }
  log().log_limited(limiter, obs::Level::kWarn,
                    "could not read the WAL position after a write; the organization reads from "
                    "the primary for a while",
                    {{"error", error}});
  co_return std::numeric_limits<db::Lsn>::max();
}

// Whether the constraint the server named ends with `suffix`: the entry tables' CHECKs are
// "<table>_<column>_check", whatever the table (legacy, partitioned parent or leaf).
bool names(const db::Error& error, std::string_view suffix) {
  return error.constraint_name().ends_with(suffix);
}

// PostgreSQL's partition checks (a row outside its partition's bounds, or no partition for
// it) are CHECK violations that name no constraint.
bool is_partition_bound_failure(const db::Error& error) {
  return dynamic_cast<const db::CheckViolation*>(&error) != nullptr &&
         error.constraint_name().empty();
}

}  // namespace

std::exception_ptr invalid_value_for(const db::Error& error) {
  if (dynamic_cast<const db::CheckViolation*>(&error) == nullptr) return nullptr;
  if (names(error, "_category_check")) {
    return std::make_exception_ptr(InvalidValue("category", "category is not allowed"));
  }
  if (names(error, "_amount_cents_check")) {
    return std::make_exception_ptr(
        InvalidValue("amount_cents", "amount_cents must not be negative"));
  }
  return nullptr;
}

asio::awaitable<std::vector<db::Result>> run_unit(db::Pool& pool, const RepositoryOptions& options,
                                                  std::string_view operation, std::int64_t org,
                                                  Access access,
                                                  std::vector<db::Statement> statements) {
  const std::string org_text = std::to_string(org);
  const std::string timeout_text = std::to_string(options.statement_timeout.count());
  const std::string read_only = access == Access::read ? "on" : "off";
  statements.insert(
      statements.begin(),
      db::Statement{std::string(kScopeSql), db::Params::of(org_text, timeout_text, read_only)});

  db::RetryPolicy policy;
  policy.max_attempts = options.max_attempts;
  const UnitMetrics& metrics = metrics_of(operation);
  obs::Counter& retried = *metrics.retries;
  policy.on_retry = [&retried](const db::Error&, int) { retried.inc(); };
  // A write routed to a DEFAULT partition by a plan made just before partition maintenance
  // attached that row's month is refused by the DEFAULT partition's new constraint; run
  // again, it goes to the new month.
  policy.also_retry = [](const db::Error& e) { return is_partition_bound_failure(e); };

  obs::ScopedTimer timer(*metrics.duration);
  std::exception_ptr error;
  try {
    co_return co_await db::with_retry(
        [&]() -> asio::awaitable<std::vector<db::Result>> {
          auto conn = co_await pool.acquire();
          auto results = co_await conn->pipeline(statements);
          results.erase(results.begin());
          co_return results;
        },
        policy);
  } catch (const db::Error&) {
    error = std::current_exception();
  }
  metrics.failures->inc();
  // (co_await cannot run inside the handler above.)
  if (access == Access::write) co_await cutover::report_if_sync_failure(pool, error);
  try {
    std::rethrow_exception(error);
  } catch (const db::Error& e) {
    if (auto invalid = invalid_value_for(e)) std::rethrow_exception(invalid);
    throw;
  }
}

}  // namespace folio::finance::detail

namespace folio::finance::detail {

asio::awaitable<std::vector<db::Result>> read_unit(db::Pool& pool, const DataPaths& paths,
                                                   const RepositoryOptions& options,
                                                   std::string_view operation, std::int64_t org,
                                                   std::vector<db::Statement> statements) {
  statements.insert(statements.begin(), org_exists_statement(org));
  // The results without the existence check's; OrgNotFound when it found no organization.
  const auto known = [](std::vector<db::Result> results) {
    if (!results.at(0).scalar<bool>()) throw OrgNotFound();
    results.erase(results.begin());
    return results;
  };
  if (paths.router == nullptr) {
    co_return known(
        co_await run_unit(pool, options, operation, org, Access::read, std::move(statements)));
  }
  db::ReadPolicy policy;
  if (paths.router->replicas_usable()) {
    if (paths.positions != nullptr) policy.min_lsn = paths.positions->get(org);
    if (paths.cache != nullptr) {
      const cache::WritePosition shared = co_await paths.cache->write_position(org);
      if (!shared.known) {
        policy.primary_only = true;
      } else if (shared.lsn) {
        policy.min_lsn = std::max(policy.min_lsn.value_or(0), *shared.lsn);
      }
    }
  }
  // A replica not yet known to have replayed min_lsn confirms it in the read's own
  // transaction: the guard goes right after the scope statement (set_config() only, no data
  // read) and before the reads (read_guard.hpp).
  bool on_primary = false;
  auto body = [&](db::Pool& target,
                  db::ReadGuard& guard) -> asio::awaitable<std::vector<db::Result>> {
    on_primary = &target == &paths.router->primary();
    if (!guard.required()) {
      co_return co_await run_unit(target, options, operation, org, Access::read, statements);
    }
    std::vector<db::Statement> guarded;
    guarded.reserve(statements.size() + 1);
    guarded.push_back(db::ReadGuard::statement());
    guarded.insert(guarded.end(), statements.begin(), statements.end());
    auto results =
        co_await run_unit(target, options, operation, org, Access::read, std::move(guarded));
    guard.confirm(results.front());
    results.erase(results.begin());
    co_return results;
  };
  auto results = co_await paths.router->read(policy, body);
  // Organizations are created outside folio's write positions, so a replica may not have
  // replayed a new one yet: only the primary's "no such organization" is believed.
  if (!on_primary && !results.at(0).scalar<bool>()) {
    results = co_await paths.router->read(db::ReadPolicy{.primary_only = true}, body);
  }
  co_return known(std::move(results));
}

asio::awaitable<std::vector<db::Result>> write_unit(db::Pool& pool, const DataPaths& paths,
                                                    const RepositoryOptions& options,
                                                    std::string_view operation, std::int64_t org,
                                                    std::vector<db::Statement> statements,
                                                    const Changed& changed) {
  auto results =
      co_await run_unit(pool, options, operation, org, Access::write, std::move(statements));
  if (!changed(results)) co_return results;
  std::optional<db::Lsn> lsn;
  if (paths.router != nullptr && paths.router->has_replicas()) {
    lsn = co_await wal_position(pool);
    if (paths.positions != nullptr) paths.positions->note(org, *lsn);
  }
  if (paths.cache != nullptr) co_await paths.cache->written(org, lsn);
  co_return results;
}

}  // namespace folio::finance::detail
