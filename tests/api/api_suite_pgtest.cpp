// One API suite run twice, against a server with USE_PARTITIONED_TABLES=false and one with
// =true, each on its own database seeded identically and taken through prepare, sync-on and
// backfill: the responses must be identical, and pg_stat_user_tables must show that reads
// touched only the routed side while writes landed on both (the sync triggers mirror them).
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "api/api_support.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace folio::test {
namespace {

namespace json = boost::json;

// Per-write timestamps differ between runs; everything else must not.
void normalize(json::value& v) {
  if (auto* o = v.if_object()) {
    for (auto& [key, field] : *o) {
      if ((key == "created_at" || key == "updated_at") && field.is_string()) {
        field = "<time>";
      } else {
        normalize(field);
      }
    }
  } else if (auto* a = v.if_array()) {
    for (auto& e : *a) normalize(e);
  }
}

struct Exchange {
  std::string request;
  int status = 0;
  std::string body;  // normalized JSON, or the raw body when it is not JSON
};

class Suite {
 public:
  Suite(HttpClient& http, std::string token) : http_(http), token_(std::move(token)) {}

  json::value call(const std::string& method, const std::string& target,
                   std::optional<std::string> body = std::nullopt) {
    auto res = http_.request(method, target, token_, body);
    Exchange e{method + " " + target + (body ? " " + *body : ""), res.status, res.body};
    json::value parsed;
    if (!res.body.empty()) {
      try {
        parsed = res.json();
        json::value copy = parsed;
        normalize(copy);
        e.body = json::serialize(copy);
      } catch (const std::exception&) {
      }
    }
    log.push_back(e);
    return parsed;
  }

  // Walks a list endpoint page by page; returns the ids in order.
  std::vector<std::int64_t> walk(const std::string& base) {
    std::vector<std::int64_t> ids;
    std::string target = base;
    for (int page = 0; page < 1000; ++page) {
      json::value v = call("GET", target);
      if (!v.is_object()) break;
      for (const auto& item : v.at("items").as_array()) ids.push_back(item.at("id").as_int64());
      const auto& next = v.at("next_cursor");
      if (next.is_null()) break;
      target = base + "&cursor=" + std::string(next.as_string());
    }
    return ids;
  }

  std::vector<Exchange> log;

