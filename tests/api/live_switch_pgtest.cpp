// A live switch: while a client writes and reads through the API, `folioctl switchover pilot
// add`, `cutover` and `rollback` take effect in the running server within 2 s of the command's
// return (its routing gauges in /metrics show the new routing), no request fails, and
// afterwards both sides are identical and every balance equals the sum of its day's entries.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "api/api_support.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace folio::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Traffic {
  std::atomic<bool> stop{false};
  std::atomic<int> requests{0};
  std::atomic<int> failures{0};
  std::string first_failure;  // written by the client thread only, read after join
};

// Creates, reads back, updates and sometimes deletes revenues of orgs 1..4, and reads a
// report; every response must be the expected success with the expected amount.
void client_loop(int port, const std::string& token, Traffic& t) {
  HttpClient http("127.0.0.1", port);
  auto fail = [&](const std::string& what) {
    if (t.failures++ == 0) t.first_failure = what;
  };
  for (int i = 0; !t.stop; ++i) {
    const std::string org = "/v1/orgs/" + std::to_string(1 + i % 4);
    const int amount = 100 + i;
    const std::string day = std::to_string(10 + i % 15);
    try {
      auto created =
          http.request("POST", org + "/revenues", token,
                       R"({"category":"events","amount_cents":)" + std::to_string(amount) +
                           R"(,"occurred_at":"2026-09-)" + day + R"(T12:00:00Z"})");
      t.requests++;
      if (created.status != 201) {
        fail("create " + std::to_string(created.status) + " " + created.body);
        continue;
      }
      const std::string id = std::to_string(created.json().at("id").as_int64());
      auto read = http.request("GET", org + "/revenues/" + id, token);
      t.requests++;
      if (read.status != 200 || read.json().at("amount_cents").as_int64() != amount) {
        fail("read-back " + std::to_string(read.status) + " " + read.body);
      }
      auto patched = http.request("PATCH", org + "/revenues/" + id, token,
                                  R"({"amount_cents":)" + std::to_string(amount * 2) + "}");
      t.requests++;
      if (patched.status != 200 || patched.json().at("amount_cents").as_int64() != amount * 2) {
        fail("patch " + std::to_string(patched.status) + " " + patched.body);
      }
      if (i % 3 == 0) {
        auto deleted = http.request("DELETE", org + "/revenues/" + id, token);
        t.requests++;
        if (deleted.status != 204) fail("delete " + std::to_string(deleted.status));
      }
      auto report = http.request(
          "GET", org + "/reports/pnl?from=2026-09-01&to=2026-09-30&granularity=month", token);
      t.requests++;
      if (report.status != 200) fail("pnl " + std::to_string(report.status) + " " + report.body);
    } catch (const std::exception& e) {
      fail(std::string("transport: ") + e.what());
    }
  }
}

// Waits until the server's /metrics shows `series` == want; returns the time it took.
milliseconds until_metric(HttpClient& http, const std::string& series, double want,
                          Clock::time_point since) {
  while (Clock::now() - since < std::chrono::seconds(10)) {
    auto res = http.request("GET", "/metrics");
    if (res.status == 200 && metric(res.body, series) == want) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return std::chrono::duration_cast<milliseconds>(Clock::now() - since);
}

// Waits until the client has made `more` requests beyond `from` (at most 60 s).
bool until_requests(const Traffic& t, int from, int more) {
  const auto end = Clock::now() + std::chrono::seconds(60);
  while (t.requests.load() < from + more) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

TEST(LiveSwitch, PilotCutoverAndRollbackReachTheRunningServerWithoutFailedRequests) {
  CutoverDatabase db("api_live", 8, 20, 6);
  prepare_both_sides(db.dsn());
  // A real cutover: the clean full verification that opens the gate of pilot add and cutover.
  const auto verified = folioctl("switchover verify --database-url '" + db.dsn() + "'");
  ASSERT_EQ(verified.exit_code, 0) << verified.output;
  const std::string token = create_token(db.dsn(), auth::Scope::admin, std::nullopt);
  ServerProcess server(db.dsn());  // DATABASE_DIRECT_URL = the same database: LISTEN
  HttpClient probe(server.host(), server.port());
  const std::string url = " --database-url '" + db.dsn() + "'";

  Traffic traffic;
  std::thread client([&] { client_loop(server.port(), token, traffic); });
  EXPECT_TRUE(until_requests(traffic, 0, 20)) << "no traffic";

  // The change is committed when folioctl returns: from then on it must reach the server
  // within about a second (LISTEN/NOTIFY; 2 s leaves room for a busy machine, while a lost
  // notification would wait for the safety poll). folioctl's own run is not counted: that
  // is a process start and the verification gate, not the propagation.
  auto step = [&](const std::string& command, const std::string& series, double want) {
    const auto r = folioctl("switchover " + command + url);
    EXPECT_EQ(r.exit_code, 0) << command << ":\n" << r.output;
    const auto took = until_metric(probe, series, want, Clock::now());
    EXPECT_LT(took.count(), 2000) << command << " reached the server after " << took.count()
                                  << " ms";
    // Traffic on the new routing: requests sent after the server showed it.
    EXPECT_TRUE(until_requests(traffic, traffic.requests.load(), 20)) << "traffic stalled";
  };
  step("pilot add 1 2", "folio_routing_pilots", 2);
  step("cutover", "folio_routing_fleet_partitioned", 1);
  step("rollback", "folio_routing_fleet_partitioned", 0);
  EXPECT_EQ(metric(probe.request("GET", "/metrics").body, "folio_routing_pilots"), 0.0);

  traffic.stop = true;
  client.join();
  EXPECT_EQ(traffic.failures.load(), 0) << traffic.first_failure;
  EXPECT_GT(traffic.requests.load(), 50);

  // Requests really went both ways.
  const std::string metrics = probe.request("GET", "/metrics").body;
  EXPECT_GT(
      metric(
          metrics,
          R"(folio_routing_decisions_total{reason="pilot",table="revenues",target="partitioned"})")
          .value_or(0),
      0);
  EXPECT_GT(
      metric(
          metrics,
          R"(folio_routing_decisions_total{reason="fleet",table="revenues",target="partitioned"})")
          .value_or(0),
      0);
  EXPECT_EQ(server.stop(), 0) << server.log();

  for (const char* table : {"revenues", "expenses", "balances"}) {
    EXPECT_EQ(side_differences(db.dsn(), table), 0) << table;
  }
  EXPECT_EQ(
      scalar(db.dsn(),
             "SELECT count(*) FROM balances b FULL JOIN ("
             "  SELECT org_id, (occurred_at AT TIME ZONE 'UTC')::date AS d,"
             "         sum(amount_cents) FILTER (WHERE k = 'r') AS rev,"
             "         sum(amount_cents) FILTER (WHERE k = 'e') AS exp"
             "    FROM (SELECT 'r' AS k, org_id, occurred_at, amount_cents FROM revenues"
             "          UNION ALL SELECT 'e', org_id, occurred_at, amount_cents FROM expenses) x"
             "   GROUP BY 1, 2) s ON s.org_id = b.org_id AND s.d = b.balance_date "
             " WHERE coalesce(b.revenue_cents, 0) <> coalesce(s.rev, 0)"
             "    OR coalesce(b.expense_cents, 0) <> coalesce(s.exp, 0)"),
      0);
}

}  // namespace
}  // namespace folio::test
