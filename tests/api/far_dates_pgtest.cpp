// Dates outside the partitioned window through the API: entries dated 1970-01, the month
// before the oldest partition, the month after the newest and 9999-12 are created, read back
// by id, listed and reported with the sync on (routed to legacy and to partitioned), after
// cutover and after finalize, as legacy always accepted them. The maintenance job then moves
// them out of the DEFAULT partitions into months of their own, and the two sides stay
// identical (plain SQL EXCEPT both ways) until finalize retires legacy.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "api/api_support.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace folio::test {
namespace {

std::int64_t all_side_differences(const std::string& dsn) {
  std::int64_t n = 0;
  for (const char* table : {"revenues", "expenses", "balances"}) {
    n += side_differences(dsn, table);
  }
  return n;
}

// "YYYY-MM" of a yyyymm number, and the months a test date should fall in.
std::string month_text(std::int64_t ym) { return fmt::format("{:04d}-{:02d}", ym / 100, ym % 100); }

// Creates an expense on the 15th of `ym` for `org`, reads it back, lists its month and
// reports it; returns "" or what went wrong.
std::string round_trip(HttpClient& http, const std::string& token, int org, std::int64_t ym,
                       int amount) {
  const std::string base = "/v1/orgs/" + std::to_string(org);
  const std::string month = month_text(ym);
  const auto created = http.request(
      "POST", base + "/expenses", token,
      fmt::format(R"({{"category":"payroll","amount_cents":{},"occurred_at":"{}-15T08:00:00Z"}})",
                  amount, month));
  if (created.status != 201) return "create " + month + ": " + created.body;
  const auto id = created.json().at("id").as_int64();
  const auto read = http.request("GET", base + "/expenses/" + std::to_string(id), token);
  if (read.status != 200 || read.json().at("amount_cents").as_int64() != amount) {
    return "read " + month + ": " + std::to_string(read.status) + " " + read.body;
  }
  const std::string range = "from=" + month + "-01&to=" + month + "-28";
  const auto list = http.request("GET", base + "/expenses?" + range, token);
  bool listed = false;
  if (list.status == 200) {
    const auto body = list.json();
    for (const auto& item : body.at("items").as_array()) {
      listed = listed || item.at("id").as_int64() == id;
    }
  }
  if (!listed) return "list " + month + ": " + list.body;
  const auto pnl =
      http.request("GET", base + "/reports/pnl?" + range + "&granularity=month", token);
  if (pnl.status != 200) return "pnl " + month + ": " + pnl.body;
  const auto report = pnl.json();
  const auto& periods = report.at("items").as_array();
  if (periods.empty() || periods.front().at("expense_cents").as_int64() < amount) {
    return "pnl " + month + " misses the expense: " + pnl.body;
  }
  return "";
}

TEST(FarDates, AcceptedReadAndReportedThroughTheCutoverAndMovedByMaintenance) {
  CutoverDatabase db("api_far", 6, 10, 6);
  prepare_both_sides(db.dsn());
  const std::string url = " --database-url '" + db.dsn() + "'";
  const auto oldest =
      scalar(db.dsn(),
             "SELECT min(m[1]::int * 100 + m[2]::int) FROM pg_class c, "
             "regexp_match(c.relname, '^expenses_partitioned_y(\\d{4})m(\\d{2})$') m");
  const auto newest =
      scalar(db.dsn(),
             "SELECT max(m[1]::int * 100 + m[2]::int) FROM pg_class c, "
             "regexp_match(c.relname, '^expenses_partitioned_y(\\d{4})m(\\d{2})$') m");
  const std::vector<std::int64_t> months{
      197001, oldest % 100 == 1 ? (oldest / 100 - 1) * 100 + 12 : oldest - 1,
      newest % 100 == 12 ? (newest / 100 + 1) * 100 + 1 : newest + 1, 999912};
  const std::string token = create_token(db.dsn(), auth::Scope::admin, std::nullopt);
  ServerProcess server(db.dsn());
  HttpClient http("127.0.0.1", server.port());
  const auto all_months = [&](int org, int amount) {
    for (const auto ym : months) {
      const auto error = round_trip(http, token, org, ym, amount);
      EXPECT_EQ(error, "") << ym;
    }
  };

  // Every step is correct on either path; before each one the server has followed the
  // routing (and layout) change, so the new path is the one exercised. Its /metrics tell:
  // the routing gauges, and the routing reloads (a layout change reloads the routing).
  const auto series = [&](const std::string& name) {
    const auto res = http.request("GET", "/metrics");
    return res.status == 200 ? metric(res.body, name).value_or(-1) : -1;
  };
  const auto wait_routing = [&](const std::string& name, const std::function<bool(double)>& done) {
    for (int i = 0; i < 600 && !done(series(name)); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(done(series(name))) << name << " = " << series(name);
  };
  const auto reloads = [&] {
    return series(R"(folio_routing_reloads_total{source="listen"})") +
           series(R"(folio_routing_reloads_total{source="poll"})");
  };

  // Sync on, organization 1 on legacy, organization 2 a pilot on the partitioned side.
  ASSERT_EQ(folioctl("switchover verify" + url).exit_code, 0);
  ASSERT_EQ(folioctl("switchover pilot add 2" + url).exit_code, 0);
  wait_routing("folio_routing_pilots", [](double v) { return v == 1; });
  all_months(1, 101);
  all_months(2, 102);
  EXPECT_GE(scalar(db.dsn(), "SELECT count(*) FROM expenses_partitioned_default"), 8);
  EXPECT_EQ(all_side_differences(db.dsn()), 0);

  // After cutover.
  ASSERT_EQ(folioctl("switchover verify" + url).exit_code, 0);
  const auto cut = folioctl("switchover cutover" + url);
  ASSERT_EQ(cut.exit_code, 0) << cut.output;
  wait_routing("folio_routing_fleet_partitioned", [](double v) { return v == 1; });
  all_months(3, 103);
  EXPECT_EQ(all_side_differences(db.dsn()), 0);

  // The maintenance job creates their months and moves every such row; sides unchanged.
  const double reloads_before_job = reloads();
  const auto job = folioctl("jobs run partition-maintenance" + url);
  ASSERT_EQ(job.exit_code, 0) << job.output;
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM expenses_partitioned_default"), 0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM balances_partitioned_default"), 0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM expenses_partitioned_y9999m12"), 3);
  EXPECT_EQ(all_side_differences(db.dsn()), 0);
  // The services pick up the new months' leaves: the job's notification reloaded them.
  wait_routing(R"(folio_routing_reloads_total{source="listen"})",
               [&](double) { return reloads() > reloads_before_job; });
  all_months(4, 104);
  EXPECT_EQ(all_side_differences(db.dsn()), 0);

  // After finalize: legacy is retired, the partitioned side alone takes them.
  ASSERT_EQ(folioctl("switchover verify" + url).exit_code, 0);
  const auto fin = folioctl("switchover finalize --confirm" + url);
  ASSERT_EQ(fin.exit_code, 0) << fin.output;
  all_months(5, 105);
  EXPECT_EQ(scalar(db.dsn(),
                   "SELECT count(*) FROM expenses_partitioned WHERE occurred_at >= "
                   "'9999-12-01 00:00+00'"),
            5);
}

}  // namespace
}  // namespace folio::test
