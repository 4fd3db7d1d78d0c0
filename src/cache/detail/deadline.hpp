// Races an operation against a steady_timer. Unlike awaitable_operators' `||`, which waits for
// the first *successful* operation (so a read failing at once would still wait out the whole
// timer and then look like a timeout), the first operation to finish, successfully or not,
// decides, and the other is cancelled.
//
// Thread-safety: a free function; the operation's own rules apply.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <utility>

namespace folio::cache::detail {

namespace asio = boost::asio;

// Returns op's value, or nullopt when `timeout` passed first (op is then cancelled and has
// finished). Rethrows op's exception.
template <typename T>
asio::awaitable<std::optional<T>> run_until(asio::awaitable<T> op,
                                            std::chrono::milliseconds timeout) {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, timeout);
  auto [order, error, value, timer_error] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(executor, std::move(op), asio::deferred), timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  static_cast<void>(timer_error);
  if (order[0] == 1) co_return std::nullopt;
  if (error) std::rethrow_exception(error);
  co_return std::optional<T>(std::move(value));
}

// The same for an operation without a value: false when `timeout` passed first.
inline asio::awaitable<bool> run_until(asio::awaitable<void> op,
                                       std::chrono::milliseconds timeout) {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, timeout);
  auto [order, error, timer_error] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(executor, std::move(op), asio::deferred), timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  static_cast<void>(timer_error);
  if (order[0] == 1) co_return false;
  if (error) std::rethrow_exception(error);
  co_return true;
}

}  // namespace folio::cache::detail
