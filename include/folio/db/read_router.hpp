// Where one worker's reads go: a healthy replica when the read may be slightly stale and the
// replica has replayed everything the caller must see, else the primary.
//
//   read(policy, body)   body(Pool&) -> awaitable<R> runs on the pool chosen:
//     - policy.primary_only, zero replicas, none in rotation  -> primary
//     - policy.min_lsn set and no replica in rotation has replayed it (read-your-writes)
//                                                              -> primary, counted as a redirect
//     - otherwise a replica picked by the ReplicaManager's policy; if the body fails there
//       with a db::Error it runs once more on the primary ("primary-fallback"), and a
//       connection-level failure (ConnectionError, PoolTimeout) takes the replica out of
//       rotation at once (ReplicaManager::report_failure).
//     - a replica read that has not finished within replica_deadline is abandoned (its
//       connection is dropped) and treated as a connection-level failure: through PgBouncer,
//       a query for a replica that just died would otherwise wait for a server connection
//       until PgBouncer's query_wait_timeout.
//
// Writes never come here: they use the primary pool directly.
//
// Metrics: folio_db_reads_total{target="primary"|"replica"|"primary-fallback"},
// folio_db_read_your_writes_redirects_total.
//
// Thread-safety: bound to one worker's executor, like its pools. The ReplicaManager is
// shared between workers (its choose() is thread-safe).
// REQUIRES: the primary pool and the manager outlive the router; replicas[i] is the pool of
// manager->replicas()[i] on this worker's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "folio/db/errors.hpp"
#include "folio/db/lsn.hpp"
#include "folio/db/pool.hpp"
#include "folio/db/replica_manager.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::db {

struct ReadPolicy {
  std::optional<Lsn> min_lsn;  // the replica must have replayed this position
  bool primary_only = false;   // freshness cannot be judged (e.g. the shared markers are
                               // unreachable): read from the primary
};

class ReadRouter {
 public:
  // `manager` may be null (no replicas): every read goes to the primary.
  // replica_deadline 0: none.
  ReadRouter(Pool& primary, std::vector<std::unique_ptr<Pool>> replicas, ReplicaManager* manager,
             std::chrono::milliseconds replica_deadline = std::chrono::milliseconds(0));

  // True when some replica is in rotation, so a read might leave the primary: callers may
  // skip looking up freshness markers otherwise.
  bool replicas_usable() const noexcept {
    return manager_ != nullptr && manager_->any_in_rotation();
  }
  bool has_replicas() const noexcept { return !replicas_.empty(); }
  Pool& primary() noexcept { return primary_; }

  template <typename Body>
  std::invoke_result_t<Body&, Pool&> read(ReadPolicy policy, Body body) {
    const std::optional<std::size_t> replica = choose(policy);
    if (!replica) {
      primary_reads_.inc();
      co_return co_await body(primary_);
    }
    std::exception_ptr failure;
    try {
      auto result = co_await with_deadline(body(*replicas_[*replica]));
      replica_reads_.inc();
      co_return result;
    } catch (const Error&) {
      failure = std::current_exception();
    }
    replica_failed(*replica, failure);
    fallback_reads_.inc();
    co_return co_await body(primary_);
  }

 private:
  template <typename T>
  boost::asio::awaitable<T> with_deadline(boost::asio::awaitable<T> op) {
    using namespace boost::asio::experimental::awaitable_operators;
    if (replica_deadline_.count() <= 0) co_return co_await std::move(op);
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, replica_deadline_);
    auto outcome = co_await (std::move(op) || timer.async_wait(boost::asio::use_awaitable));
    if (outcome.index() == 1) {
      throw ConnectionError("", "replica read did not finish within " +
                                    std::to_string(replica_deadline_.count()) + " ms");
    }
    co_return std::move(std::get<0>(outcome));
  }

  // The replica to read from, or nullopt for the primary (redirects are counted here).
  std::optional<std::size_t> choose(const ReadPolicy& policy);
  void replica_failed(std::size_t replica, std::exception_ptr failure);

  Pool& primary_;
  std::vector<std::unique_ptr<Pool>> replicas_;
  ReplicaManager* manager_;
  std::chrono::milliseconds replica_deadline_;
  obs::Counter& primary_reads_;
  obs::Counter& replica_reads_;
  obs::Counter& fallback_reads_;
  obs::Counter& redirects_;
};

}  // namespace folio::db
