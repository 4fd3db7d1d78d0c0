// Read replicas through the API, on a private stack (primary, streaming replica, PgBouncer):
// zero replicas, a replica stopped and restarted under read load, and read-your-writes while
// the replica replays normally and while its replay is paused.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "infra_support.hpp"

namespace folio::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

const std::string kReplicaReads = R"(folio_db_reads_total{target="replica"})";
const std::string kPrimaryReads = R"(folio_db_reads_total{target="primary"})";
const std::string kFallbackReads = R"(folio_db_reads_total{target="primary-fallback"})";
const std::string kInRotation = "folio_replicas_in_rotation";

std::string pnl_target(std::int64_t org) {
  return "/v1/orgs/" + std::to_string(org) + "/reports/pnl?from=" + utc_day(-90) +
         "&to=" + utc_day() + "&granularity=month";
}

// Reads of organizations that never write in the test (2..9): stale-ok, so replica reads.
Load::Request reader(const std::vector<std::string>& tokens) {
  return [tokens](HttpClient& http, int client, int i, std::string& why) {
    const std::int64_t org = 2 + (client + i) % 8;
    const std::string target = i % 2 == 0 ? pnl_target(org)
                                          : "/v1/orgs/" + std::to_string(org) +
                                                "/revenues?from=" + utc_day(-90) +
                                                "&to=" + utc_day() + "&limit=50";
    const auto res = http.request("GET", target, tokens[org]);
    if (res.status == 200) return true;
    why = target + " -> " + std::to_string(res.status) + " " + res.body;
    return false;
  };
}

std::vector<std::string> org_tokens(InfraStack& stack) {
  std::vector<std::string> tokens(10);
  for (std::int64_t org = 1; org < 10; ++org) tokens[org] = stack.token(org);
  return tokens;
}

void run_sql(const std::string& dsn, const std::string& sql) {
  run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<void> {
    auto c = co_await db::Connection::connect(io.get_executor(), dsn, std::chrono::seconds(5));
    co_await c->execute(sql);
  });
}

TEST(Replicas, ZeroReplicasReadFromThePrimary) {
  InfraStack stack;
  const auto token = stack.token(1);
  auto server = stack.start(stack.options(false, false));
  HttpClient http(server->host(), server->port());
  const auto created = http.request("POST", "/v1/orgs/1/revenues", token, revenue_today(777));
  ASSERT_EQ(created.status, 201) << created.body;
  const auto id = created.json().at("id").as_int64();
  const auto got = http.request("GET", "/v1/orgs/1/revenues/" + std::to_string(id), token);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.json().at("amount_cents").as_int64(), 777);
  EXPECT_EQ(http.request("GET", pnl_target(1), token).status, 200);

  EXPECT_EQ(scrape(*server, "folio_replicas_configured"), 0.0);
  EXPECT_EQ(scrape(*server, kInRotation), 0.0);
  EXPECT_GE(scrape(*server, kPrimaryReads), 2.0);
  EXPECT_EQ(scrape(*server, kReplicaReads), 0.0);
  const auto log = server->log();
  std::size_t said = 0;
  for (auto at = log.find("no replicas configured"); at != std::string::npos;
       at = log.find("no replicas configured", at + 1)) {
    ++said;
  }
  EXPECT_EQ(said, 1u) << log;
  EXPECT_EQ(server->stop(), 0);
}

TEST(Replicas, StoppedReplicaLeavesRotationWithoutFailedRequests) {
  InfraStack stack;
  const auto tokens = org_tokens(stack);
  auto options = stack.options(true, false);
  options.args = {"--statement-timeout-ms", "2000"};
  auto server = stack.start(options);
  ASSERT_TRUE(until_in_rotation(*server, 1, 10s));

  Load load(*server, 8, reader(tokens));
  std::this_thread::sleep_for(1s);
  const double replica_reads_before = scrape(*server, kReplicaReads);
  EXPECT_GT(replica_reads_before, 0.0) << "reads should go to the replica while it is healthy";

  stack.stack().component("stop-replica");
  const auto out = until_in_rotation(*server, 0, 10s);
  ASSERT_TRUE(out.has_value()) << "the stopped replica never left rotation";
  EXPECT_LE(out->count(), 3000) << "out of rotation after " << out->count() << " ms";
  std::this_thread::sleep_for(2s);  // reads keep going, now on the primary

  stack.stack().component("start-replica");
  const auto back = until_in_rotation(*server, 1, 30s);
  ASSERT_TRUE(back.has_value()) << "the restarted replica never came back";
  const double replica_reads_back = scrape(*server, kReplicaReads);
  std::this_thread::sleep_for(1s);
  EXPECT_GT(scrape(*server, kReplicaReads), replica_reads_back) << "no reads after its return";

  load.stop();
  EXPECT_GT(load.requests(), 100);
  EXPECT_EQ(load.failures(), 0) << load.first_failure();
  EXPECT_EQ(server->stop(), 0);
}