 private:
  HttpClient& http_;
  std::string token_;
};

constexpr const char* kOrg = "/v1/orgs/3";
constexpr const char* kRange = "from=2026-05-01&to=2026-10-31";

// Writes through every write endpoint; returns the ids it created.
void write_phase(Suite& s) {
  const std::string org = kOrg;
  auto r1 = s.call("POST", org + "/revenues",
                   R"({"category":"room","amount_cents":12500,)"
                   R"("occurred_at":"2026-09-15T10:30:00Z","description":"Suite 12"})");
  auto r2 = s.call("POST", org + "/revenues",
                   R"({"category":"spa","amount_cents":800,"occurred_at":"2026-07-02T23:59:59Z"})");
  auto e1 = s.call("POST", org + "/expenses",
                   R"({"category":"supplies","amount_cents":4200,)"
                   R"("occurred_at":"2026-09-15T12:00:00+02:00","vendor":"Acme Linen"})");
  if (!r1.is_object() || !r2.is_object() || !e1.is_object()) return;
  const std::string rid1 = std::to_string(r1.at("id").as_int64());
  const std::string rid2 = std::to_string(r2.at("id").as_int64());
  const std::string eid1 = std::to_string(e1.at("id").as_int64());
  s.call("GET", org + "/revenues/" + rid1);
  s.call("PATCH", org + "/revenues/" + rid1, R"({"amount_cents":13000})");
  // Moves the entry to another month (another partition) and another balance day.
  s.call("PATCH", org + "/revenues/" + rid2, R"({"occurred_at":"2026-08-01T09:00:00Z"})");
  s.call("PATCH", org + "/expenses/" + eid1, R"({"vendor":null,"description":"linen"})");
  s.call("GET", org + "/expenses/" + eid1);
  s.call("DELETE", org + "/revenues/" + rid1);
  s.call("GET", org + "/revenues/" + rid1);
  s.call("DELETE", org + "/revenues/" + rid1);
}

void read_phase(Suite& s) {
  const std::string org = kOrg;
  const std::string range = kRange;
  s.walk(org + "/revenues?" + range + "&limit=7");
  s.walk(org + "/expenses?" + range + "&limit=50");
  s.call("GET", org + "/balances?" + range);
  s.call("GET", org + "/reports/pnl?" + range + "&granularity=day");
  s.call("GET", org + "/reports/pnl?" + range + "&granularity=month");
  s.call("GET", org + "/reports/categories?kind=revenue&" + range);
  s.call("GET", org + "/reports/categories?kind=expense&" + range);
  s.call("GET", org + "/reports/balance-history?from=2026-07-01&to=2026-09-30");
}

struct ModeRun {
  std::vector<Exchange> exchanges;
  Activity writes;  // activity during the write phase
  Activity reads;   // activity during the read phase
};

ModeRun run_mode(bool partitioned) {
  CutoverDatabase db(partitioned ? "api_suite_p" : "api_suite_l", 6, 40, 6);
  prepare_both_sides(db.dsn());
  const std::string token = create_token(db.dsn(), auth::Scope::org, 3);
  ServerProcessOptions options;
  options.env["USE_PARTITIONED_TABLES"] = partitioned ? "true" : "false";
  ModeRun run;
  // One server per phase: a session flushes its table statistics when it ends.
  auto phase = [&](void (*body)(Suite&)) {
    settle_statistics(db.dsn());
    const Activity before = table_activity(db.dsn());
    {
      ServerProcess server(db.dsn(), options);
      HttpClient http(server.host(), server.port());
      Suite suite(http, token);
      body(suite);
      EXPECT_EQ(server.stop(), 0) << server.log();
      run.exchanges.insert(run.exchanges.end(), suite.log.begin(), suite.log.end());
    }
    settle_statistics(db.dsn());
    return activity_delta(before, table_activity(db.dsn()));
  };
  run.writes = phase(write_phase);
  run.reads = phase(read_phase);
  for (const char* table : {"revenues", "expenses", "balances"}) {
    EXPECT_EQ(side_differences(db.dsn(), table), 0) << table;
  }
  return run;
}

TEST(ApiSuite, SameResponsesFromLegacyAndPartitionedTables) {
  const ModeRun legacy = run_mode(false);
  const ModeRun partitioned = run_mode(true);

  ASSERT_EQ(legacy.exchanges.size(), partitioned.exchanges.size());
  ASSERT_GT(legacy.exchanges.size(), 20u);
  for (std::size_t i = 0; i < legacy.exchanges.size(); ++i) {
    const auto& l = legacy.exchanges[i];
    const auto& p = partitioned.exchanges[i];
    EXPECT_EQ(l.request, p.request) << i;
    EXPECT_EQ(l.status, p.status) << l.request;
    EXPECT_EQ(l.body, p.body) << l.request;
    EXPECT_LT(l.status, 500) << l.request << " " << l.body;
  }
  // The scenario itself behaved: creates, the 404 after delete, the 204s.
  EXPECT_EQ(legacy.exchanges[0].status, 201);
  EXPECT_EQ(legacy.exchanges[8].status, 204) << legacy.exchanges[8].request;
  EXPECT_EQ(legacy.exchanges[9].status, 404) << legacy.exchanges[9].request;
  EXPECT_EQ(legacy.exchanges[10].status, 404) << legacy.exchanges[10].request;

  for (const auto& [run, routed, other] :
       {std::tuple{&legacy, std::string(""), std::string("_partitioned")},
        std::tuple{&partitioned, std::string("_partitioned"), std::string("")}}) {
    for (const char* base : {"revenues", "expenses", "balances"}) {
      const std::string t = base;
      // Reads: only the routed side was scanned.
      EXPECT_GT(run->reads.at(t + routed).reads, 0) << t + routed;
      EXPECT_EQ(run->reads.at(t + other).reads, 0) << t + other << " must not be read";
      EXPECT_EQ(run->reads.at(t + routed).inserted, 0) << t + routed;
      // Writes: both sides took them (one written, one mirrored; a month change is an update
      // on legacy and a move, delete + insert, between partitions).
      for (const std::string& side : {t + routed, t + other}) {
        const auto& w = run->writes.at(side);
        EXPECT_GT(w.inserted + w.updated + w.deleted, 0) << side << " was not written";
      }
    }
  }
}

}  // namespace
}  // namespace folio::test
