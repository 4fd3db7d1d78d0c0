// An organization created on the primary that the replica has not replayed yet, on a private
// stack (primary, streaming replica, PgBouncer): its reads, sent to the replica, find no
// such organization there and are asked again on the primary, which answers them — never a
// 404 for an organization that exists. An organization that exists nowhere is still a 404.
#include <gtest/gtest.h>

#include "infra_support.hpp"

namespace folio::test {
namespace {

using namespace std::chrono_literals;

const std::string kReplicaReads = R"(folio_db_reads_total{target="replica"})";
const std::string kPrimaryReads = R"(folio_db_reads_total{target="primary"})";

std::string run_sql(const std::string& dsn, const std::string& sql) {
  return run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<std::string> {
    auto c = co_await db::Connection::connect(io.get_executor(), dsn, std::chrono::seconds(5));
    const auto result = co_await c->execute(sql);
    co_return result.empty() || result.front()[0].is_null() ? ""
                                                            : result.front().get<std::string>(0);
  });
}

TEST(NewOrganization, NotYetOnTheReplicaIsReadFromThePrimary) {
  InfraStack stack(3);
  auto options = stack.options(true, false);
  // Out of reach: the paused replica stays in rotation and keeps being asked.
  options.args = {"--replica-max-lag-ms", "600000", "--replica-max-lag-bytes", "100000000000"};
  auto server = stack.start(options);
  ASSERT_TRUE(until_in_rotation(*server, 1, 30s));
  const auto admin =
      create_token(stack.value("DATABASE_DIRECT_URL"), auth::Scope::admin, std::nullopt);
  HttpClient http(server->host(), server->port(), 30s);
  const std::string range = "from=" + utc_day(-30) + "&to=" + utc_day();

  const std::string replica = stack.value("REPLICA_HEALTH_URLS");
  run_sql(replica, "SELECT pg_wal_replay_pause()::text");
  for (int i = 0; run_sql(replica, "SELECT pg_get_wal_replay_pause_state()") != "paused"; ++i) {
    ASSERT_LT(i, 3000) << "replay did not pause";
    std::this_thread::sleep_for(10ms);
  }
  run_sql(stack.value("DATABASE_DIRECT_URL"),
          "INSERT INTO organizations (id, name, currency, timezone) "
          "VALUES (77, 'new', 'EUR', 'UTC') RETURNING id::text");
  EXPECT_EQ(run_sql(replica, "SELECT count(*)::text FROM organizations WHERE id = 77"), "0");

  const double replica_before = scrape(*server, kReplicaReads);
  const double primary_before = scrape(*server, kPrimaryReads);
  for (const std::string& target :
       {"/v1/orgs/77/balances?" + range, "/v1/orgs/77/revenues?" + range,
        "/v1/orgs/77/reports/pnl?" + range + "&granularity=month",
        "/v1/orgs/77/reports/categories?" + range + "&kind=expense",
        "/v1/orgs/77/reports/balance-history?" + range}) {
    const auto res = http.request("GET", target, admin);
    EXPECT_EQ(res.status, 200) << target << " -> " << res.body;
  }
  // Each was asked on the replica first, then on the primary.
  EXPECT_GE(scrape(*server, kReplicaReads) - replica_before, 5.0);
  EXPECT_GE(scrape(*server, kPrimaryReads) - primary_before, 5.0);

  const auto missing = http.request("GET", "/v1/orgs/78/balances?" + range, admin);
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(missing.json().at("error").at("code").as_string(), "not_found");
  // An organization the replica has is served there alone.
  const double primary_after = scrape(*server, kPrimaryReads);
  EXPECT_EQ(http.request("GET", "/v1/orgs/1/balances?" + range, admin).status, 200);
  EXPECT_EQ(scrape(*server, kPrimaryReads), primary_after);

  run_sql(replica, "SELECT pg_wal_replay_resume()::text");
  EXPECT_EQ(server->stop(), 0);
}

}  // namespace
}  // namespace folio::test
