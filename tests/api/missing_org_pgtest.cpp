// An organization that does not exist, named with an admin token (which may act on any id):
// every endpoint — reads as well as writes — answers 404 not_found with the body of every
// other 404, and nothing reaches the Redis cache for it, however often it is asked, so ids
// cannot fill the cache. Organizations that exist, with or without data, answer as before,
// and their reports are cached.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "api_support.hpp"
#include "fingerprint.hpp"
#include "folio/cache/redis_config.hpp"
#include "folio/cache/redis_connection.hpp"
#include "support/cutover_database.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/stack_env.hpp"

namespace folio::test {
namespace {

namespace asio = boost::asio;

// This suite's own keyspace on the shared stack's Redis: nothing else uses database 9.
constexpr int kRedisDb = 9;

cache::RedisConfig redis_config() {
  auto config = cache::RedisConfig::from_url(stack_value("REDIS_URL"));
  config.db = kRedisDb;
  config.ca_file = stack_value("REDIS_CA_FILE");
  return config;
}

// The REDIS_URL of the stack with this suite's database number.
std::string redis_url() {
  std::string url = stack_value("REDIS_URL");
  return url.substr(0, url.rfind('/') + 1) + std::to_string(kRedisDb);
}

// The keys matching `pattern` (SCAN, so a large keyspace is walked in steps).
std::vector<std::string> keys(const std::string& pattern) {
  return run_async([&](asio::io_context& io) -> asio::awaitable<std::vector<std::string>> {
    auto redis = co_await cache::RedisConnection::connect(io.get_executor(), redis_config());
    std::vector<std::string> out;
    std::string cursor = "0";
    do {
      const cache::Reply reply =
          co_await redis->command("SCAN", cursor, "MATCH", pattern, "COUNT", std::string("1000"));
      cursor = reply.elements().at(0).as_string();
      for (const auto& key : reply.elements().at(1).elements()) out.push_back(key.as_string());
    } while (cursor != "0");
    co_return out;
  });
}

void delete_keys(const std::string& pattern) {
  for (const auto& key : keys(pattern)) {
    run_async([&](asio::io_context& io) -> asio::awaitable<void> {
      auto redis = co_await cache::RedisConnection::connect(io.get_executor(), redis_config());
      co_await redis->command("DEL", key);
    });
  }
}

const std::string kRange = "from=2026-08-01&to=2026-10-31";

// Every read endpoint of `org` (entry ids that exist in the seeded organizations).
std::vector<std::string> reads(std::int64_t org) {
  const std::string base = "/v1/orgs/" + std::to_string(org);
  return {
      base + "/revenues?" + kRange,
      base + "/expenses?" + kRange + "&limit=5",
      base + "/revenues/1",
      base + "/expenses/2",
      base + "/balances?" + kRange,
      base + "/reports/pnl?" + kRange,
      base + "/reports/pnl?" + kRange + "&granularity=month",
      base + "/reports/categories?" + kRange + "&kind=revenue",
      base + "/reports/categories?" + kRange + "&kind=expense",
      base + "/reports/balance-history?" + kRange,
  };
}

class MissingOrganization : public ::testing::Test {
 protected:
  MissingOrganization()
      : db_("api_missing_org", 2, 10, 3),
        admin_(issue_token(db_.dsn(), auth::Scope::admin)),
        token1_(issue_token(db_.dsn(), auth::Scope::org, 1)) {
    delete_keys("folio:*");  // what an earlier run left
    ServerProcessOptions options;
    options.env["REDIS_URL"] = redis_url();
    options.env["REDIS_CA_FILE"] = stack_value("REDIS_CA_FILE");
    server_.emplace(db_.dsn(), options);
    http_.emplace(server_->host(), server_->port());
  }

