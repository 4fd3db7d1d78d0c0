// A circuit breaker in front of Redis, so that a Redis that is down or slow costs callers
// nothing but a flag check: while it is open, cache calls skip Redis and go straight to the
// database (fail-open) instead of each waiting for a timeout.
//
//   closed     every call may go to Redis; `failure_threshold` consecutive failures open it
//   open       no call goes to Redis until `open_for` has elapsed; then the next allow() is
//              the probe and the breaker is half-open
//   half_open  exactly one call (the probe) is out; everyone else is refused until it reports:
//              success closes the breaker, failure reopens it with `open_for` doubled (capped
//              at max_open_for). A probe that never reports (its caller was cancelled) is
//              presumed lost after `probe_timeout`, and the next allow() becomes a new probe.
//
// One breaker serves a whole process (every worker thread's cache), so one worker's failures
// protect all the others.
//
// Metrics: folio_cache_breaker_state{breaker} (0 closed, 1 half-open, 2 open) and
// folio_cache_breaker_transitions_total{breaker,to="closed"|"half_open"|"open"}. Opening and
// recovering are logged (once per transition, which open_for already rate-limits).
//
// Thread-safety: every member is safe from any thread. allow() on a closed breaker is one
// atomic load; transitions take a mutex. set_clock_for_tests() is the exception: call it
// before the breaker is shared.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

namespace folio::obs {
class Counter;
class Gauge;
}  // namespace folio::obs

namespace folio::cache {

struct CircuitBreakerOptions {
  int failure_threshold = 3;                 // consecutive failures that open it
  std::chrono::milliseconds open_for{1000};  // first open period; doubles on each failed probe
  std::chrono::milliseconds max_open_for{30000};
  std::chrono::milliseconds probe_timeout{10000};  // an unreported probe is presumed lost
};

enum class BreakerState { closed = 0, half_open = 1, open = 2 };

// "closed", "half_open", "open".
const char* to_string(BreakerState state) noexcept;

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;

  explicit CircuitBreaker(CircuitBreakerOptions options = {}, std::string name = "redis");
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // May a call go to Redis now? closed: yes. open: no until open_for has elapsed, then exactly
  // one caller gets true (the probe; the state becomes half_open) and the others false until
  // it reports. A caller that got true must report with record_success() or record_failure().
  bool allow() noexcept;
  // Redis answered: closes the breaker (logging "redis back" when it was not closed) and
  // resets the failure count and open_for.
  void record_success() noexcept;
  // Redis failed or timed out: counts a consecutive failure; opens at the threshold. A failed
  // probe reopens it with open_for doubled (capped at max_open_for). While open, failures of
  // calls that were let through before it opened change nothing.
  void record_failure() noexcept;
  // Opens it now (e.g. Redis refused at start), for open_for from now.
  void trip() noexcept;

  BreakerState state() const noexcept { return state_.load(std::memory_order_acquire); }
  const std::string& name() const noexcept { return name_; }
  const CircuitBreakerOptions& options() const noexcept { return options_; }

  // Replaces the clock (steady_clock::now by default).
  // REQUIRES: called before any other thread uses the breaker.
  void set_clock_for_tests(std::function<Clock::time_point()> clock);

 private:
  // REQUIRES: mu_ held.
  void open_locked(Clock::time_point now, const char* why) noexcept;
  void set_state_locked(BreakerState to) noexcept;
  Clock::time_point now() const noexcept;

  const CircuitBreakerOptions options_;
  const std::string name_;
  std::function<Clock::time_point()> clock_;               // empty: steady_clock
  std::atomic<BreakerState> state_{BreakerState::closed};  // written under mu_

  // Consecutive failures while closed: incremented under mu_, reset without it by successes.
  std::atomic<int> failures_{0};
  std::mutex mu_;
  std::chrono::milliseconds open_for_;  // GUARDED_BY(mu_): the current open period
  Clock::time_point open_until_{};      // GUARDED_BY(mu_): while open
  Clock::time_point probe_deadline_{};  // GUARDED_BY(mu_): while half-open

  obs::Gauge* state_gauge_;
  obs::Counter* to_closed_;
  obs::Counter* to_half_open_;
  obs::Counter* to_open_;
};

}  // namespace folio::cache
