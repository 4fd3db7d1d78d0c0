// A bounded pool of RedisConnections to one server, for one executor (one per worker thread,
// like db::Pool). Callers send a command or a pipelined batch; the pool lends a connection
// for exactly that round trip, so callers never hold one.
//
// Connections: an idle one is reused (most recently used first); while fewer than max_size
// exist a new one is opened; otherwise the call waits, FIFO, up to acquire_timeout. A
// connection that broke (I/O failure, timeout, abandoned call) is dropped and replaced on
// demand.
//
// An idle connection may have died without the pool noticing (the server restarted, CLIENT
// KILL, an idle timeout). When a call on a reused connection fails with a plain
// RedisConnectionError sooner than command_timeout (the server closed or reset it: not a
// timeout, not TLS, not a protocol error), the call is retried once more on another
// connection, up to max_size times. The server had closed that connection, so it did not run
// the command; the one exception is a server that ran it and then died at that very moment.
// Commands sent through the pool should therefore be idempotent or tolerate a rare second
// execution (every command folio's cache sends is).
//
// Coalescing (auto-pipelining): calls do not each take a connection. They queue their
// commands; up to max_size flushers (one connection each) take everything queued so far and
// send it as one pipeline, then hand each caller its replies. Under concurrency many calls
// share one write and one read on one connection — far fewer system calls and TLS records on
// both sides — while a lone call is sent at once, without waiting for company. A batch shares
// one command_timeout, and a connection failure fails every call in it. The commands of one
// pipeline() call stay together and in order; commands of different calls are ordered as they
// were queued on this pool.
//
// Reconnect backoff: after a failed connect, no new connection is attempted for
// reconnect_backoff (doubling per consecutive failure up to max_reconnect_backoff); calls that
// would need one fail at once with the last error's type and a message starting
// "reconnect backoff: last error: ". Idle connections are still used meanwhile. A successful
// connect resets the backoff.
//
// Shutting down: close() (and the destructor, which closes) fails every call still waiting —
// queued, or in a batch on the wire — at once with RedisPoolClosed, and the calls made later.
// Connections busy with a batch, or being opened, finish that and are then closed. So a pool
// may be destroyed while calls are suspended in it; their coroutines must still run on an
// executor that is alive.
//
// Thread-safety: bound to its executor; call it and destroy it only from there (any number of
// coroutines at once). options() and executor() are immutable.
#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "folio/cache/redis_config.hpp"
#include "folio/cache/redis_connection.hpp"
#include "folio/cache/reply.hpp"
#include "folio/db/wait_queue.hpp"

namespace folio::cache {

struct RedisPoolOptions {
  RedisConfig config;
  std::size_t max_size = 8;                          // connections at most
  std::chrono::milliseconds acquire_timeout{100};    // waiting for a free connection
  std::chrono::milliseconds reconnect_backoff{100};  // after a failed connect; doubles per failure
  std::chrono::milliseconds max_reconnect_backoff{5000};
};

struct RedisPoolStats {
  std::size_t size = 0;  // open or opening connections
  std::size_t idle = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_dropped = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t stale_retries = 0;  // calls retried after a reused connection turned out dead
  std::uint64_t batches = 0;        // pipelines sent by the flushers
  std::uint64_t batched_calls = 0;  // calls they carried (batched_calls / batches: coalescing)
};

class RedisPool {
 public:
  RedisPool(asio::any_io_executor executor, RedisPoolOptions options);
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;
  ~RedisPool();

  // One command on a pooled connection, e.g. command("GET", key). The arguments are copied
  // before the call returns. Throws what RedisConnection::command throws (RedisCommandError
  // for an error reply, RedisConnectionError, RedisTlsError, RedisAuthError when connecting
  // fails), RedisConnectionError when no connection frees up within acquire_timeout, and
  // during a reconnect backoff the last connect error's type (see the file comment), and
  // RedisPoolClosed when the pool is or gets closed (or destroyed) before the reply.
  template <CommandArg First, CommandArg... Rest>
  asio::awaitable<Reply> command(const First& first, const Rest&... rest) {
    std::vector<std::string> argv;
    argv.reserve(1 + sizeof...(Rest));
    argv.emplace_back(std::string_view(first));
    (argv.emplace_back(std::string_view(rest)), ...);
    return run_command(std::move(argv));
  }
  asio::awaitable<Reply> command(std::span<const std::string> args);

  // One pipelined batch on one connection (so the commands run in order); error replies are
  // returned in place. Throws like command(), except RedisCommandError.
  asio::awaitable<std::vector<Reply>> pipeline(std::span<const std::vector<std::string>> commands);

  // Opens one connection now, ignoring any backoff, and keeps it in the pool (or closes it
  // when the pool is full). Throws what connecting throws, e.g. RedisTlsError for a CA that
  // does not verify the server, RedisAuthError for a wrong password. Used at start to refuse a
  // bad configuration with a clear error.
  asio::awaitable<void> check();

  // Shuts the pool down (see the file comment). Idempotent; the destructor calls it.
  void close() noexcept;
  bool closed() const noexcept { return waiters_.closed(); }

  RedisPoolStats stats() const noexcept;
  const RedisPoolOptions& options() const noexcept { return options_; }
  const asio::any_io_executor& executor() const noexcept { return executor_; }

 private:
  using WaitQueue = db::WaitQueue<RedisConnection>;
  class Lease;
  struct Unit;  // one call's commands, replies and wake-up, queued for a flusher
  enum class ErrorKind { kConnection, kTls, kAuth, kCommand, kOther };

  asio::awaitable<Reply> run_command(std::vector<std::string> args);
  asio::awaitable<std::vector<Reply>> run_pipeline(std::vector<std::vector<std::string>> commands);
  // Queues `commands` as one unit, starts a flusher when fewer than max_size run, and waits
  // for the unit's replies.
  asio::awaitable<std::vector<Reply>> submit(std::vector<std::vector<std::string>> commands);
  // Sends what is queued, batch after batch, until the queue is empty.
  static asio::awaitable<void> flush(RedisPool* pool, std::weak_ptr<void> alive);
  // Runs `op` (a call on one connection) with the stale-connection retry of the file comment.
  template <typename Op>
  auto with_connection(Op op) -> decltype(op(std::declval<RedisConnection&>()));

  asio::awaitable<Lease> acquire();
  asio::awaitable<std::unique_ptr<RedisConnection>> open_connection();
  [[noreturn]] void throw_backoff(std::chrono::steady_clock::time_point now) const;
  void note_connect_failure(std::exception_ptr error) noexcept;
  void release(std::unique_ptr<RedisConnection> conn) noexcept;
  void drop(std::unique_ptr<RedisConnection> conn) noexcept;
  void wake_for_free_slot() noexcept;

  asio::any_io_executor executor_;
  RedisPoolOptions options_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
  WaitQueue waiters_;
  std::size_t size_ = 0;

  // Reconnect backoff.
  std::chrono::milliseconds backoff_;
  std::chrono::steady_clock::time_point next_connect_at_{};
  ErrorKind last_error_kind_ = ErrorKind::kConnection;
  std::string last_error_;
  std::string last_error_code_;  // for kCommand

  RedisPoolStats stats_;
  std::deque<std::shared_ptr<Unit>> queue_;
  // The batches the flushers have on the wire, so that close() fails their callers at once.
  std::vector<std::vector<std::shared_ptr<Unit>>*> in_flight_;
  std::size_t flushers_ = 0;
  std::shared_ptr<void> alive_ = std::make_shared<int>(0);  // expires with the pool
};

}  // namespace folio::cache
