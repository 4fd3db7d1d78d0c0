// Test support for the finance repositories: a scratch database in one of the routing modes
// the repositories must serve (legacy, legacy mirrored by the sync, partitioned mirrored,
// partitioned alone), organizations of the test's own, a running PartitioningManager, and
// SQL-side recomputations of what the repositories maintain.
//
// Thread-safety: one test thread; each run() owns its io_context.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <ostream>
#include <string>
#include <string_view>

#include "folio/cutover/backfill.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/db/pool.hpp"
#include "folio/finance/finance_repository.hpp"
#include "folio/finance/reports_repository.hpp"
#include "folio/partitioning/partitioning_manager.hpp"
#include "support/async.hpp"
#include "support/cutover_database.hpp"

namespace folio::finance::test {

namespace asio = boost::asio;
using partitioning::Target;

struct Mode {
  const char* name;
  Target target;
  bool prepared;  // partitioned tables exist
  bool synced;    // sync triggers on (and history backfilled)
  bool operator==(const Mode& other) const { return std::string_view(name) == other.name; }
};

inline constexpr Mode kLegacy{"legacy", Target::legacy, false, false};
inline constexpr Mode kLegacySynced{"legacy_synced", Target::legacy, true, true};
inline constexpr Mode kPartitionedSynced{"partitioned_synced", Target::partitioned, true, true};
// Partitioned tables without the sync: writes reach only the side routing picked.
inline constexpr Mode kPartitionedOnly{"partitioned_only", Target::partitioned, true, false};

inline void PrintTo(const Mode& mode, std::ostream* out) { *out << mode.name; }

inline std::string mode_name(const ::testing::TestParamInfo<Mode>& info) { return info.param.name; }

// The physical table `logical` maps to in `mode`.
inline std::string physical(const Mode& mode, std::string_view logical) {
  return std::string(logical) + (mode.target == Target::partitioned ? "_partitioned" : "");
}

inline Timestamp at(std::chrono::year_month_day day, int hour, int minute = 0, int second = 0) {
  using namespace std::chrono;
  return time_point_cast<microseconds>(sys_days(day)) + hours(hour) + minutes(minute) +
         seconds(second);
}

// A new entry. (A helper rather than a braced initializer: g++ 12 rejects those as co_await
// call arguments.)
inline NewEntry new_entry(std::string category, std::int64_t cents, Timestamp when,
                          std::optional<std::string> description = std::nullopt,
                          std::optional<std::string> vendor = std::nullopt,
                          std::optional<std::string> currency = std::nullopt) {
  return NewEntry{.category = std::move(category),
                  .amount_cents = cents,
                  .currency = std::move(currency),
                  .occurred_at = when,
                  .description = std::move(description),
                  .vendor = std::move(vendor)};
}

inline EntryPatch move_patch(std::optional<std::int64_t> cents, std::optional<Timestamp> when) {
  EntryPatch patch;
  patch.amount_cents = cents;
  patch.occurred_at = when;
  return patch;
}

class FinanceDatabase : public folio::test::CutoverDatabase {
 public:
  FinanceDatabase(const std::string& prefix, const Mode& mode)
      : CutoverDatabase(prefix, 3, 20, 3), mode_(mode) {
    if (!mode.prepared) return;
    folio::test::run_async(
        [&](asio::io_context& io) -> asio::awaitable<void> {
          db::Pool pool(io.get_executor(), {.dsn = dsn(), .name = "setup", .max_size = 4});
          co_await cutover::prepare(pool, {});
          if (mode_.synced) {
            co_await cutover::sync_on(pool, {});
            co_await cutover::backfill(pool, {});
          }
        },
        std::chrono::seconds(300));
  }

  const Mode& mode() const { return mode_; }

  // Adds an organization of the test's own (ids far above the seeded ones).
  void add_org(std::int64_t id, std::string_view currency) const {
    folio::test::run_script(dsn(),
                            "INSERT INTO organizations (id, name, currency, timezone) "
                            "VALUES (" +
                                std::to_string(id) + ", 'test org " + std::to_string(id) + "', '" +
                                std::string(currency) + "', 'UTC')");
  }

  std::int64_t scalar(const std::string& sql) const { return folio::test::scalar(dsn(), sql); }

  // Days of `org` whose balances row (in `suffix`-ed tables: "" or "_partitioned") differs
  // from the sums of its revenue and expense entries, or breaks net = revenue - expense.
  // A missing row counts as zeros, as does a row of zeros without entries.
  std::int64_t balance_mismatches(std::int64_t org, std::string_view suffix = "") const {
    const std::string o = std::to_string(org);
    const std::string s(suffix);
    return scalar(
        "WITH e AS (SELECT (occurred_at AT TIME ZONE 'UTC')::date AS d, amount_cents AS rev, "
        "0::bigint AS exp FROM revenues" +
        s + " WHERE org_id = " + o +
        " UNION ALL SELECT (occurred_at AT TIME ZONE 'UTC')::date, 0, amount_cents FROM expenses" +
        s + " WHERE org_id = " + o +
        "), sums AS (SELECT d, sum(rev) AS rev, sum(exp) AS exp FROM e GROUP BY d) "
        "SELECT count(*) FROM sums FULL JOIN (SELECT * FROM balances" +
        s + " WHERE org_id = " + o +
        ") b ON b.balance_date = sums.d "
        "WHERE coalesce(sums.rev, 0) <> coalesce(b.revenue_cents, 0) "
        "OR coalesce(sums.exp, 0) <> coalesce(b.expense_cents, 0) "
        "OR b.net_cents <> b.revenue_cents - b.expense_cents");
  }

  // Rows differing between the two sides, all three tables (0 when the sync is off).
  std::int64_t side_differences() const {
    if (!mode_.synced) return 0;
    return folio::test::side_differences(dsn(), "revenues") +
           folio::test::side_differences(dsn(), "expenses") +
           folio::test::side_differences(dsn(), "balances");
  }

 private:
  Mode mode_;
};

struct Services {
  FinanceRepository& repo;
  ReportsRepository& reports;
  db::Pool& pool;
  partitioning::PartitioningManager& routing;
};

// Runs `fn(Services&)` with a pool and a started PartitioningManager whose
// default is the mode's target.
template <typename Fn>
void run(const FinanceDatabase& db, Fn fn, std::size_t pool_size = 4,
         RepositoryOptions options = {}) {
  folio::test::run_async(
      [&](asio::io_context& io) -> asio::awaitable<void> {
        db::Pool pool(io.get_executor(),
                      {.dsn = db.dsn(), .name = "finance_test", .max_size = pool_size});
        partitioning::PartitioningManager routing(io.get_executor(), pool,
                                                  {.env_default = db.mode().target});
        co_await routing.start();
        FinanceRepository repo(pool, routing, options);
        ReportsRepository reports(pool, routing, options);
        Services services{repo, reports, pool, routing};
        std::exception_ptr error;
        try {
          co_await fn(services);
        } catch (...) {
          error = std::current_exception();
        }
        co_await routing.stop();
        if (error) std::rethrow_exception(error);
      },
      std::chrono::seconds(300));
}

}  // namespace folio::finance::test
