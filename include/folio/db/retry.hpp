// Retries a whole unit of work after serialization failures (40001) and deadlocks (40P01),
// the two errors PostgreSQL expects clients to retry, and what RetryPolicy::also_retry
// admits. Other errors propagate at once.
//
//   auto id = co_await with_retry([&]() -> asio::awaitable<std::int64_t> {
//     auto tx = co_await pool.begin();   // a new transaction per attempt
//     ...
//     co_await tx.commit();
//     co_return id;
//   });
//
// The unit must be safe to re-run from the start: open its transaction inside the lambda.
// Between attempts it sleeps with exponential backoff and full jitter.
//
// Thread-safety: runs on the calling coroutine's executor; the policy is copied.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <type_traits>

#include "folio/db/errors.hpp"

namespace folio::db {

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{5};
  std::chrono::milliseconds max_backoff{250};
  // Called before each retry with the error and the attempt that failed (1-based).
  std::function<void(const Error&, int attempt)> on_retry;
  // Further errors the unit may retry, besides 40001 and 40P01 (empty: none).
  std::function<bool(const Error&)> also_retry;
};

namespace detail {
template <typename A>
struct AwaitableValue;
template <typename T>
struct AwaitableValue<boost::asio::awaitable<T>> {
  using type = T;
};
// Full-jitter backoff for the given failed attempt.
std::chrono::milliseconds retry_backoff(const RetryPolicy& policy, int attempt);
}  // namespace detail

template <typename Fn,
          typename T = typename detail::AwaitableValue<std::invoke_result_t<Fn&>>::type>
boost::asio::awaitable<T> with_retry(Fn fn, RetryPolicy policy = {}) {
  for (int attempt = 1;; ++attempt) {
    try {
      if constexpr (std::is_void_v<T>) {
        co_await fn();
        co_return;
      } else {
        co_return co_await fn();
      }
    } catch (const Error& e) {
      const bool retry = is_retryable(e) || (policy.also_retry && policy.also_retry(e));
      if (!retry || attempt >= policy.max_attempts) throw;
      if (policy.on_retry) policy.on_retry(e, attempt);
    }
    // (A coroutine cannot co_await inside a handler, so the pause happens here.)
    boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor,
                                    detail::retry_backoff(policy, attempt));
    co_await pause.async_wait(boost::asio::use_awaitable);
  }
}

}  // namespace folio::db
