// The database part of /readyz for one worker: the database answers on the direct endpoint,
// its schema is at this binary's migrations, and the path requests take — the worker's
// request pool, through PgBouncer in production — answers too.
//
// The request path is checked with a short deadline of its own (kRequestPathDeadline, for
// taking a connection and running SELECT 1 together): a paused PgBouncer accepts the
// statement, or even the connection, and then never answers. The check takes its connection
// ahead of the requests waiting for one, so it neither queues behind them nor holds a
// connection of theirs for longer than that deadline; past it the connection is cancelled
// and dropped, like a request's.
//
// Probes may come faster than checks finish: a verdict is reused for kVerdictFreshFor after
// its check ended, and probes arriving while a check runs wait for that check instead of
// starting another. So a worker runs one check at a time, at most about two a second.
//
// Thread-safety: one per worker, used only from that worker's executor.
// REQUIRES: `requests` (the worker's request pool) outlives the checks.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "folio/api/server.hpp"
#include "folio/db/pool.hpp"

namespace folio::api::detail {

inline constexpr std::chrono::milliseconds kRequestPathDeadline{1000};
inline constexpr std::chrono::milliseconds kVerdictFreshFor{500};

struct ReadinessVerdict {
  // Empty: ready. Else "database" (the direct endpoint), "migrations" or "request_pool".
  std::string failed_check;
  std::string message;
  bool ready() const noexcept { return failed_check.empty(); }
};

class ReadinessChecks {
 public:
  ReadinessChecks(boost::asio::any_io_executor executor, const ServerOptions& options,
                  db::Pool& requests);
  ReadinessChecks(const ReadinessChecks&) = delete;
  ReadinessChecks& operator=(const ReadinessChecks&) = delete;
  ~ReadinessChecks();

  // The latest verdict if fresh, else the one of the check running or of a new check.
  // Never throws (but for the cancellation of the caller).
  boost::asio::awaitable<ReadinessVerdict> database();

 private:
  struct Round;

  boost::asio::awaitable<ReadinessVerdict> run();
  boost::asio::awaitable<ReadinessVerdict> direct();
  boost::asio::awaitable<ReadinessVerdict> request_path();

  boost::asio::any_io_executor executor_;
  db::Pool direct_;
  db::Pool& requests_;
  std::optional<ReadinessVerdict> last_;
  std::chrono::steady_clock::time_point last_at_;
  std::shared_ptr<Round> running_;  // the check in progress, null when none
};

}  // namespace folio::api::detail
