#include "folio/db/pool.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <optional>
#include <string>

#include "detail/pool_registry.hpp"
#include "folio/db/errors.hpp"

namespace folio::db {

namespace {
constexpr std::chrono::seconds kRollbackDeadline{5};

// What a caller gets from a pool that was shut down `when` ("while waiting for a connection").
PoolClosed closed_error(const std::string& name, std::string_view when) {
  return PoolClosed("", "connection pool '" + name + "' was shut down " + std::string(when));
}
}  // namespace

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = other.pool_;
    alive_ = std::move(other.alive_);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

PooledConnection::~PooledConnection() { give_back(); }

void PooledConnection::give_back() noexcept {
  // A pool destroyed meanwhile: the connection just closes.
  if (conn_ && pool_ != nullptr && !alive_.expired()) pool_->release(std::move(conn_));
  conn_.reset();
}

Pool::Pool(asio::any_io_executor executor, PoolOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {
  if (options_.max_size == 0) options_.max_size = 1;
  detail::register_pool(*this);
}

Pool::~Pool() {
  detail::unregister_pool(*this);
  close();
}

void Pool::close() noexcept {
  if (waiters_.closed()) return;
  std::exception_ptr error;
  try {
    error = std::make_exception_ptr(closed_error(options_.name, "while waiting for a connection"));
  } catch (...) {
    error = std::current_exception();  // std::bad_alloc: still an error, if a less clear one
  }
  // Connections handed to waiters that had not run yet come back as still lent.
  for (auto& conn : waiters_.close(error)) {
    --in_use_;
    drop(std::move(conn));
  }
  for (auto& conn : idle_) drop(std::move(conn));
  idle_.clear();
  publish();
}

asio::awaitable<PooledConnection> Pool::acquire() {
  return acquire(options_.acquire_timeout, false, false);
}

asio::awaitable<PooledConnection> Pool::acquire(AcquireOptions options) {
  return acquire(options.timeout, options.first_in_line, true);
}

asio::awaitable<PooledConnection> Pool::acquire(std::chrono::milliseconds timeout,
                                                bool first_in_line, bool bounds_connect) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (waiters_.closed()) throw closed_error(options_.name, "before this call");
    while (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      // The server may have closed it while it sat idle (restart, pg_terminate_backend,
      // idle timeout): find out now rather than fail the caller's query.
      if (!conn->check_alive()) {
        drop(std::move(conn));
        continue;
      }
      ++in_use_;
      publish();
      co_return PooledConnection(this, alive_, std::move(conn));
    }
    if (size_ < options_.max_size) {
      ++size_;
      publish();
      std::unique_ptr<Connection> conn;
      // With a caller's deadline, opening counts against it too (never less than 1 ms: a
      // deadline that passed while waiting for the slot still gets one attempt, failing fast).
      auto connect_within = options_.connect_timeout;
      if (bounds_connect) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        connect_within = std::max(std::chrono::milliseconds(1), std::min(connect_within, left));
      }
      // The pool may be closed or destroyed while the connection is being opened.
      const std::weak_ptr<void> alive = alive_;
      const std::string name = options_.name;
      std::exception_ptr connect_error;
      try {
        conn = co_await Connection::connect(executor_, options_.dsn, connect_within);
      } catch (...) {
        connect_error = std::current_exception();
      }
      if (alive.expired()) throw closed_error(name, "while opening a connection");
      if (closed()) {
        if (conn) {
          drop(std::move(conn));
        } else {
          --size_;
          publish();
        }
        throw closed_error(name, "while opening a connection");
      }
      if (connect_error) {
        --size_;
        publish();
        wake_for_free_slot();
        std::rethrow_exception(connect_error);
      }
      conn->set_operation_timeout(options_.operation_timeout);
      ++opened_;
      ++in_use_;
      publish();
      co_return PooledConnection(this, alive_, std::move(conn));
    }

