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

#include "detail/pool_registry.hpp"
#include "folio/db/errors.hpp"

namespace folio::db {

namespace {
constexpr std::chrono::seconds kRollbackDeadline{5};
}  // namespace

struct Pool::Waiter {
  Waiter(const asio::any_io_executor& executor, std::chrono::steady_clock::time_point deadline)
      : timer(executor, deadline) {}
  asio::steady_timer timer;
  std::unique_ptr<Connection> conn;  // handed over by release()
  bool slot = false;                 // a connection slot became free: open a new one
  bool first_in_line = false;        // queued ahead of the regular callers
};

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = other.pool_;
    conn_ = std::move(other.conn_);
  }
  return *this;
}

PooledConnection::~PooledConnection() { give_back(); }

void PooledConnection::give_back() noexcept {
  if (conn_ && pool_ != nullptr) pool_->release(std::move(conn_));
  conn_.reset();
}

Pool::Pool(asio::any_io_executor executor, PoolOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {
  if (options_.max_size == 0) options_.max_size = 1;
  detail::register_pool(*this);
}

Pool::~Pool() { detail::unregister_pool(*this); }

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
      co_return PooledConnection(this, std::move(conn));
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
      try {
        conn = co_await Connection::connect(executor_, options_.dsn, connect_within);
        conn->set_operation_timeout(options_.operation_timeout);
      } catch (...) {
        --size_;
        publish();
        wake_for_free_slot();
        throw;
      }
      ++opened_;
      ++in_use_;
      publish();
      co_return PooledConnection(this, std::move(conn));
    }

    Waiter waiter(executor_, deadline);
    waiter.first_in_line = first_in_line;
    if (first_in_line) {
      // Behind the other callers first in line, ahead of everyone else.
      auto at = std::find_if(waiters_.begin(), waiters_.end(),
                             [](const Waiter* w) { return !w->first_in_line; });
      waiters_.insert(at, &waiter);
    } else {
      waiters_.push_back(&waiter);
    }
    publish();
    struct Unlink {
      Pool* pool;
      Waiter* waiter;
      ~Unlink() {
        auto& q = pool->waiters_;
        q.erase(std::remove(q.begin(), q.end(), waiter), q.end());
        pool->publish();
      }
    } unlink{this, &waiter};

    boost::system::error_code ec;
    co_await waiter.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (waiter.conn) co_return PooledConnection(this, std::move(waiter.conn));
    if (waiter.slot) continue;
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
    ++acquire_timeouts_;
    throw PoolTimeout("", "connection pool '" + options_.name + "' exhausted: all " +
                              std::to_string(options_.max_size) +
                              " connections stayed in use for " + std::to_string(timeout.count()) +
                              " ms (" + std::to_string(waiters_.size()) + " callers waiting)");
  }
}

void Pool::release(std::unique_ptr<Connection> conn) noexcept {
  --in_use_;
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
  if (outcome.index() == 1 || conn->broken() || conn->tx_status() != TxStatus::kIdle) {
    pool->drop(std::move(conn));
    pool->wake_for_free_slot();
  } else {
    pool->hand_over(std::move(conn));
  }
}

void Pool::hand_over(std::unique_ptr<Connection> conn) noexcept {
  if (!waiters_.empty()) {
    Waiter* w = waiters_.front();
    waiters_.pop_front();
    w->conn = std::move(conn);
    ++in_use_;
    w->timer.cancel();
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
  if (waiters_.empty()) return;
  Waiter* w = waiters_.front();
  waiters_.pop_front();
  w->slot = true;
  w->timer.cancel();
  publish();
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
