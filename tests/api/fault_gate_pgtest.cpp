// folio-server when the database goes silent: a fault gate (support/fault_gate.hpp) between
// the server's request pool and PgBouncer blackholes both directions under a read and write
// load. Every request answers within its deadline (the statement timeout plus a second, plus
// a margin for a loaded machine) and with 503 and Retry-After, never a hang or a 500; no
// client is stuck; when the gate heals, requests succeed again within 5 s by themselves.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>

#include "api_support.hpp"
#include "infra_support.hpp"
#include "support/fault_gate.hpp"

namespace folio::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kStatementTimeoutMs = 2000;
// The request pool's deadline is the statement timeout plus a second; the margin covers a
// sanitizer build on a loaded machine.
constexpr auto kDeadline = std::chrono::milliseconds(kStatementTimeoutMs) + 1s;
constexpr auto kMargin = 2s;

struct Outcome {
  Clock::time_point start;
  Clock::duration took;
  int status;
  bool retry_after;
};

std::string through(const std::string& url, std::uint16_t port) {
  // postgresql://user:pw@127.0.0.1:PORT/db -> the same with the gate's port
  const auto at = url.rfind('@');
  const auto colon = url.find(':', at);
  const auto slash = url.find('/', colon);
  return url.substr(0, colon + 1) + std::to_string(port) + url.substr(slash);
}

TEST(FaultGate, BlackholedDatabaseAnswers503WithinTheDeadlineAndRecoversByItself) {
  InfraStack stack(10);
  FaultGate gate("127.0.0.1", static_cast<std::uint16_t>(std::stoi(stack.value("PGBOUNCER_PORT"))));
  auto options = stack.options(false, false);
  options.env["FOLIO_STATEMENT_TIMEOUT_MS"] = std::to_string(kStatementTimeoutMs);
  options.env["FOLIO_POOL_ACQUIRE_TIMEOUT_MS"] = "1000";
  const ServerProcess server(through(stack.value("DATABASE_URL"), gate.port()), options);
  std::vector<std::string> tokens(11);
  for (std::int64_t org = 1; org <= 10; ++org) tokens[org] = stack.token(org);

  std::mutex mu;
  std::vector<Outcome> outcomes;
  Load load(server, 4, [&](HttpClient& http, int client, int i, std::string& why) {
    const std::int64_t org = 1 + (client * 7 + i) % 10;
    const auto start = Clock::now();
    const auto res =
        i % 3 == 0
            ? http.request("POST", "/v1/orgs/" + std::to_string(org) + "/revenues", tokens[org],
                           R"({"category":"room","amount_cents":100,"occurred_at":")" + utc_day() +
                               R"(T10:00:00Z"})")
            : http.request("GET",
                           "/v1/orgs/" + std::to_string(org) + "/revenues?from=" + utc_day(-30) +
                               "&to=" + utc_day() + "&limit=10",
                           tokens[org]);
    {
      std::lock_guard lock(mu);
      outcomes.push_back(
          {start, Clock::now() - start, res.status, !res.header("retry-after").empty()});
    }
    if (res.status < 300) return true;
    why = std::to_string(res.status) + " " + res.body;
    return false;
  });
  const auto count_ok_since = [&](Clock::time_point since) {
    std::lock_guard lock(mu);
    return std::count_if(outcomes.begin(), outcomes.end(),
                         [&](const Outcome& o) { return o.start >= since && o.status < 300; });
  };
  const auto warm = Clock::now();
  while (count_ok_since(warm) < 20) std::this_thread::sleep_for(100ms);
  ASSERT_EQ(load.failures(), 0) << load.first_failure();

  gate.set(FaultGate::blackhole);
  const auto fault = Clock::now();
  std::this_thread::sleep_for(10s);
  gate.heal();
  const auto healed = Clock::now();

  // Back by itself: successes again within 5 s of the heal (polled, not slept).
  while (Clock::now() - healed < 15s && count_ok_since(healed) < 10) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GE(count_ok_since(healed), 10) << "no recovery within 15 s of the heal";
  load.stop();

  std::lock_guard lock(mu);
  int during = 0;
  int first_ok_after_heal_ms = -1;
  for (const auto& o : outcomes) {
    if (o.start < fault || o.start >= healed) continue;
    ++during;
    SCOPED_TRACE(
        "request started " +
        std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(o.start - fault).count()) +
        " ms into the blackhole");
    EXPECT_LE(o.took, kDeadline + kMargin);
    // Requests sent before the heal but answered after it may succeed; the rest are 503s.
    if (o.start + o.took < healed) {
      EXPECT_EQ(o.status, 503);
      EXPECT_TRUE(o.retry_after);
    }
  }
  EXPECT_GT(during, 4) << "the load stalled during the blackhole";
  for (const auto& o : outcomes) {
    if (o.start < healed || o.status >= 300) continue;
    const int ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(o.start + o.took - healed).count());
    if (first_ok_after_heal_ms < 0 || ms < first_ok_after_heal_ms) first_ok_after_heal_ms = ms;
  }
  EXPECT_GE(first_ok_after_heal_ms, 0);
  EXPECT_LT(first_ok_after_heal_ms, 5000);
  // Nothing the clients gave up on still runs on the server.
  EXPECT_EQ(scalar(stack.value("DATABASE_DIRECT_URL"),
                   "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                   "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                   "AND query_start < now() - interval '3 s'"),
            0);
}

}  // namespace
}  // namespace folio::test
