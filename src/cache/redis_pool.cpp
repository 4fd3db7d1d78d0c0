#include "folio/cache/redis_pool.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <exception>
#include <stdexcept>
#include <typeinfo>
#include <utility>

#include "detail/error_reply.hpp"
#include "folio/cache/errors.hpp"

namespace folio::cache {

using Clock = std::chrono::steady_clock;

namespace {
// Wakes a waiter. (cancel() is declared to throw, but only fails for a closed timer service.)
void wake(asio::steady_timer& timer) noexcept {
  try {
    timer.cancel();
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to wake then
  }
}
}  // namespace

// Most commands one flusher sends in one pipeline: bounds a batch's size and its share of
// command_timeout.
constexpr std::size_t kMaxBatchCommands = 256;

struct RedisPool::Unit {
  Unit(const asio::any_io_executor& executor, std::vector<std::vector<std::string>> c)
      : commands(std::move(c)), timer(executor, Clock::time_point::max()) {}
  std::vector<std::vector<std::string>> commands;
  std::vector<Reply> replies;
  std::exception_ptr error;
  bool done = false;
  asio::steady_timer timer;  // cancelled when done
};

// A connection lent for one call; returns itself (or is dropped when broken) on destruction,
// or just closes when the pool is gone by then.
class RedisPool::Lease {
 public:
  Lease(RedisPool* pool, std::unique_ptr<RedisConnection> conn, bool reused) noexcept
      : pool_(pool), alive_(pool->alive_), conn_(std::move(conn)), reused_(reused) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (conn_ && !alive_.expired()) pool_->release(std::move(conn_));
  }
  RedisConnection& operator*() const noexcept { return *conn_; }
  bool reused() const noexcept { return reused_; }
  bool pool_gone() const noexcept { return alive_.expired(); }

 private:
  RedisPool* pool_;
  std::weak_ptr<void> alive_;
  std::unique_ptr<RedisConnection> conn_;
  bool reused_;
};

namespace {
RedisPoolClosed closed_error(const std::string& address, std::string_view when) {
  return RedisPoolClosed("Redis pool for " + address + " was shut down " + std::string(when));
}
}  // namespace

