// /readyz checks the path requests take, on a private stack: with PgBouncer's `folio`
// database paused (PAUSE on its admin console: it keeps accepting clients and statements and
// answers none), the direct endpoint still answers, yet /readyz turns 503 naming the request
// pool within 3 s, and 200 again after RESUME. Probes coming faster than checks finish share
// one check: a burst of them leaves at most one statement waiting in PgBouncer.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>

#include "infra_support.hpp"

namespace folio::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Runs one command on PgBouncer's admin console (simple protocol, through psql); its output.
std::string admin(const InfraStack& stack, const std::string& command) {
  const std::string line = stack.value("PG_BIN") + "/psql -X --csv -c '" + command + "' '" +
                           stack.value("PGBOUNCER_ADMIN_URL") + "' 2>&1";
  FILE* pipe = ::popen(line.c_str(), "r");
  std::string out;
  char buf[4096];
  while (pipe != nullptr && std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  if (pipe == nullptr || ::pclose(pipe) != 0) throw std::runtime_error(command + ": " + out);
  return out;
}

// cl_waiting of the `folio` pool in SHOW POOLS: clients with a statement waiting for a server.
int waiting_clients(const InfraStack& stack) {
  std::istringstream lines(admin(stack, "SHOW POOLS"));
  std::string header;
  std::getline(lines, header);
  std::vector<std::string> names;
  std::istringstream h(header);
  for (std::string cell; std::getline(h, cell, ',');) names.push_back(cell);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    if (cells.empty() || cells[0] != "folio") continue;
    for (std::size_t i = 0; i < names.size() && i < cells.size(); ++i) {
      if (names[i] == "cl_waiting") return std::stoi(cells[i]);
    }
  }
  throw std::runtime_error("no folio pool in SHOW POOLS");
}

// Polls /readyz until its status is `status`; the answer and how long it took, or nullopt.
std::optional<std::pair<HttpResponse, std::chrono::milliseconds>> until_ready_status(
    HttpClient& http, int status, std::chrono::milliseconds timeout) {
  const auto start = Clock::now();
  while (Clock::now() - start < timeout) {
    auto res = http.request("GET", "/readyz");
    if (res.status == status) {
      return std::pair{std::move(res),
                       std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)};
    }
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

TEST(Readyz, PausedPgBouncerIsNotReadyWithinThreeSecondsAndResumeIsReadyAgain) {
  InfraStack stack(3);
  auto server = stack.start(stack.options(false, false));
  HttpClient http(server->host(), server->port(), 30s);
  ASSERT_EQ(http.request("GET", "/readyz").status, 200);
  const auto token = stack.token(1);
  const std::string balances = "/v1/orgs/1/balances?from=" + utc_day(-30) + "&to=" + utc_day();
  ASSERT_EQ(http.request("GET", balances, token).status, 200);  // the pool has a connection

  admin(stack, "PAUSE folio");
  const auto unready = until_ready_status(http, 503, 10s);
  ASSERT_TRUE(unready.has_value()) << "/readyz stayed 200 with PgBouncer paused";
  EXPECT_LT(unready->second, 3000ms);
  const auto body = unready->first.json();
  EXPECT_EQ(body.at("failed_check").as_string(), "request_pool") << unready->first.body;
  EXPECT_NE(body.at("message").as_string().find("request pool 'primary'"), std::string::npos)
      << unready->first.body;

  // A burst of probes while paused: each answers within the check's deadline (plus a margin
  // for a busy machine), and they share checks instead of each sending a statement.
  std::atomic<int> answered{0};
  std::atomic<long> slowest_ms{0};
  std::vector<std::thread> probes;
  for (int i = 0; i < 20; ++i) {
    probes.emplace_back([&] {
      HttpClient own(server->host(), server->port(), 30s);
      for (int j = 0; j < 5; ++j) {
        const auto start = Clock::now();
        const auto res = own.request("GET", "/readyz");
        const long took =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        for (long seen = slowest_ms.load(); took > seen;) {
          if (slowest_ms.compare_exchange_weak(seen, took)) break;
        }
        if (res.status == 503) ++answered;
      }
    });
  }
  int most_waiting = 0;
  for (int i = 0; i < 10; ++i) {
    most_waiting = std::max(most_waiting, waiting_clients(stack));
    std::this_thread::sleep_for(100ms);
  }
  for (auto& t : probes) t.join();
  EXPECT_EQ(answered.load(), 100);
  EXPECT_LT(slowest_ms.load(), 2500) << "a probe waited past the check's deadline";
  EXPECT_LE(most_waiting, 1) << "probes piled up statements in PgBouncer";

  admin(stack, "RESUME folio");
  const auto ready = until_ready_status(http, 200, 10s);
  ASSERT_TRUE(ready.has_value()) << "/readyz did not recover after RESUME";
  EXPECT_LT(ready->second, 3000ms);
  std::cout << "not ready " << unready->second.count() << " ms after PAUSE, ready "
            << ready->second.count() << " ms after RESUME; slowest probe of the burst "
            << slowest_ms.load() << " ms, at most " << most_waiting
            << " statement(s) waiting in PgBouncer\n";
  EXPECT_EQ(http.request("GET", balances, token).status, 200);
  EXPECT_EQ(server->stop(), 0);
}

}  // namespace
}  // namespace folio::test
