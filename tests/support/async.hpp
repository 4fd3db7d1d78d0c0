// Runs a coroutine to completion on a fresh io_context, for tests.
//
// Thread-safety: each call owns its io_context; call from one thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <stdexcept>

namespace folio::test {

// Runs `make(io)` (returning asio::awaitable<T>) until it finishes and returns its value or
// rethrows its exception. Fails after `limit` so a hung test ends.
template <typename Make>
auto run_async(Make make, std::chrono::seconds limit = std::chrono::seconds(120)) {
  boost::asio::io_context io;
  auto future = boost::asio::co_spawn(io, make(io), boost::asio::use_future);
  io.run_for(limit);
  if (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    throw std::runtime_error("coroutine did not finish in time");
  }
  return future.get();
}

}  // namespace folio::test
