// Organization scoping in SQL: a transaction running as folio_app for organization A sees
// none of organization B's rows and cannot write any (row-level security, legacy and
// partitioned tables alike), and the repositories called for A never return or change B's
// entries.
#include <gtest/gtest.h>

#include "finance_fixture.hpp"
#include "folio/db/errors.hpp"

namespace folio::finance::test {
namespace {

using namespace std::chrono;
constexpr std::int64_t kOrgA = 9000001;
constexpr std::int64_t kOrgB = 9000002;

class FinanceSecurityTest : public ::testing::TestWithParam<Mode> {};

// Runs `sql` ($1 = org B) as folio_app scoped to `as_org`, in one implicit transaction.
asio::awaitable<db::Result> as_app(db::Pool& pool, std::int64_t as_org, std::string sql) {
  std::vector<db::Statement> statements;
  statements.push_back(
      {"SELECT set_config('role', 'folio_app', true), set_config('folio.org_id', $1, true)",
       db::Params::of(std::to_string(as_org))});
  statements.push_back({std::move(sql), db::Params::of(kOrgB)});
  auto conn = co_await pool.acquire();
  auto results = co_await conn->pipeline(statements);
  co_return std::move(results.at(1));
}

// The SQLSTATE `fn` fails with, or "" when it succeeds.
template <typename Fn>
asio::awaitable<std::string> sqlstate_of(Fn fn) {
  std::string state;
  try {
    co_await fn();
  } catch (const db::Error& e) {
    state = e.sqlstate().empty() ? "client" : e.sqlstate();
  }
  co_return state;
}

TEST_P(FinanceSecurityTest, OneOrganizationNeverReachesAnother) {
  FinanceDatabase db("fin_rls", GetParam());
  db.add_org(kOrgA, "EUR");
  db.add_org(kOrgB, "EUR");
  const auto day = 2026y / September / 10;
  const std::string revenues = physical(GetParam(), "revenues");
  const std::string balances = physical(GetParam(), "balances");
  run(db, [&](Services& s) -> asio::awaitable<void> {
    const Entry b =
        co_await s.repo.create(kOrgB, EntryKind::revenue, new_entry("room", 700, at(day, 9)));
    co_await s.repo.create(kOrgA, EntryKind::revenue, new_entry("room", 500, at(day, 9)));

    // Raw SQL as A, naming B explicitly: nothing visible, nothing writable.
    const std::vector<std::string> tables = {revenues, balances, "organizations"};
    for (const std::string& table : tables) {
      const std::string column = table == "organizations" ? "id" : "org_id";
      const auto r = co_await as_app(
          s.pool, kOrgA, "SELECT count(*) FROM " + table + " WHERE " + column + " = $1");
      EXPECT_EQ(r.scalar<std::int64_t>(), 0) << table;
    }
    const auto own =
        co_await as_app(s.pool, kOrgB, "SELECT count(*) FROM " + revenues + " WHERE org_id = $1");
    EXPECT_EQ(own.scalar<std::int64_t>(), 1);  // the same query as B itself
    const auto updated = co_await as_app(
        s.pool, kOrgA, "UPDATE " + revenues + " SET amount_cents = 0 WHERE org_id = $1");
    EXPECT_EQ(updated.affected_rows(), 0);
    const auto deleted =
        co_await as_app(s.pool, kOrgA, "DELETE FROM " + balances + " WHERE org_id = $1");
    EXPECT_EQ(deleted.affected_rows(), 0);
    EXPECT_EQ(co_await sqlstate_of([&] {
                return as_app(s.pool, kOrgA,
                              "INSERT INTO " + revenues +
                                  " (org_id, category, amount_cents, currency, occurred_at)"
                                  " VALUES ($1, 'room', 1, 'EUR', '2026-09-10 09:00+00')");
              }),
              "42501");
    // folio_app without an organization is refused outright.
    EXPECT_NE(co_await sqlstate_of([&]() -> asio::awaitable<void> {
                auto conn = co_await s.pool.acquire();
                std::vector<db::Statement> st;
                st.push_back({"SELECT set_config('role', 'folio_app', true)", {}});
                st.push_back({"SELECT count(*) FROM " + revenues, {}});
                co_await conn->pipeline(st);
              }),
              "");

    // The repositories called for A.
    EXPECT_EQ(co_await s.repo.get(kOrgA, EntryKind::revenue, b.id), std::nullopt);
    EXPECT_EQ(co_await s.repo.update(kOrgA, EntryKind::revenue, b.id, move_patch(1, std::nullopt)),
              std::nullopt);
    EXPECT_FALSE(co_await s.repo.remove(kOrgA, EntryKind::revenue, b.id));
    const auto page = co_await s.repo.list(kOrgA, EntryKind::revenue, sys_days(day), sys_days(day),
                                           10, std::nullopt);
    EXPECT_EQ(page.items.size(), 1u);
    EXPECT_TRUE(page.items.size() == 1 && page.items[0].org_id == kOrgA);
    EXPECT_EQ(co_await s.repo.get(kOrgB, EntryKind::revenue, b.id), b);
  });
  EXPECT_EQ(db.scalar("SELECT amount_cents FROM " + revenues +
                      " WHERE org_id = " + std::to_string(kOrgB)),
            700);
  EXPECT_EQ(db.balance_mismatches(kOrgA), 0);
  EXPECT_EQ(db.balance_mismatches(kOrgB), 0);
  EXPECT_EQ(db.side_differences(), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, FinanceSecurityTest, ::testing::Values(kLegacy, kPartitionedSynced),
                         mode_name);

}  // namespace
}  // namespace folio::finance::test