// Creates a revenue of org 1 and reads it back by id and through the day's balance; any
// answer that misses the write is a stale read. Returns the number of stale reads.
int write_then_read(HttpClient& http, const std::string& token, int cycles,
                    std::int64_t& expected_revenue) {
  int stale = 0;
  const std::string balances = "/v1/orgs/1/balances?from=" + utc_day() + "&to=" + utc_day();
  for (int i = 0; i < cycles; ++i) {
    const std::int64_t amount = 100 + i % 7;
    const auto created = http.request("POST", "/v1/orgs/1/revenues", token, revenue_today(amount));
    if (created.status != 201) throw std::runtime_error("create: " + created.body);
    expected_revenue += amount;
    const auto id = created.json().at("id").as_int64();
    const auto got = http.request("GET", "/v1/orgs/1/revenues/" + std::to_string(id), token);
    if (got.status != 200) ++stale;
    const auto days = http.request("GET", balances, token);
    if (days.status != 200) throw std::runtime_error("balances: " + days.body);
    const auto doc = days.json();
    const auto& items = doc.at("items").as_array();
    if (items.size() != 1 || items[0].at("revenue_cents").as_int64() != expected_revenue) {
      ++stale;
    }
  }
  return stale;
}

TEST(Replicas, ReadYourWritesWithAHealthyAndAPausedReplica) {
  InfraStack stack;
  const auto tokens = org_tokens(stack);
  auto options = stack.options(true, false);
  options.args = {"--replica-max-lag-ms", "1000"};
  auto server = stack.start(options);
  ASSERT_TRUE(until_in_rotation(*server, 1, 10s));
  HttpClient http(server->host(), server->port());
  const auto before =
      http.request("GET", "/v1/orgs/1/balances?from=" + utc_day() + "&to=" + utc_day(), tokens[1]);
  ASSERT_EQ(before.status, 200);
  const auto before_doc = before.json();
  const auto& rows = before_doc.at("items").as_array();
  std::int64_t expected = rows.empty() ? 0 : rows[0].at("revenue_cents").as_int64();

  // Other organizations read meanwhile, from the replica while it is in rotation.
  Load others(*server, 2, reader(tokens));
  EXPECT_EQ(write_then_read(http, tokens[1], 500, expected), 0) << "stale reads, healthy replica";
  const double redirects_healthy = scrape(*server, "folio_db_read_your_writes_redirects_total");
  EXPECT_GT(redirects_healthy, 0.0);
  EXPECT_GT(scrape(*server, kReplicaReads), 0.0);

  run_sql(stack.value("REPLICA_HEALTH_URLS"), "SELECT pg_wal_replay_pause()");
  const auto paused_at = std::chrono::steady_clock::now();
  EXPECT_EQ(write_then_read(http, tokens[1], 500, expected), 0) << "stale reads, paused replica";
  // Writes went on, so the paused replica is over the 1 s lag limit by now or soon.
  const auto out = until_in_rotation(*server, 0, 10s);
  ASSERT_TRUE(out.has_value()) << "the lagging replica never left rotation";
  EXPECT_LT(std::chrono::steady_clock::now() - paused_at, 30s);
  EXPECT_GT(scrape(*server, "folio_db_read_your_writes_redirects_total"), redirects_healthy);

  run_sql(stack.value("REPLICA_HEALTH_URLS"), "SELECT pg_wal_replay_resume()");
  EXPECT_TRUE(until_in_rotation(*server, 1, 20s))
      << "the replica did not return after replay resumed";
  others.stop();
  EXPECT_EQ(others.failures(), 0) << others.first_failure();
  EXPECT_EQ(scrape(*server, kFallbackReads), 0.0);
  EXPECT_EQ(server->stop(), 0);
}

// Two instances: org 1 writes through one and reads through the other, which has no local
// record of the write and must learn its position from Redis. The replica's replay is paused,
// so a read it served would miss the write, and the lag limit is long enough for the replica
// to stay in rotation throughout.
TEST(Replicas, ReadYourWritesAcrossInstancesThroughRedis) {
  InfraStack stack;
  const auto tokens = org_tokens(stack);
  auto options = stack.options(true, true);
  options.args = {"--replica-max-lag-ms", "60000"};
  auto writer = stack.start(options);
  auto reader_server = stack.start(options);
  for (auto* server : {writer.get(), reader_server.get()}) {
    ASSERT_TRUE(until_in_rotation(*server, 1, 10s));
  }
  HttpClient to_writer(writer->host(), writer->port());
  HttpClient to_reader(reader_server->host(), reader_server->port());
  run_sql(stack.value("REPLICA_HEALTH_URLS"), "SELECT pg_wal_replay_pause()");
  int stale = 0;
  for (int i = 0; i < 300; ++i) {
    const auto created =
        to_writer.request("POST", "/v1/orgs/1/revenues", tokens[1], revenue_today(5));
    ASSERT_EQ(created.status, 201) << created.body;
    const auto id = std::to_string(created.json().at("id").as_int64());
    if (to_reader.request("GET", "/v1/orgs/1/revenues/" + id, tokens[1]).status != 200) ++stale;
  }
  EXPECT_EQ(stale, 0);
  // The replica stayed in rotation and served others meanwhile: only org 1 was redirected.
  EXPECT_EQ(scrape(*reader_server, kInRotation), 1.0);
  EXPECT_GE(scrape(*reader_server, "folio_db_read_your_writes_redirects_total"), 300.0);
  HttpClient other(reader_server->host(), reader_server->port());
  const double replica_reads = scrape(*reader_server, kReplicaReads);
  EXPECT_EQ(other.request("GET", pnl_target(2), tokens[2]).status, 200);
  EXPECT_EQ(scrape(*reader_server, kReplicaReads), replica_reads + 1);
  run_sql(stack.value("REPLICA_HEALTH_URLS"), "SELECT pg_wal_replay_resume()");
  EXPECT_EQ(writer->stop(), 0);
  EXPECT_EQ(reader_server->stop(), 0);
}

}  // namespace
}  // namespace folio::test