    WaitQueue::Waiter waiter(waiters_, executor_, deadline, first_in_line);
    publish();
    std::optional<WaitQueue::Outcome> outcome;
    try {
      // Throws PoolClosed without touching the pool when it is closed or destroyed meanwhile.
      outcome = co_await waiter.wait();
    } catch (const boost::system::system_error&) {
      publish();  // cancelled
      throw;
    }
    publish();
    if (outcome->wake == WaitQueue::Wake::kResource) {
      co_return PooledConnection(this, alive_, std::move(outcome->resource));
    }
    if (outcome->wake == WaitQueue::Wake::kSlot) continue;
    ++acquire_timeouts_;
    throw PoolTimeout("", "connection pool '" + options_.name + "' exhausted: all " +
                              std::to_string(options_.max_size) +
                              " connections stayed in use for " + std::to_string(timeout.count()) +
                              " ms (" + std::to_string(waiters_.size()) + " callers waiting)");
  }
}

void Pool::release(std::unique_ptr<Connection> conn) noexcept {
  --in_use_;
  if (closed()) {
    drop(std::move(conn));
    return;
  }
  switch (conn->broken() ? TxStatus::kUnknown : conn->tx_status()) {
    case TxStatus::kIdle:
      hand_over(std::move(conn));
      return;
    case TxStatus::kInTransaction:
    case TxStatus::kInError:
      // An abandoned transaction (an exception unwound its Transaction): roll it back before
      // anyone else gets the connection. It stays counted as in use meanwhile.
      ++in_use_;
      publish();
      asio::co_spawn(executor_, rollback_and_release(alive_, this, std::move(conn)),
                     asio::detached);
      return;
    default:
      // Broken, or abandoned mid-query or mid-COPY: its protocol state is unknown.
      drop(std::move(conn));
      wake_for_free_slot();
      return;
  }
}

using namespace asio::experimental::awaitable_operators;

asio::awaitable<void> Pool::rollback_and_release(std::weak_ptr<void> alive, Pool* pool,
                                                 std::unique_ptr<Connection> conn) {
  // A server that vanished silently would hold this ROLLBACK (and a pool slot) until TCP
  // gives up; past the deadline the connection is dropped instead.
  auto rollback = [&]() -> asio::awaitable<bool> {
    try {
      co_await conn->execute_script("ROLLBACK");
    } catch (const std::exception&) {
      // Checked below: a failed ROLLBACK leaves the connection broken or not idle.
    }
    co_return true;
  };
  asio::steady_timer deadline(co_await asio::this_coro::executor, kRollbackDeadline);
  const auto outcome = co_await (rollback() || deadline.async_wait(asio::use_awaitable));
  // The pool may have been destroyed while the ROLLBACK ran: then just close the connection.
  if (alive.expired()) co_return;
  --pool->in_use_;
  if (outcome.index() == 1 || conn->broken() || conn->tx_status() != TxStatus::kIdle ||
      pool->closed()) {
    pool->drop(std::move(conn));
    pool->wake_for_free_slot();
  } else {
    pool->hand_over(std::move(conn));
  }
}

void Pool::hand_over(std::unique_ptr<Connection> conn) noexcept {
  if (waiters_.hand_over(conn)) {
    ++in_use_;
  } else {
    idle_.push_back(std::move(conn));
  }
  publish();
}

void Pool::drop(std::unique_ptr<Connection> conn) noexcept {
  conn.reset();
  --size_;
  ++dropped_;
  publish();
}

void Pool::wake_for_free_slot() noexcept {
  if (waiters_.wake_for_slot()) publish();
}

void Pool::publish() noexcept {
  size_pub_ = size_;
  idle_pub_ = idle_.size();
  in_use_pub_ = in_use_;
  waiting_pub_ = waiters_.size();
}

PoolStats Pool::stats() const noexcept {
  PoolStats s;
  s.size = size_pub_;
  s.idle = idle_pub_;
  s.in_use = in_use_pub_;
  s.waiting = waiting_pub_;
  s.acquire_timeouts = acquire_timeouts_;
  s.connections_opened = opened_;
  s.connections_dropped = dropped_;
  return s;
}

}  // namespace folio::db
