// A scratch database ready for cutover tests: folio's migrations applied and, optionally,
// seed data in the legacy tables; plus plain-SQL helpers that judge the result without
// folio's own verifier (EXCEPT both ways).
//
// Thread-safety: construct and destroy on one thread; the helpers open their own connections.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "folio/db/connection.hpp"
#include "folio/db/migrator.hpp"
#include "folio/seed/loader.hpp"
#include "support/async.hpp"
#include "support/scratch_database.hpp"

namespace folio::test {

// One bigint from a query on a new connection (NULL reads as 0).
inline std::int64_t scalar(const std::string& dsn, const std::string& sql) {
  return run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<std::int64_t> {
    auto c = co_await db::Connection::connect(io.get_executor(), dsn, std::chrono::seconds(5));
    auto r = co_await c->execute(sql);
    co_return r.front().get<std::optional<std::int64_t>>(0).value_or(0);
  });
}

// Rows of `table` that differ between the legacy and partitioned side, every column
// compared: (legacy EXCEPT partitioned) + (partitioned EXCEPT legacy).
// Entries of the partitioned side the id -> month locator lacks, places in another month or
// organization, or keeps although they are gone (sql/migrations/0005_entry_locator.sql).
inline std::int64_t locator_differences(const std::string& dsn, std::string_view table) {
  const std::string t(table);
  return scalar(dsn,
                "SELECT count(*) FROM (SELECT id, org_id, date_trunc('month', occurred_at AT TIME "
                "ZONE 'UTC')::date AS month FROM " +
                    t + "_partitioned) p FULL JOIN " + t +
                    "_locator l USING (id) WHERE p.month IS DISTINCT FROM l.month "
                    "OR p.org_id IS DISTINCT FROM l.org_id");
}

// Rows differing between the two sides of `table`; for revenues and expenses also the
// locator's differences from the partitioned side, which every writer must keep as exact.
inline std::int64_t side_differences(const std::string& dsn, std::string_view table) {
  const std::string t(table);
  return scalar(dsn, "SELECT (SELECT count(*) FROM (TABLE " + t + " EXCEPT ALL TABLE " + t +
                         "_partitioned) a) + (SELECT count(*) FROM (TABLE " + t +
                         "_partitioned EXCEPT ALL TABLE " + t + ") b)") +
         (t == "balances" ? 0 : locator_differences(dsn, t));
}

class CutoverDatabase : public ScratchDatabase {
 public:
  // Applies the migrations; seeds `orgs` organizations (ending with `until`) when orgs > 0.
  explicit CutoverDatabase(const std::string& prefix, std::int64_t orgs = 0, int rows_per_org = 20,
                           int months = 6,
                           std::chrono::year_month until = std::chrono::year{2026} /
                                                           std::chrono::October)
      : ScratchDatabase(prefix) {
    run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<void> {
      auto c = co_await db::Connection::connect(io.get_executor(), dsn(), std::chrono::seconds(5));
      co_await db::migrate(*c, db::embedded_migrations());
      if (orgs > 0) {
        seed::SeedOptions options;
        options.orgs = orgs;
        options.rows_per_org = rows_per_org;
        options.months = months;
        options.until = until;
        seed::LoadOptions load;
        load.dsn = dsn();
        co_await seed::load(io.get_executor(), options, load);
      }
    });
  }
};

}  // namespace folio::test
