// Where one worker's reads go: a healthy replica when the read may be slightly stale and the
// replica has replayed everything the caller must see, else the primary.
//
//   read(policy, body)   body(Pool&, ReadGuard&) -> awaitable<R> runs on the pool chosen:
//     - policy.primary_only, zero replicas, none in rotation  -> primary
//     - no policy.min_lsn                                      -> a replica picked by the
//                                                                 ReplicaManager's policy
//     - policy.min_lsn set (read-your-writes), a replica in rotation known (last health check,
//       or a guard since) to have replayed it                  -> such a replica
//     - policy.min_lsn set, none known to have replayed it     -> a replica in rotation whose
//       replay is not known to be paused, with a required ReadGuard (read_guard.hpp): the
//       body runs the guard's statement in the read's own transaction, before its reads, and
//       passes the result to guard.confirm(). If the guard does not confirm, the body's
//       result is discarded and the body runs again on the primary, counted as a redirect
//       and a rejected guarded read. What the guard saw (the replica's replay position, a
//       paused replay) goes to ReplicaManager::observe_replay(), so reads of positions up to
//       it need no guard until the next health check.
//     - policy.min_lsn set and no replica to try (every one's replay paused, or the largest
//       position, "unknown")                                   -> primary, counted as a redirect
//     - on a replica, if the body fails with a db::Error it runs once more on the primary
//       ("primary-fallback"), and a connection-level failure (ConnectionError, PoolTimeout)
//       takes the replica out of rotation at once (ReplicaManager::report_failure).
//     - a replica read that has not finished within replica_deadline is abandoned (its
//       connection is dropped) and treated as a connection-level failure: through PgBouncer,
//       a query for a replica that just died would otherwise wait for a server connection
//       until PgBouncer's query_wait_timeout.
//     On the primary the body gets a ReadGuard that is not required (nothing to confirm).
//
// Writes never come here: they use the primary pool directly.
//
// Metrics: folio_db_reads_total{target="primary"|"replica"|"primary-fallback"} (where the
// result served came from), folio_db_read_your_writes_redirects_total,
// folio_db_guarded_reads_total{result="confirmed"|"rejected"}.
//
// Thread-safety: bound to one worker's executor, like its pools. The ReplicaManager is
// shared between workers (its choose() and observe_replay() are thread-safe).
// REQUIRES: the primary pool and the manager outlive the router; replicas[i] is the pool of
// manager->replicas()[i] on this worker's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "folio/db/errors.hpp"
#include "folio/db/lsn.hpp"
#include "folio/db/pool.hpp"
#include "folio/db/read_guard.hpp"
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
  std::invoke_result_t<Body&, Pool&, ReadGuard&> read(ReadPolicy policy, Body body) {
    const Route route = choose(policy);
    ReadGuard unguarded;
    if (!route.replica) {
      primary_reads_.inc();
      co_return co_await body(primary_, unguarded);
    }
    ReadGuard guard = route.guard;
    std::exception_ptr failure;
    try {
      auto result = co_await with_deadline(body(*replicas_[*route.replica], guard));
      if (guard.passed()) {
        served_by_replica(route, guard);
        co_return result;
      }
    } catch (const Error&) {
      failure = std::current_exception();
    }
    if (failure) {
      replica_failed(*route.replica, failure);
      fallback_reads_.inc();
    } else {
      rejected_by_replica(route, guard);
      primary_reads_.inc();
    }
    co_return co_await body(primary_, unguarded);
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

  struct Route {
    std::optional<std::size_t> replica;  // nullopt: the primary
    std::uint64_t generation = 0;        // ReplicaChoice::generation
    ReadGuard guard;                     // required when the replica is not known caught up
  };

  // The replica to read from, or nullopt for the primary (redirects are counted here).
  Route choose(const ReadPolicy& policy);
  // The read is served by the replica: counts it, learns what its guard saw.
  void served_by_replica(const Route& route, const ReadGuard& guard);
  // The replica's guard did not confirm: counts the redirect, learns what the guard saw.
  void rejected_by_replica(const Route& route, const ReadGuard& guard);
  void observe(const Route& route, const ReadGuard& guard);
  void replica_failed(std::size_t replica, std::exception_ptr failure);

  Pool& primary_;
  std::vector<std::unique_ptr<Pool>> replicas_;
  ReplicaManager* manager_;
  std::chrono::milliseconds replica_deadline_;
  obs::Counter& primary_reads_;
  obs::Counter& replica_reads_;
  obs::Counter& fallback_reads_;
  obs::Counter& redirects_;
  obs::Counter& guard_confirmed_;
  obs::Counter& guard_rejected_;
};

}  // namespace folio::db
