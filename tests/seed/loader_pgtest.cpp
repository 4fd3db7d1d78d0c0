// The seed loader against the real local stack, each test in a fresh migrated database.
#include <gtest/gtest.h>

#include "folio/db/connection.hpp"
#include "folio/db/errors.hpp"
#include "folio/db/migrator.hpp"
#include "folio/seed/loader.hpp"
#include "support/async.hpp"
#include "support/scratch_database.hpp"
#include "support/stack_env.hpp"

namespace folio::seed {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using db::Connection;
using std::chrono::milliseconds;
using test::run_async;

class LoaderTest : public ::testing::Test {
 protected:
  // A fresh database with the legacy schema; returns its direct URL.
  std::string make_database() {
    const auto& db =
        *databases_.emplace_back(std::make_unique<test::ScratchDatabase>("folio_seed"));
    run_async([&](asio::io_context& io) -> awaitable<void> {
      auto c = co_await Connection::connect(io.get_executor(), db.dsn(), milliseconds(5000));
      co_await db::migrate(*c, db::embedded_migrations());
    });
    return db.dsn();
  }
  static std::string query_text(const std::string& dsn, const std::string& sql) {
    return run_async([&](asio::io_context& io) -> awaitable<std::string> {
      auto c = co_await Connection::connect(io.get_executor(), dsn, milliseconds(5000));
      co_return (co_await c->query(sql)).scalar<std::string>();
    });
  }
  static SeedOptions small() {
    SeedOptions o;
    o.orgs = 300;
    o.rows_per_org = 20;
    o.months = 6;
    o.seed = 11;
    o.until = std::chrono::year{2026} / std::chrono::October;
    return o;
  }
  std::vector<std::unique_ptr<test::ScratchDatabase>> databases_;
};

TEST_F(LoaderTest, LoadsConsistentRowsAndAdvancesTheSequence) {
  const auto dsn = make_database();
  LoadOptions lo;
  lo.dsn = dsn;
  lo.chunk_orgs = 64;  // several rounds
  int rounds = 0;
  lo.on_progress = [&](const LoadProgress&) { ++rounds; };
  const auto report =
      run_async([&](asio::io_context& io) { return load(io.get_executor(), small(), lo); });
  EXPECT_EQ(rounds, 5);
  EXPECT_EQ(report.rows.organizations, 300);
  EXPECT_EQ(report.rows.revenues + report.rows.expenses, 300 * 20);
  EXPECT_GT(report.rows.balances, 300);
  EXPECT_EQ(report.first_org_id, 1);
  EXPECT_EQ(report.last_row_id, 6000);
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s/%s/%s/%s', (SELECT count(*) FROM organizations),"
                       " (SELECT count(*) FROM revenues) + (SELECT count(*) FROM expenses),"
                       " (SELECT count(*) FROM balances),"
                       " (SELECT nextval('folio_id_seq')))"),
            "300/6000/" + std::to_string(report.rows.balances) + "/6001");
  // Every balances row equals the day's sums recomputed in SQL, and no day is missing.
  EXPECT_EQ(query_text(dsn, R"sql(
      WITH r AS (SELECT org_id, (occurred_at AT TIME ZONE 'UTC')::date d, sum(amount_cents) s
                 FROM revenues GROUP BY 1, 2),
           e AS (SELECT org_id, (occurred_at AT TIME ZONE 'UTC')::date d, sum(amount_cents) s
                 FROM expenses GROUP BY 1, 2),
           expected AS (SELECT coalesce(r.org_id, e.org_id) org_id, coalesce(r.d, e.d) d,
                               coalesce(r.s, 0) rev, coalesce(e.s, 0) exp
                        FROM r FULL JOIN e ON r.org_id = e.org_id AND r.d = e.d)
      SELECT count(*)::text FROM expected x FULL JOIN balances b
        ON b.org_id = x.org_id AND b.balance_date = x.d
      WHERE b.org_id IS NULL OR x.org_id IS NULL OR b.revenue_cents <> x.rev
         OR b.expense_cents <> x.exp OR b.net_cents <> x.rev - x.exp)sql"),
            "0");
}

TEST_F(LoaderTest, SameSeedGivesIdenticalDataAndASecondLoadAppends) {
  const auto a = make_database();
  const auto b = make_database();
  for (const auto& dsn : {a, b}) {
    run_async([&](asio::io_context& io) {
      return load(io.get_executor(), small(), LoadOptions{.dsn = dsn});
    });
  }
  const std::string digest =
      "SELECT md5(string_agg(t, '|' ORDER BY t)) FROM ("
      " SELECT r::text t FROM revenues r UNION ALL SELECT e::text FROM expenses e"
      " UNION ALL SELECT b::text FROM balances b UNION ALL SELECT o::text FROM organizations o) x";
  EXPECT_EQ(query_text(a, digest), query_text(b, digest));

  // Loading again adds new organizations and ids after the existing ones.
  const auto second = run_async([&](asio::io_context& io) {
    return load(io.get_executor(), small(), LoadOptions{.dsn = a});
  });
  EXPECT_EQ(second.first_org_id, 301);
  EXPECT_EQ(second.first_row_id, 6001);
  EXPECT_EQ(query_text(a,
                       "SELECT count(DISTINCT id)::text FROM (SELECT id FROM revenues UNION "
                       "ALL SELECT id FROM expenses) x"),
            "12000");
}

TEST_F(LoaderTest, AFailedLoadLeavesNothingBehind) {
  const auto dsn = make_database();
  // Expenses of the generated data are far above this: the expenses COPY must fail.
  test::run_script(dsn, "ALTER TABLE expenses ADD CONSTRAINT tiny CHECK (amount_cents < 10)");
  EXPECT_THROW(run_async([&](asio::io_context& io) {
                 return load(io.get_executor(), small(), LoadOptions{.dsn = dsn});
               }),
               db::CheckViolation);
  EXPECT_EQ(query_text(dsn,
                       "SELECT ((SELECT count(*) FROM organizations) + (SELECT count(*) FROM "
                       "revenues) + (SELECT count(*) FROM expenses) + (SELECT count(*) "
                       "FROM balances))::text"),
            "0");
}

TEST_F(LoaderTest, InvalidOptionsAreRefusedBeforeTouchingTheDatabase) {
  const auto dsn = make_database();
  auto bad = small();
  bad.months = 0;
  EXPECT_THROW(run_async([&](asio::io_context& io) {
                 return load(io.get_executor(), bad, LoadOptions{.dsn = dsn});
               }),
               std::invalid_argument);
}

}  // namespace
}  // namespace folio::seed
