// Helpers of the cutover tests that drive phases through folio's API: run a coroutine on a
// small pool of the test database, and capture a safety check's refusal.
//
// Thread-safety: each call owns its io_context and pool; call from the test's thread.
#pragma once

#include <chrono>
#include <string>
#include <type_traits>

#include "folio/cutover/switchover.hpp"
#include "folio/db/pool.hpp"
#include "support/async.hpp"

namespace folio::test {

// Runs `fn(pool)` (returning an awaitable) on a pool of 4 connections to `dsn`.
template <typename Fn, typename A = std::invoke_result_t<Fn&, db::Pool&>>
auto with_pool(const std::string& dsn, Fn fn) {
  return run_async(
      [&](boost::asio::io_context& io) -> A {
        db::Pool pool(io.get_executor(), {.dsn = dsn, .name = "test", .max_size = 4});
        co_return co_await fn(pool);
      },
      std::chrono::seconds(300));
}

// The cutover::SwitchRefused message `fn` ends with, or "" when it does not refuse.
template <typename Fn>
std::string refusal(const std::string& dsn, Fn fn) {
  try {
    with_pool(dsn, fn);
  } catch (const cutover::SwitchRefused& e) {
    return e.what();
  }
  return "";
}

}  // namespace folio::test