RedisPool::RedisPool(asio::any_io_executor executor, RedisPoolOptions options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      backoff_(options_.reconnect_backoff) {
  if (options_.max_size == 0) options_.max_size = 1;
}

RedisPool::~RedisPool() { close(); }

void RedisPool::close() noexcept {
  if (waiters_.closed()) return;
  std::exception_ptr error;
  try {
    error =
        std::make_exception_ptr(closed_error(options_.config.address(), "while waiting for it"));
  } catch (...) {
    error = std::current_exception();  // std::bad_alloc: still an error, if a less clear one
  }
  auto fail = [&](const std::shared_ptr<Unit>& unit) {
    if (unit->done) return;
    unit->error = error;
    unit->done = true;
    wake(unit->timer);
  };
  for (const auto& unit : queue_) fail(unit);
  queue_.clear();
  for (const auto* batch : in_flight_) std::for_each(batch->begin(), batch->end(), fail);
  for (auto& conn : waiters_.close(error)) drop(std::move(conn));
  for (auto& conn : idle_) drop(std::move(conn));
  idle_.clear();
}

asio::awaitable<Reply> RedisPool::command(std::span<const std::string> args) {
  return run_command(std::vector<std::string>(args.begin(), args.end()));
}

asio::awaitable<std::vector<Reply>> RedisPool::pipeline(
    std::span<const std::vector<std::string>> commands) {
  return run_pipeline(std::vector<std::vector<std::string>>(commands.begin(), commands.end()));
}

asio::awaitable<Reply> RedisPool::run_command(std::vector<std::string> args) {
  if (args.empty()) throw std::invalid_argument("empty Redis command");
  std::string name = args.front();
  std::vector<std::vector<std::string>> commands;
  commands.push_back(std::move(args));
  const std::weak_ptr<void> alive = alive_;  // the pool may be destroyed before this resumes
  auto replies = co_await submit(std::move(commands));
  if (replies.at(0).is_error()) {
    detail::throw_error_reply(
        name, alive.expired() ? "a closed Redis pool" : options_.config.address(), replies[0]);
  }
  co_return std::move(replies[0]);
}

asio::awaitable<std::vector<Reply>> RedisPool::run_pipeline(
    std::vector<std::vector<std::string>> commands) {
  for (const auto& command : commands) {
    if (command.empty()) throw std::invalid_argument("empty Redis command in a pipeline");
  }
  if (commands.empty()) co_return std::vector<Reply>{};
  co_return co_await submit(std::move(commands));
}

asio::awaitable<std::vector<Reply>> RedisPool::submit(
    std::vector<std::vector<std::string>> commands) {
  // A queued call waits for a flusher to pick it up and for its batch's round trip: at most
  // acquire_timeout + command_timeout, so a slow Redis costs a caller a bounded delay.
  if (closed()) throw closed_error(options_.config.address(), "before this call");
  const auto limit = options_.acquire_timeout + options_.config.command_timeout;
  auto unit = std::make_shared<Unit>(executor_, std::move(commands));
  unit->timer.expires_after(limit);
  queue_.push_back(unit);
  if (flushers_ < options_.max_size) {
    ++flushers_;
    asio::co_spawn(executor_, flush(this, alive_), asio::detached);
  }
  // (The flusher may have finished the unit already: a cancel() before the wait wakes nobody.)
  if (!unit->done) {
    boost::system::error_code ec;
    co_await unit->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    // Not done: the wait expired, or this caller was cancelled. The unit stays with its
    // flusher (it is shared), which finishes it for nobody. (Done also when close() failed
    // it: then nothing of the pool, which may be gone, is touched.)
    if (!unit->done && ec == asio::error::operation_aborted) {
      throw boost::system::system_error(ec);
    }
    if (!unit->done) {
      throw RedisConnectionError("Redis pool for " + options_.config.address() +
                                 ": no reply within " + std::to_string(limit.count()) +
                                 " ms (queued behind " + std::to_string(flushers_) +
                                 " busy connections)");
    }
  }
  if (unit->error) std::rethrow_exception(unit->error);
  co_return std::move(unit->replies);
}

asio::awaitable<void> RedisPool::flush(RedisPool* pool, std::weak_ptr<void> alive) {
  while (!alive.expired() && !pool->closed() && !pool->queue_.empty()) {
    std::vector<std::shared_ptr<Unit>> batch;
    std::vector<std::vector<std::string>> commands;
    while (!pool->queue_.empty() &&
           (batch.empty() ||
            commands.size() + pool->queue_.front()->commands.size() <= kMaxBatchCommands)) {
      batch.push_back(std::move(pool->queue_.front()));
      pool->queue_.pop_front();
      for (auto& command : batch.back()->commands) commands.push_back(std::move(command));
    }
    // Listed while on the wire, for close(); unlisted however this frame ends.
    pool->in_flight_.push_back(&batch);
    struct Unlist {
      const std::weak_ptr<void>& alive;
      RedisPool* pool;
      std::vector<std::shared_ptr<Unit>>* batch;
      ~Unlist() {
        if (!alive.expired()) std::erase(pool->in_flight_, batch);
      }
    } unlist{alive, pool, &batch};
    std::vector<Reply> replies;
    std::exception_ptr error;
    try {
      replies = co_await pool->with_connection(
          [&commands](RedisConnection& conn) -> asio::awaitable<std::vector<Reply>> {
            return conn.pipeline(std::span<const std::vector<std::string>>(commands));
          });
    } catch (...) {
      error = std::current_exception();
    }
    if (alive.expired()) co_return;
    ++pool->stats_.batches;
    pool->stats_.batched_calls += batch.size();
    std::size_t next = 0;
    for (auto& unit : batch) {
      const std::size_t count = unit->commands.size();
      if (unit->done) {  // failed by close() meanwhile
        next += count;
        continue;
      }
      if (error) {
        unit->error = error;
      } else {
        unit->replies.assign(std::make_move_iterator(replies.begin() + next),
                             std::make_move_iterator(replies.begin() + next + count));
      }
      next += count;
      unit->done = true;
      wake(unit->timer);
    }
  }
  if (!alive.expired()) --pool->flushers_;
}

template <typename Op>
auto RedisPool::with_connection(Op op) -> decltype(op(std::declval<RedisConnection&>())) {
  for (std::size_t attempt = 0;; ++attempt) {
    Lease lease = co_await acquire();
    const bool may_retry = lease.reused() && attempt < options_.max_size;
    // Read before the call: the pool may be gone when it returns (then nothing is retried).
    const auto stale_within = options_.config.command_timeout;
    const auto start = Clock::now();
    try {
      co_return co_await op(*lease);
    } catch (const RedisConnectionError& e) {
      // Only a plain connection error (the server closed or reset the connection), quickly:
      // a timeout may have left the command running, TLS and protocol errors are not stale.
      const bool stale =
          typeid(e) == typeid(RedisConnectionError) && Clock::now() - start < stale_within;
      if (!may_retry || !stale || lease.pool_gone()) throw;
    }
    ++stats_.stale_retries;
    // The lease is destroyed here: its broken connection is dropped before the next attempt.
  }
}

asio::awaitable<RedisPool::Lease> RedisPool::acquire() {
  const auto deadline = Clock::now() + options_.acquire_timeout;
  while (true) {
    if (closed()) throw closed_error(options_.config.address(), "before this call");
    while (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->broken()) {
        drop(std::move(conn));
        continue;
      }
      co_return Lease(this, std::move(conn), true);
    }
    if (size_ < options_.max_size) {
      const auto now = Clock::now();
      if (now < next_connect_at_) throw_backoff(now);
      auto conn = co_await open_connection();  // throws when the pool closed meanwhile
      co_return Lease(this, std::move(conn), false);
    }

    WaitQueue::Waiter waiter(waiters_, executor_, deadline);
    // Throws RedisPoolClosed without touching the pool when it is closed or destroyed meanwhile.
    auto outcome = co_await waiter.wait();
    if (outcome.wake == WaitQueue::Wake::kResource) {
      co_return Lease(this, std::move(outcome.resource), true);
    }
    if (outcome.wake == WaitQueue::Wake::kSlot) continue;
    throw RedisConnectionError("Redis pool for " + options_.config.address() +
                               ": no free connection within " +
                               std::to_string(options_.acquire_timeout.count()) + " ms (all " +
                               std::to_string(options_.max_size) + " in use, " +
                               std::to_string(waiters_.size()) + " callers waiting)");
  }
}

