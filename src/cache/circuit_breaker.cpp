#include "folio/cache/circuit_breaker.hpp"

#include <algorithm>
#include <utility>

#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::cache {

namespace {

obs::Counter& transitions(const std::string& name, const char* to) {
  return obs::Registry::global().counter(
      "folio_cache_breaker_transitions_total",
      "Transitions of the Redis circuit breaker, by the state entered.",
      {{"breaker", name}, {"to", to}});
}

const obs::Logger& log() {
  static const obs::Logger logger("cache.breaker");
  return logger;
}

}  // namespace

const char* to_string(BreakerState state) noexcept {
  switch (state) {
    case BreakerState::closed:
      return "closed";
    case BreakerState::half_open:
      return "half_open";
    case BreakerState::open:
      return "open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options, std::string name)
    : options_(options),
      name_(std::move(name)),
      open_for_(options_.open_for),
      state_gauge_(&obs::Registry::global().gauge(
          "folio_cache_breaker_state",
          "State of the Redis circuit breaker: 0 closed, 1 half-open, 2 open.",
          {{"breaker", name_}})),
      to_closed_(&transitions(name_, "closed")),
      to_half_open_(&transitions(name_, "half_open")),
      to_open_(&transitions(name_, "open")) {
  state_gauge_->set(0);
}

void CircuitBreaker::set_clock_for_tests(std::function<Clock::time_point()> clock) {
  clock_ = std::move(clock);
}

CircuitBreaker::Clock::time_point CircuitBreaker::now() const noexcept {
  return clock_ ? clock_() : Clock::now();
}

bool CircuitBreaker::allow() noexcept {
  if (state() == BreakerState::closed) return true;
  std::lock_guard lock(mu_);
  const auto t = now();
  switch (state_.load(std::memory_order_relaxed)) {
    case BreakerState::closed:
      return true;
    case BreakerState::open:
      if (t < open_until_) return false;
      break;
    case BreakerState::half_open:
      if (t < probe_deadline_) return false;
      break;
  }
  // This caller is the (new) probe.
  probe_deadline_ = t + options_.probe_timeout;
  set_state_locked(BreakerState::half_open);
  return true;
}

void CircuitBreaker::record_success() noexcept {
  if (state() == BreakerState::closed) {
    // The hot path: no lock, and no write unless a failure streak is to be reset.
    if (failures_.load(std::memory_order_relaxed) != 0) {
      failures_.store(0, std::memory_order_relaxed);
    }
    return;
  }
  std::lock_guard lock(mu_);
  failures_.store(0, std::memory_order_relaxed);
  open_for_ = options_.open_for;
  if (state_.load(std::memory_order_relaxed) == BreakerState::closed) return;
  set_state_locked(BreakerState::closed);
  try {
    log().info("redis back", {{"breaker", name_}});
  } catch (...) {  // NOLINT(bugprone-empty-catch): logging must not break the caller
  }
}

void CircuitBreaker::record_failure() noexcept {
  std::lock_guard lock(mu_);
  const auto t = now();
  switch (state_.load(std::memory_order_relaxed)) {
    case BreakerState::closed:
      if (failures_.fetch_add(1, std::memory_order_relaxed) + 1 >= options_.failure_threshold)
        open_locked(t, "consecutive failures");
      return;
    case BreakerState::half_open:
      open_for_ = std::min(open_for_ * 2, options_.max_open_for);
      open_locked(t, "probe failed");
      return;
    case BreakerState::open:
      return;  // a call let through before it opened
  }
}

void CircuitBreaker::trip() noexcept {
  std::lock_guard lock(mu_);
  open_locked(now(), "tripped");
}

void CircuitBreaker::open_locked(Clock::time_point now, const char* why) noexcept {
  failures_.store(0, std::memory_order_relaxed);
  open_until_ = now + open_for_;
  set_state_locked(BreakerState::open);
  try {
    log().warn("redis unavailable; bypassing the cache",
               {{"breaker", name_}, {"why", why}, {"open_for_ms", open_for_.count()}});
  } catch (...) {  // NOLINT(bugprone-empty-catch): logging must not break the caller
  }
}

void CircuitBreaker::set_state_locked(BreakerState to) noexcept {
  if (state_.load(std::memory_order_relaxed) == to) return;
  state_.store(to, std::memory_order_release);
  state_gauge_->set(static_cast<double>(static_cast<int>(to)));
  switch (to) {
    case BreakerState::closed:
      to_closed_->inc();
      break;
    case BreakerState::half_open:
      to_half_open_->inc();
      break;
    case BreakerState::open:
      to_open_->inc();
      break;
  }
}

}  // namespace folio::cache
