// A bounded pool of connections to one PostgreSQL endpoint (a server or a PgBouncer pool).
//
// acquire() hands out an idle connection (checked for a server-side disconnect first), opens
// a new one while fewer than max_size exist, or waits in FIFO order up to acquire_timeout and
// then throws PoolTimeout naming the pool and its limits. A PooledConnection returns itself
// when destroyed: broken connections are dropped (and replaced on demand), and a connection
// left inside a transaction is rolled back before reuse.
//
// acquire(AcquireOptions) does the same within a deadline of the caller's, which also bounds
// opening a connection, optionally ahead of the callers already waiting: for a short check
// that must neither queue behind the pool's regular traffic nor hold one of its connections
// for long.
//
// Shutting down: close() (and the destructor, which closes) resumes every acquire() still
// waiting for a connection with PoolClosed, at once; later acquire() calls throw it too. A
// caller whose new connection is being opened gets PoolClosed when the attempt ends (within
// connect_timeout or its deadline), and the connection, if any, is closed. Connections lent
// out may be given back after the pool closed or was destroyed: they are then just closed. So
// a pool may be destroyed while coroutines wait on it or hold its connections; those
// coroutines must still run on an executor that is alive.
//
// Thread-safety: a Pool is bound to one executor (one io_context thread or a strand); call
// it, use its connections and destroy it only from there. stats() is the exception: it may be
// read from any thread (it copies atomics).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "folio/db/connection.hpp"
#include "folio/db/wait_queue.hpp"

namespace folio::db {

struct PoolOptions {
  std::string dsn;                                  // libpq connection string or URI
  std::string name = "primary";                     // metrics/log label: which endpoint
  std::size_t max_size = 10;                        // open connections at most
  std::chrono::milliseconds acquire_timeout{5000};  // wait for a free connection at most
  std::chrono::milliseconds connect_timeout{5000};  // opening one connection at most
  // Client-side deadline of every statement on the pool's connections
  // (Connection::set_operation_timeout); zero: none.
  std::chrono::milliseconds operation_timeout{0};
};

struct AcquireOptions {
  // Waiting for a free connection and opening a new one, together, at most this long.
  std::chrono::milliseconds timeout{1000};
  // Served before the callers already waiting (behind earlier callers that asked the same).
  bool first_in_line = false;
};

struct PoolStats {
  std::size_t size = 0;     // open or opening connections
  std::size_t idle = 0;     // open and free
  std::size_t in_use = 0;   // handed out
  std::size_t waiting = 0;  // acquire() calls queued
  std::uint64_t acquire_timeouts = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_dropped = 0;  // broken or unusable ones discarded
};

class Pool;

// A connection borrowed from a Pool; move-only, returns itself on destruction (or closes
// itself when the pool is gone).
class PooledConnection {
 public:
  PooledConnection() = default;
  PooledConnection(PooledConnection&& other) noexcept = default;
  PooledConnection& operator=(PooledConnection&& other) noexcept;
  ~PooledConnection();

  Connection& operator*() const noexcept { return *conn_; }
  Connection* operator->() const noexcept { return conn_.get(); }
  explicit operator bool() const noexcept { return conn_ != nullptr; }

 private:
  friend class Pool;
  PooledConnection(Pool* pool, std::weak_ptr<void> alive, std::unique_ptr<Connection> conn) noexcept
      : pool_(pool), alive_(std::move(alive)), conn_(std::move(conn)) {}
  void give_back() noexcept;
  Pool* pool_ = nullptr;
  std::weak_ptr<void> alive_;  // expires with the pool
  std::unique_ptr<Connection> conn_;
};

class Pool {
 public:
  Pool(asio::any_io_executor executor, PoolOptions options);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  // Throws PoolTimeout when no connection frees up within acquire_timeout, ConnectionError
  // when a new connection cannot be opened, PoolClosed when the pool is or gets closed (or
  // destroyed) before a connection is handed over.
  asio::awaitable<PooledConnection> acquire();
  // The same within options.timeout (PoolTimeout naming it; a ConnectionError when opening a
  // connection takes longer), optionally first in line.
  asio::awaitable<PooledConnection> acquire(AcquireOptions options);

  // Shuts the pool down (see the file comment): waiting acquire() calls throw PoolClosed,
  // idle connections are closed, later acquire() calls throw PoolClosed and connections given
  // back are closed. Idempotent; the destructor calls it.
  void close() noexcept;
  bool closed() const noexcept { return waiters_.closed(); }

  // Convenience: one statement on a pooled connection (an implicit transaction of its own).
  template <typename... Args>
  asio::awaitable<Result> query(std::string_view sql, const Args&... args) {
    auto conn = co_await acquire();
    co_return co_await conn->execute(sql, Params::of(args...));
  }

  PoolStats stats() const noexcept;
  const PoolOptions& options() const noexcept { return options_; }
  const asio::any_io_executor& executor() const noexcept { return executor_; }

 private:
  friend class PooledConnection;
  using WaitQueue = db::WaitQueue<Connection>;

  // bounds_connect: opening a connection counts against `timeout` too.
  asio::awaitable<PooledConnection> acquire(std::chrono::milliseconds timeout, bool first_in_line,
                                            bool bounds_connect);
  void release(std::unique_ptr<Connection> conn) noexcept;
  void hand_over(std::unique_ptr<Connection> conn) noexcept;
  void drop(std::unique_ptr<Connection> conn) noexcept;
  void wake_for_free_slot() noexcept;
  // Static with a liveness token: it may resume after the pool is gone.
  static asio::awaitable<void> rollback_and_release(std::weak_ptr<void> alive, Pool* pool,
                                                    std::unique_ptr<Connection> conn);
  void publish() noexcept;

  asio::any_io_executor executor_;
  PoolOptions options_;
  std::vector<std::unique_ptr<Connection>> idle_;
  WaitQueue waiters_;
  std::size_t size_ = 0;
  std::size_t in_use_ = 0;
  // Mirrors for stats() from other threads.
  std::atomic<std::size_t> size_pub_{0}, idle_pub_{0}, in_use_pub_{0}, waiting_pub_{0};
  std::atomic<std::uint64_t> acquire_timeouts_{0}, opened_{0}, dropped_{0};
  std::shared_ptr<void> alive_ = std::make_shared<int>(0);  // expires with the pool
};

}  // namespace folio::db
