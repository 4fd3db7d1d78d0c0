// One computation shared by concurrent callers (CacheService's single-flight): the first
// caller computes, the others wait on a timer set to "never" that is cancelled when the
// result (a value or an exception) is known.
//
// Thread-safety: bound to one executor, like the CacheService that owns the flights.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

namespace folio::cache::detail {

namespace asio = boost::asio;

struct Flight {
  explicit Flight(const asio::any_io_executor& executor)
      : done(executor, asio::steady_timer::time_point::max()) {}

  void finish(std::optional<std::string> result, std::exception_ptr failure) noexcept {
    value = std::move(result);
    error = std::move(failure);
    finished = true;
    try {
      done.cancel();  // wakes every waiter
    } catch (...) {   // NOLINT(bugprone-empty-catch): only fails for a closed timer service
    }
  }

  asio::steady_timer done;
  bool finished = false;
  std::optional<std::string> value;
  std::exception_ptr error;
};

// Waits for `flight` and returns its value or rethrows its exception. A waiter cancelled
// while waiting gets operation_aborted; the flight goes on for the others.
inline asio::awaitable<std::string> wait_for(std::shared_ptr<Flight> flight) {
  while (!flight->finished) {
    boost::system::error_code ec;
    co_await flight->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!flight->finished && ec == asio::error::operation_aborted) {
      throw boost::system::system_error(ec);
    }
  }
  if (flight->error) std::rethrow_exception(flight->error);
  co_return *flight->value;
}

// The computing caller's handle on its flight: registered under `key` while it lives, so later
// callers can join. If the caller is abandoned (its coroutine destroyed) before finishing, the
// waiters get an exception instead of waiting forever.
class FlightRegistration {
 public:
  using Map = std::unordered_map<std::string, std::shared_ptr<Flight>>;

  FlightRegistration(Map& flights, std::string key, const asio::any_io_executor& executor)
      : flights_(flights), key_(std::move(key)), flight_(std::make_shared<Flight>(executor)) {
    flights_[key_] = flight_;
  }
  FlightRegistration(const FlightRegistration&) = delete;
  FlightRegistration& operator=(const FlightRegistration&) = delete;
  ~FlightRegistration() {
    if (!flight_->finished) {
      flight_->finish(std::nullopt, std::make_exception_ptr(std::runtime_error(
                                        "the shared computation of a cached value was abandoned")));
    }
    auto it = flights_.find(key_);
    if (it != flights_.end() && it->second == flight_) flights_.erase(it);
  }

  Flight& flight() noexcept { return *flight_; }

 private:
  Map& flights_;
  std::string key_;
  std::shared_ptr<Flight> flight_;
};

}  // namespace folio::cache::detail
