// DDL on live tables without queueing writers: a statement that needs a strong lock waits at
// most `lock_timeout`; while it waits, every writer that arrives queues behind it, so the
// wait must stay short. On a timeout the whole transaction is retried after a backoff; when
// the attempts run out the error names the sessions that held the tables.
//
// Thread-safety: stateless; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "folio/db/pool.hpp"
#include "folio/db/transaction.hpp"

namespace folio::cutover {

// Runs first in a transaction that changes data on behalf of a scheduled job: throws unless
// the job still holds its lease (jobs::JobContext::fence). Empty: no fencing.
using Fence = std::function<boost::asio::awaitable<void>(db::Transaction&)>;

struct LockRetryOptions {
  std::chrono::milliseconds lock_timeout{500};
  int attempts = 5;
  std::chrono::milliseconds backoff{1000};  // doubled after each failed attempt, capped at 10 s
  Fence fence;                              // run before `body` in every attempt when set
};

// Runs `options.fence` (when set) and `body` in one transaction with SET LOCAL lock_timeout
// and commits. Throws
// db::LockNotAvailable (message: what, tables, and the pid, age and query of each session
// holding a lock on them) after `attempts` timeouts; other errors propagate at once.
boost::asio::awaitable<void> with_lock_retry(
    db::Pool& pool, std::string what, std::vector<std::string> tables,
    const LockRetryOptions& options,
    std::function<boost::asio::awaitable<void>(db::Transaction&)> body);

}  // namespace folio::cutover
