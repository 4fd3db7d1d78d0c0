// The Redis cache through the API, on a private stack: write-then-read cycles never see a
// stale report, Redis stopped under load fails open and hits resume after its restart, and
// a wrong CA or password is refused at start (or served around with --cache-fail-open).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>

#include "infra_support.hpp"

namespace folio::test {
namespace {

using namespace std::chrono_literals;

std::string requests(const char* kind, const char* result) {
  return std::string(R"(folio_cache_requests_total{kind=")") + kind + R"(",result=")" + result +
         "\"}";
}

std::string today_pnl() {
  return "/v1/orgs/1/reports/pnl?from=" + utc_day() + "&to=" + utc_day() + "&granularity=day";
}

std::int64_t pnl_revenue(HttpClient& http, const std::string& token) {
  const auto res = http.request("GET", today_pnl(), token);
  if (res.status != 200) throw std::runtime_error("pnl: " + res.body);
  const auto doc = res.json();
  return doc.at("items").as_array().at(0).at("revenue_cents").as_int64();
}

TEST(Cache, WriteThenReadIsNeverStale) {
  InfraStack stack;
  const auto token = stack.token(1);
  auto server = stack.start(stack.options(true, true));
  HttpClient http(server->host(), server->port());
  std::int64_t expected = pnl_revenue(http, token);
  int stale = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::int64_t amount = 10 + i % 13;
    const auto created = http.request("POST", "/v1/orgs/1/revenues", token, revenue_today(amount));
    ASSERT_EQ(created.status, 201) << created.body;
    expected += amount;
    if (pnl_revenue(http, token) != expected) ++stale;  // first read after the write: a miss
    if (pnl_revenue(http, token) != expected) ++stale;  // second: served from the cache
  }
  EXPECT_EQ(stale, 0);
  EXPECT_GE(scrape(*server, requests("pnl", "hit")), 1000.0);
  EXPECT_GE(scrape(*server, requests("pnl", "miss")), 1000.0);
  EXPECT_GE(scrape(*server, R"(folio_cache_invalidations_total{reason="write"})"), 1000.0);
  EXPECT_EQ(scrape(*server, requests("pnl", "error")), 0.0);
  EXPECT_EQ(server->stop(), 0);
}

TEST(Cache, StoppedRedisFailsOpenAndHitsResume) {
  InfraStack stack;
  std::vector<std::string> tokens(10);
  for (std::int64_t org = 1; org < 10; ++org) tokens[org] = stack.token(org);
  auto server = stack.start(stack.options(false, true));
  Load load(*server, 8, [&tokens](HttpClient& http, int client, int i, std::string& why) {
    const std::int64_t org = 1 + (client + i) % 9;
    const std::string target = "/v1/orgs/" + std::to_string(org) +
                               "/reports/pnl?from=" + utc_day(-60) + "&to=" + utc_day() +
                               "&granularity=month";
    const auto res = http.request("GET", target, tokens[org]);
    if (res.status == 200) return true;
    why = target + " -> " + std::to_string(res.status) + " " + res.body;
    return false;
  });
  EXPECT_TRUE(until([&] { return scrape(*server, requests("pnl", "hit")) > 0; }, 30s))
      << "no cache hits with Redis up";

  // Redis round trips of the lookups that took over 1 s, so far (both series from one
  // scrape: lookups go on between two).
  const auto slow_lookups = [&server] {
    HttpClient http(server->host(), server->port(), std::chrono::seconds(10));
    const auto res = http.request("GET", "/metrics");
    if (res.status != 200) throw std::runtime_error("/metrics: " + std::to_string(res.status));
    const std::string series = R"(folio_cache_operation_duration_seconds)";
    return metric(res.body, series + R"(_count{op="lookup"})").value_or(0) -
           metric(res.body, series + R"(_bucket{op="lookup",le="1"})").value_or(0);
  };
  const double slow_lookups_before = slow_lookups();
  stack.stack().component("stop-redis");
  const auto stopped_at = std::chrono::steady_clock::now();
  load.reset_slowest();
  // At least 3 s of outage (the breaker opens, probes after 1 s, opens again), and until
  // the breaker has bypassed Redis and 100 requests were served around it.
  const int requests_at_stop = load.requests();
  EXPECT_TRUE(until(
      [&] {
        return std::chrono::steady_clock::now() - stopped_at >= 3s &&
               load.requests() >= requests_at_stop + 100 &&
               scrape(*server, requests("pnl", "bypass")) > 0;
      },
      60s))
      << "the breaker should open and bypass Redis, and requests go on";
  const long slowest_during_outage = load.slowest_ms();
  EXPECT_GT(scrape(*server, requests("pnl", "error")), 0.0);
  // Opened, and not closed since: open (2) or probing (1, half-open) at this moment.
  EXPECT_GE(scrape(*server, R"(folio_cache_breaker_transitions_total{breaker="redis",to="open"})"),
            1.0);
  EXPECT_GE(scrape(*server, R"(folio_cache_breaker_state{breaker="redis"})"), 1.0);
  // A stopped Redis refuses at once: no Redis call may wait (for a reconnect, a timeout),
  // measured inside the server on the calls themselves, where a busy machine adds little.
  EXPECT_EQ(slow_lookups(), slow_lookups_before) << "Redis calls slowed down while it was down";
  // Whole requests include computing the report and the machine's load: only a stall fails.
  EXPECT_LT(slowest_during_outage, 5000) << "requests slowed down while Redis was down";

  stack.stack().component("start-redis");
  const double hits = scrape(*server, requests("pnl", "hit"));
  const auto resumed = until_series(
      *server, requests("pnl", "hit"), [hits](double v) { return v > hits + 10; }, 60s);
  EXPECT_TRUE(resumed.has_value()) << "cache hits did not resume after Redis restarted";
  load.stop();
  EXPECT_GT(load.requests(), 100);
  EXPECT_EQ(load.failures(), 0) << load.first_failure();
  EXPECT_EQ(server->stop(), 0);
}

// Runs folio-server with Redis settings that will be refused, as a plain process (it must
// exit before it listens); returns its exit code and output.
std::pair<int, std::string> start_refused(InfraStack& stack, const ServerProcessOptions& options) {
  std::string command = "env DATABASE_URL='" + stack.value("DATABASE_URL") +
                        "' DATABASE_DIRECT_URL='" + options.direct_database_url +
                        "' FOLIO_LISTEN=127.0.0.1:0";
  for (const auto& [name, value] : options.env) command += " " + name + "='" + value + "'";
  command += " timeout 30 " + std::string(FOLIO_SERVER_PATH) + " </dev/null 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buf[4096];
  while (pipe != nullptr && std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  const int status = pipe == nullptr ? -1 : ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

void expect_fail_open(InfraStack& stack, ServerProcessOptions options, const std::string& token) {
  options.env["FOLIO_CACHE_FAIL_OPEN"] = "true";
  auto server = stack.start(options);
  HttpClient http(server->host(), server->port());
  const auto ready = http.request("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.json().at("cache").as_string(), "bypassed");
  EXPECT_GE(pnl_revenue(http, token), 0);
  EXPECT_GE(scrape(*server, requests("pnl", "bypass")), 1.0);
  EXPECT_NE(server->log().find("serving without the cache"), std::string::npos) << server->log();
  EXPECT_EQ(server->stop(), 0);
}

TEST(Cache, WrongCaIsRefusedAtStartOrFailsOpen) {
  InfraStack stack;
  const auto token = stack.token(1);
  auto options = stack.options(false, true);
  options.env["REDIS_CA_FILE"] = stack.value("REDIS_WRONG_CA_FILE");
  const auto [code, log] = start_refused(stack, options);
  EXPECT_EQ(code, 1) << log;
  EXPECT_NE(log.find("certificate"), std::string::npos) << log;
  expect_fail_open(stack, options, token);
}

TEST(Cache, WrongPasswordIsRefusedAtStartOrFailsOpen) {
  InfraStack stack;
  const auto token = stack.token(1);
  auto options = stack.options(false, true);
  std::string url = stack.value("REDIS_URL");
  const std::string password = stack.value("REDIS_PASSWORD");
  url.replace(url.find(password), password.size(), "not-the-password");
  options.env["REDIS_URL"] = url;
  const auto [code, log] = start_refused(stack, options);
  EXPECT_EQ(code, 1) << log;
  EXPECT_NE(log.find("WRONGPASS"), std::string::npos) << log;
  EXPECT_EQ(log.find("not-the-password"), std::string::npos) << "the password leaked:\n" << log;
  expect_fail_open(stack, options, token);
}

}  // namespace
}  // namespace folio::test