  // The missing organization's id: no seeded organization has it, and it is this process's
  // own, so no other run's keys could be taken for its own.
  const std::int64_t missing_ = 900'000'000 + ::getpid();
  CutoverDatabase db_;
  std::string admin_, token1_;
  std::optional<ServerProcess> server_;
  std::optional<HttpClient> http_;
};

TEST_F(MissingOrganization, EveryEndpointIs404AndWritesNoCacheKey) {
  // The body every 404 of an organization has: here, organization 2 seen with 1's token.
  const auto foreign = http_->request("GET", "/v1/orgs/2/balances?" + kRange, token1_);
  ASSERT_EQ(foreign.status, 404);
  const auto before = table_fingerprint(db_.dsn());

  const std::string base = "/v1/orgs/" + std::to_string(missing_);
  for (int round = 0; round < 3; ++round) {  // a second or third call is no cache hit either
    for (const auto& target : reads(missing_)) {
      const auto res = http_->request("GET", target, admin_);
      EXPECT_EQ(res.status, 404) << target << " -> " << res.body;
      EXPECT_EQ(res.body, foreign.body) << target;
    }
  }
  const std::string revenue =
      R"({"category":"room","amount_cents":4200,"occurred_at":"2026-10-05T10:00:00Z"})";
  for (const auto& [method, target, body] :
       std::vector<std::tuple<std::string, std::string, std::optional<std::string>>>{
           {"POST", base + "/revenues", revenue},
           {"POST", base + "/expenses",
            R"({"category":"payroll","amount_cents":1,)"
            R"("occurred_at":"2026-10-05T10:00:00Z"})"},
           {"PATCH", base + "/revenues/1", R"({"amount_cents":1})"},
           {"PATCH", base + "/expenses/2", R"({"vendor":null})"},
           {"DELETE", base + "/revenues/1", std::nullopt},
       }) {
    const auto res = http_->request(method, target, admin_, body);
    EXPECT_EQ(res.status, 404) << method << " " << target << " -> " << res.body;
    EXPECT_EQ(res.json().at("error").at("code").as_string(), "not_found") << target;
  }
  EXPECT_EQ(table_fingerprint(db_.dsn()), before);

  const auto leaked = keys("*{" + std::to_string(missing_) + "}*");
  EXPECT_TRUE(leaked.empty()) << leaked.size() << " keys, e.g. " << leaked.at(0);
  // The server did use the cache meanwhile: report lookups were made (and missed).
  const auto metrics = http_->request("GET", "/metrics").body;
  EXPECT_GE(
      metric(metrics, R"(folio_cache_requests_total{kind="pnl",result="miss"})").value_or(0.0),
      6.0);
  EXPECT_EQ(server_->stop(), 0);
}

TEST_F(MissingOrganization, ExistingOrganizationsAnswerAndAreCachedAsBefore) {
  // One organization with data, one created without any: both exist.
  scalar(db_.dsn(),
         "WITH o AS (INSERT INTO organizations (id, name, currency, timezone) "
         "VALUES (3, 'empty', 'EUR', 'UTC') RETURNING 1) SELECT count(*) FROM o");
  for (const std::int64_t org : {1, 3}) {
    std::vector<std::string> first;
    for (int round = 0; round < 3; ++round) {
      for (std::size_t i = 0; const auto& target : reads(org)) {
        const auto res = http_->request("GET", target, admin_);
        const bool entry = target.find("/revenues/") != std::string::npos ||
                           target.find("/expenses/") != std::string::npos;
        // Entry 1 and 2 belong to organization 1 (or another); organization 3 has none.
        if (entry) {
          EXPECT_TRUE(res.status == 200 || res.status == 404) << target << " -> " << res.body;
          if (org == 3) {
            EXPECT_EQ(res.status, 404) << target;
            EXPECT_NE(res.body.find("no such"), std::string::npos) << res.body;
          }
          continue;
        }
        EXPECT_EQ(res.status, 200) << target << " -> " << res.body;
        if (round == 0) {
          first.push_back(res.body);
        } else {
          EXPECT_EQ(res.body, first.at(i)) << target;  // cached or not, the same answer
        }
        ++i;
      }
    }
    const std::string tag = "{" + std::to_string(org) + "}";
    EXPECT_EQ(keys("folio:" + tag + ":v").size(), 1u) << org;
    // pnl twice (day, month), categories twice, balances, balance-history.
    EXPECT_EQ(keys("folio:" + tag + ":*:*").size(), 6u) << org;
  }
  const auto empty_pnl = http_->request("GET", reads(3).at(5), admin_).json();
  for (const auto& item : empty_pnl.at("items").as_array()) {
    EXPECT_EQ(item.at("revenue_cents").as_int64(), 0);
  }
  const auto metrics = http_->request("GET", "/metrics").body;
  EXPECT_GE(metric(metrics, R"(folio_cache_requests_total{kind="pnl",result="hit"})").value_or(0.0),
            4.0);
  EXPECT_EQ(server_->stop(), 0);
}

}  // namespace
}  // namespace folio::test