asio::awaitable<std::unique_ptr<RedisConnection>> RedisPool::open_connection() {
  if (closed()) throw closed_error(options_.config.address(), "before this call");
  ++size_;
  // The pool may be closed or destroyed while the connection is being opened.
  const std::weak_ptr<void> alive = alive_;
  const std::string address = options_.config.address();
  std::unique_ptr<RedisConnection> conn;
  std::exception_ptr error;
  try {
    conn = co_await RedisConnection::connect(executor_, options_.config);
  } catch (...) {
    error = std::current_exception();
  }
  if (alive.expired()) throw closed_error(address, "while opening a connection");
  if (closed()) {
    if (conn) {
      drop(std::move(conn));
    } else {
      --size_;
    }
    throw closed_error(address, "while opening a connection");
  }
  if (error) {
    --size_;
    ++stats_.connect_failures;
    note_connect_failure(error);
    wake_for_free_slot();
    std::rethrow_exception(error);
  }
  ++stats_.connections_opened;
  backoff_ = options_.reconnect_backoff;
  next_connect_at_ = {};
  co_return conn;
}

asio::awaitable<void> RedisPool::check() {
  auto conn = co_await open_connection();
  release(std::move(conn));
}

void RedisPool::note_connect_failure(std::exception_ptr error) noexcept {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const RedisTlsError& e) {
    last_error_kind_ = ErrorKind::kTls;
    last_error_ = e.what();
  } catch (const RedisConnectionError& e) {
    last_error_kind_ = ErrorKind::kConnection;
    last_error_ = e.what();
  } catch (const RedisAuthError& e) {
    last_error_kind_ = ErrorKind::kAuth;
    last_error_ = e.what();
  } catch (const RedisCommandError& e) {
    last_error_kind_ = ErrorKind::kCommand;
    last_error_ = e.what();
    last_error_code_ = e.code();
  } catch (const std::exception& e) {
    last_error_kind_ = ErrorKind::kOther;
    last_error_ = e.what();
  } catch (...) {
    last_error_kind_ = ErrorKind::kOther;
    last_error_ = "unknown error";
  }
  // Concurrent connects that fail together count as one failure: only a failure after the
  // current backoff ran out starts (and doubles) the next one.
  const auto now = Clock::now();
  if (now >= next_connect_at_) {
    next_connect_at_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, std::max(options_.max_reconnect_backoff, backoff_));
  }
}

void RedisPool::throw_backoff(Clock::time_point now) const {
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_connect_at_ - now);
  const std::string message = "reconnect backoff: last error: " + last_error_ +
                              " (next connection attempt to " + options_.config.address() + " in " +
                              std::to_string(wait.count()) + " ms)";
  switch (last_error_kind_) {
    case ErrorKind::kTls:
      throw RedisTlsError(message);
    case ErrorKind::kAuth:
      throw RedisAuthError(message);
    case ErrorKind::kCommand:
      throw RedisCommandError(last_error_code_, message);
    case ErrorKind::kConnection:
    case ErrorKind::kOther:
      break;
  }
  throw RedisConnectionError(message);
}

void RedisPool::release(std::unique_ptr<RedisConnection> conn) noexcept {
  if (closed()) {
    drop(std::move(conn));
    return;
  }
  if (conn->broken()) {
    drop(std::move(conn));
    wake_for_free_slot();
    return;
  }
  if (waiters_.hand_over(conn)) return;
  idle_.push_back(std::move(conn));
  if (size_ > options_.max_size) {  // check() opened one beyond the limit
    drop(std::move(idle_.front()));
    idle_.erase(idle_.begin());
  }
}

void RedisPool::drop(std::unique_ptr<RedisConnection> conn) noexcept {
  conn.reset();
  --size_;
  ++stats_.connections_dropped;
}

void RedisPool::wake_for_free_slot() noexcept { waiters_.wake_for_slot(); }

RedisPoolStats RedisPool::stats() const noexcept {
  RedisPoolStats s = stats_;
  s.size = size_;
  s.idle = idle_.size();
  return s;
}

}  // namespace folio::cache
