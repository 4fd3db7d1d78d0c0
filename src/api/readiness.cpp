#include "detail/readiness.hpp"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "folio/db/errors.hpp"
#include "folio/db/migrator.hpp"

namespace folio::api::detail {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// One check, shared by the probes that arrive while it runs: they wait on a timer set to
// "never" that is cancelled when the verdict is in.
struct ReadinessChecks::Round {
  explicit Round(const asio::any_io_executor& executor)
      : done(executor, asio::steady_timer::time_point::max()) {}

  void finish(ReadinessVerdict result) noexcept {
    verdict = std::move(result);
    finished = true;
    try {
      done.cancel();
    } catch (...) {  // NOLINT(bugprone-empty-catch): only fails for a closed timer service
    }
  }

  asio::steady_timer done;
  bool finished = false;
  ReadinessVerdict verdict;
};

ReadinessChecks::ReadinessChecks(asio::any_io_executor executor, const ServerOptions& options,
                                 db::Pool& requests)
    : executor_(executor),
      direct_(executor, db::PoolOptions{.dsn = options.direct_database_url.empty()
                                                   ? options.database_url
                                                   : options.direct_database_url,
                                        .name = "readiness",
                                        .max_size = 1,
                                        .acquire_timeout = std::chrono::milliseconds(2000),
                                        .connect_timeout = std::chrono::milliseconds(2000),
                                        .operation_timeout = std::chrono::milliseconds(2000)}),
      requests_(requests) {}

ReadinessChecks::~ReadinessChecks() = default;

asio::awaitable<ReadinessVerdict> ReadinessChecks::database() {
  if (last_ && Clock::now() - last_at_ < kVerdictFreshFor) co_return *last_;
  if (running_ && !running_->finished) {
    const std::shared_ptr<Round> round = running_;
    while (!round->finished) {
      boost::system::error_code ec;
      co_await round->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!round->finished && ec == asio::error::operation_aborted) {
        throw boost::system::system_error(ec);  // this probe was cancelled, not the check
      }
    }
    co_return round->verdict;
  }
  auto round = std::make_shared<Round>(executor_);
  running_ = round;
  // Releases the waiters if this check is abandoned (its coroutine destroyed).
  struct FinishAbandoned {
    Round& round;
    ~FinishAbandoned() {
      if (!round.finished) {
        round.finish({.failed_check = "database", .message = "the readiness check was abandoned"});
      }
    }
  } abandoned{*round};
  ReadinessVerdict verdict;
  try {
    verdict = co_await run();
  } catch (const std::exception& e) {
    verdict = {.failed_check = "database", .message = e.what()};
  }
  last_ = verdict;
  last_at_ = Clock::now();
  round->finish(verdict);
  running_.reset();
  co_return verdict;
}

asio::awaitable<ReadinessVerdict> ReadinessChecks::run() {
  auto verdict = co_await direct();
  if (!verdict.ready()) co_return verdict;
  co_return co_await request_path();
}

asio::awaitable<ReadinessVerdict> ReadinessChecks::direct() {
  try {
    auto conn = co_await direct_.acquire();
    co_await conn->execute("SELECT 1");
    try {
      const auto status = co_await db::migration_status(*conn, db::embedded_migrations());
      if (!status.current()) {
        co_return ReadinessVerdict{
            .failed_check = "migrations",
            .message = std::to_string(status.pending.size()) + " migration(s) pending"};
      }
    } catch (const db::MigrationError& e) {
      co_return ReadinessVerdict{.failed_check = "migrations", .message = e.what()};
    }
  } catch (const std::exception& e) {
    co_return ReadinessVerdict{.failed_check = "database", .message = e.what()};
  }
  co_return ReadinessVerdict{};
}

asio::awaitable<ReadinessVerdict> ReadinessChecks::request_path() {
  const auto started = Clock::now();
  std::string failure;
  try {
    auto conn = co_await requests_.acquire(
        db::AcquireOptions{.timeout = kRequestPathDeadline, .first_in_line = true});
    // The statement gets what is left of the deadline; the connection's own deadline is put
    // back before it returns to the pool (one that missed it is dropped anyway).
    struct RestoreDeadline {
      db::Connection& conn;
      std::chrono::milliseconds timeout;
      ~RestoreDeadline() { conn.set_operation_timeout(timeout); }
    } restore{*conn, requests_.options().operation_timeout};
    const auto left = kRequestPathDeadline -
                      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    conn->set_operation_timeout(std::max(std::chrono::milliseconds(1), left));
    co_await conn->execute("SELECT 1");
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (failure.empty()) co_return ReadinessVerdict{};
  co_return ReadinessVerdict{.failed_check = "request_pool",
                             .message = "the request pool '" + requests_.options().name +
                                        "' (DATABASE_URL) did not " + "answer SELECT 1 within " +
                                        std::to_string(kRequestPathDeadline.count()) +
                                        " ms: " + failure};
}

}  // namespace folio::api::detail
