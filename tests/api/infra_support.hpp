// Helpers for the replica, cache and PgBouncer suites: a private stack (tests stop and pause
// its servers) with the folio database migrated and seeded, folio-server started on it
// through PgBouncer, /metrics parsing, and a client load that counts failures.
//
// Thread-safety: InfraStack and ServerProcess on the test's thread; ReadLoad runs its own
// client threads and is read through atomics.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api_support.hpp"
#include "support/http_client.hpp"
#include "support/own_stack.hpp"
#include "support/server_process.hpp"

namespace folio::test {

// A series of a running server, 0 when absent.
inline double scrape(const ServerProcess& server, const std::string& series) {
  HttpClient http(server.host(), server.port(), std::chrono::seconds(10));
  const auto res = http.request("GET", "/metrics");
  if (res.status != 200)
    throw std::runtime_error("/metrics answered " + std::to_string(res.status));
  return metric(res.body, series).value_or(0.0);
}

// Polls `series` until `done(value)` or `timeout`; returns the time it took, or nullopt.
inline std::optional<std::chrono::milliseconds> until_series(
    const ServerProcess& server, const std::string& series, const std::function<bool(double)>& done,
    std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < timeout) {
    if (done(scrape(server, series))) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

// Polls `done` every 50 ms until it holds or `timeout` passes; whether it held.
inline bool until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// "YYYY-MM-DD" of today (UTC) plus `offset` days.
inline std::string utc_day(int offset = 0) {
  using namespace std::chrono;
  const year_month_day d{floor<days>(system_clock::now()) + days(offset)};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return text;
}

// A revenue body for today: {"category":"room","amount_cents":N,"occurred_at":"<today>T12:00:00Z"}.
inline std::string revenue_today(std::int64_t amount_cents) {
  return R"({"category":"room","amount_cents":)" + std::to_string(amount_cents) +
         R"(,"occurred_at":")" + utc_day() + R"(T12:00:00Z"})";
}

// Polls folio_replicas_in_rotation until it equals `replicas`; the time it took, or nullopt.
inline std::optional<std::chrono::milliseconds> until_in_rotation(
    const ServerProcess& server, double replicas, std::chrono::milliseconds timeout) {
  return until_series(
      server, "folio_replicas_in_rotation", [replicas](double v) { return v == replicas; },
      timeout);
}

class InfraStack {
 public:
  // Migrates the stack's folio database and seeds `orgs` organizations (legacy tables).
  explicit InfraStack(int orgs = 20) {
    const std::string direct = "'" + stack_.value("DATABASE_DIRECT_URL") + "'";
    auto r = folioctl("migrate --database-url " + direct);
    if (r.exit_code != 0) throw std::runtime_error("migrate failed:\n" + r.output);
    r = folioctl("seed --orgs " + std::to_string(orgs) +
                 " --rows-per-org 5 --months 3 --seed 7 --database-url " + direct);
    if (r.exit_code != 0) throw std::runtime_error("seed failed:\n" + r.output);
  }

  OwnStack& stack() { return stack_; }
  const std::string& value(const std::string& key) const { return stack_.value(key); }
  std::string token(std::int64_t org) {
    return create_token(stack_.value("DATABASE_DIRECT_URL"), auth::Scope::org, org);
  }

  // folio-server on PgBouncer (DATABASE_URL), LISTEN and readiness direct; with the replica
  // through PgBouncer (health checks direct) and/or the Redis cache; scraped by this stack's
  // Prometheus, so its faults raise alerts there and not on the shared stack. Every setting
  // is given explicitly, so nothing is inherited from the test's environment.
  ServerProcessOptions options(bool replicas, bool cache) const {
    ServerProcessOptions o;
    o.direct_database_url = stack_.value("DATABASE_DIRECT_URL");
    o.prometheus_targets_dir = stack_.value("PROMETHEUS_TARGETS_DIR");
    o.env["REPLICA_URLS"] = replicas ? stack_.value("REPLICA_URLS") : "";
    o.env["REPLICA_HEALTH_URLS"] = replicas ? stack_.value("REPLICA_HEALTH_URLS") : "";
    o.env["REDIS_URL"] = cache ? stack_.value("REDIS_URL") : "";
    o.env["REDIS_CA_FILE"] = cache ? stack_.value("REDIS_CA_FILE") : "";
    // The 100 ms default deadline of a Redis round trip is for a slow Redis; on a busy
    // machine the server's own worker can take longer to resume the call, and a missed
    // deadline counts as a failure (the breaker opens, reads leave the replica for the
    // primary). None of these tests is about that deadline (tests/cache is), so it is set out
    // of reach of scheduling delays; a stopped Redis still fails every call at once.
    o.env["FOLIO_REDIS_COMMAND_TIMEOUT_MS"] = "2000";
    return o;
  }
  std::unique_ptr<ServerProcess> start(ServerProcessOptions options) const {
    return std::make_unique<ServerProcess>(stack_.value("DATABASE_URL"), std::move(options));
  }

 private:
  OwnStack stack_;
};

// `clients` threads, each with its own keep-alive connection, calling `request(http, i)` in
// a loop (i counts that thread's calls) until stop(). A call that throws or returns false is
// a failure; the first one's message is kept.
class Load {
 public:
  using Request = std::function<bool(HttpClient&, int client, int i, std::string& why)>;

  Load(const ServerProcess& server, int clients, Request request) {
    for (int c = 0; c < clients; ++c) {
      threads_.emplace_back([this, &server, c, request] {
        HttpClient http(server.host(), server.port(), std::chrono::seconds(60));
        for (int i = 0; !stop_.load(); ++i) {
          std::string why;
          bool ok = false;
          const auto start = std::chrono::steady_clock::now();
          try {
            ok = request(http, c, i, why);
          } catch (const std::exception& e) {
            why = e.what();
            http.close();
          }
          const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count();
          for (auto seen = slowest_ms_.load(); took > seen;) {
            if (slowest_ms_.compare_exchange_weak(seen, took)) break;
          }
          ++requests_;
          if (!ok) fail(why);
        }
      });
    }
  }
  ~Load() { stop(); }

  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int requests() const { return requests_.load(); }
  int failures() const { return failures_.load(); }
  // The slowest call so far; reset_slowest() starts a new window.
  long slowest_ms() const { return slowest_ms_.load(); }
  void reset_slowest() { slowest_ms_ = 0; }
  std::string first_failure() {
    std::lock_guard lock(mu_);
    return first_failure_;
  }

 private:
  void fail(const std::string& why) {
    if (failures_++ == 0) {
      std::lock_guard lock(mu_);
      first_failure_ = why;
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> failures_{0};
  std::atomic<long> slowest_ms_{0};
  std::mutex mu_;
  std::string first_failure_;
  std::vector<std::thread> threads_;
};

}  // namespace folio::test
