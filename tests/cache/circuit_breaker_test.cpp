// CircuitBreaker on a fake clock: the threshold, one probe at a time in half-open, open_for
// doubling up to its cap, recovery, and many threads racing for the single probe.
#include "folio/cache/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::cache {
namespace {

using namespace std::chrono_literals;
using Clock = CircuitBreaker::Clock;

// A breaker with its own metric series and a clock the test moves by hand.
class BreakerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = std::string("test_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  std::unique_ptr<CircuitBreaker> breaker(CircuitBreakerOptions options) {
    auto b = std::make_unique<CircuitBreaker>(options, name_);
    b->set_clock_for_tests([this] { return now_.load(); });
    return b;
  }
  void advance(std::chrono::milliseconds by) { now_.store(now_.load() + by); }
  double transitions(const char* to) {
    return obs::Registry::global()
        .counter("folio_cache_breaker_transitions_total",
                 "Transitions of the Redis circuit breaker, by the state entered.",
                 {{"breaker", name_}, {"to", to}})
        .value();
  }
  double state_gauge() {
    return obs::Registry::global()
        .gauge("folio_cache_breaker_state",
               "State of the Redis circuit breaker: 0 closed, 1 half-open, 2 open.",
               {{"breaker", name_}})
        .value();
  }

  std::string name_;
  std::atomic<Clock::time_point> now_{Clock::time_point(std::chrono::hours(1000))};
};

TEST_F(BreakerTest, OpensAfterThresholdConsecutiveFailures) {
  auto b = breaker({.failure_threshold = 3, .open_for = 1000ms});
  EXPECT_EQ(b->state(), BreakerState::closed);
  b->record_failure();
  b->record_failure();
  b->record_success();  // breaks the streak
  b->record_failure();
  b->record_failure();
  EXPECT_EQ(b->state(), BreakerState::closed);
  EXPECT_TRUE(b->allow());
  b->record_failure();
  EXPECT_EQ(b->state(), BreakerState::open);
  EXPECT_FALSE(b->allow());
  EXPECT_EQ(state_gauge(), 2.0);
  EXPECT_EQ(transitions("open"), 1.0);
  // Failures of calls let through before it opened change nothing.
  b->record_failure();
  EXPECT_EQ(transitions("open"), 1.0);
}

TEST_F(BreakerTest, OneProbeAfterOpenForThenSuccessCloses) {
  auto b = breaker({.failure_threshold = 1, .open_for = 1000ms});
  b->record_failure();
  advance(999ms);
  EXPECT_FALSE(b->allow());
  advance(1ms);
  EXPECT_TRUE(b->allow());  // the probe
  EXPECT_EQ(b->state(), BreakerState::half_open);
  EXPECT_EQ(state_gauge(), 1.0);
  EXPECT_FALSE(b->allow());
  EXPECT_FALSE(b->allow());
  b->record_success();
  EXPECT_EQ(b->state(), BreakerState::closed);
  EXPECT_EQ(state_gauge(), 0.0);
  EXPECT_TRUE(b->allow());
  EXPECT_TRUE(b->allow());
  EXPECT_EQ(transitions("half_open"), 1.0);
  EXPECT_EQ(transitions("closed"), 1.0);
}

TEST_F(BreakerTest, FailedProbesDoubleOpenForUpToTheCap) {
  auto b = breaker({.failure_threshold = 2, .open_for = 100ms, .max_open_for = 500ms});
  b->record_failure();
  b->record_failure();
  // Expected open periods: 100, then 200, 400, 500, 500 after failed probes.
  for (const auto period : {100ms, 200ms, 400ms, 500ms, 500ms}) {
    advance(period - 1ms);
    EXPECT_FALSE(b->allow()) << period.count();
    advance(1ms);
    EXPECT_TRUE(b->allow()) << period.count();
    EXPECT_FALSE(b->allow());
    b->record_failure();
    EXPECT_EQ(b->state(), BreakerState::open);
  }
  // A success resets open_for to its first value.
  advance(500ms);
  ASSERT_TRUE(b->allow());
  b->record_success();
  b->record_failure();
  b->record_failure();
  advance(100ms);
  EXPECT_TRUE(b->allow());
}

TEST_F(BreakerTest, TripOpensAtOnce) {
  auto b = breaker({.open_for = 300ms});
  b->trip();
  EXPECT_EQ(b->state(), BreakerState::open);
  EXPECT_FALSE(b->allow());
  advance(300ms);
  EXPECT_TRUE(b->allow());
  b->record_success();
  EXPECT_EQ(b->state(), BreakerState::closed);
}

TEST_F(BreakerTest, LostProbeIsReplacedAfterProbeTimeout) {
  auto b = breaker({.failure_threshold = 1, .open_for = 100ms, .probe_timeout = 1000ms});
  b->record_failure();
  advance(100ms);
  EXPECT_TRUE(b->allow());  // this probe never reports
  advance(999ms);
  EXPECT_FALSE(b->allow());
  advance(1ms);
  EXPECT_TRUE(b->allow());
  EXPECT_FALSE(b->allow());
}

TEST_F(BreakerTest, ThreadsHammeringAllowGetExactlyOneProbe) {
  auto b = breaker({.failure_threshold = 1, .open_for = 1000ms});
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 20000;
  for (int round = 0; round < 5; ++round) {
    b->record_failure();
    ASSERT_EQ(b->state(), BreakerState::open);
    advance(std::chrono::milliseconds(30000));  // past any (doubled) open_for
    std::atomic<int> granted{0};
    std::barrier start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        for (int i = 0; i < kCallsPerThread; ++i) {
          if (b->allow()) granted.fetch_add(1);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(granted.load(), 1) << "round " << round;
    EXPECT_EQ(b->state(), BreakerState::half_open);
    b->record_success();
    EXPECT_EQ(b->state(), BreakerState::closed);
  }
}

TEST_F(BreakerTest, ConcurrentSuccessesAndFailuresKeepAValidState) {
  obs::set_log_level(obs::Level::kError);  // it opens and closes thousands of times
  auto b = breaker({.failure_threshold = 3, .open_for = 1ms, .max_open_for = 1ms});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        if (b->allow()) {
          if ((i / 7 + t) % 2 == 0) {  // streaks of failures and of successes
            b->record_failure();
          } else {
            b->record_success();
          }
        }
        if (i % 10 == 0) advance(1ms);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  obs::set_log_level(obs::Level::kInfo);
  EXPECT_GT(transitions("open"), 10.0);
  EXPECT_GT(transitions("closed"), 10.0);
  const double gauge = state_gauge();
  EXPECT_EQ(gauge, static_cast<double>(static_cast<int>(b->state())));
  // Settle: a probe that succeeds closes it whatever happened.
  advance(60000ms);
  if (b->allow()) b->record_success();
  EXPECT_EQ(b->state(), BreakerState::closed);
}

}  // namespace
}  // namespace folio::cache
