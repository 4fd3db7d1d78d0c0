// What a request handler works with: the process-wide state shared by the workers and the
// per-worker resources (pool, repositories) bound to that worker's executor.
//
// Thread-safety: Shared is read by every worker; its mutable members are atomics or
// thread-safe types. A Worker is used only from its own io_context's thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <optional>
#include <unordered_set>

#include "detail/http_metrics.hpp"
#include "detail/readiness.hpp"
#include "folio/api/server.hpp"
#include "folio/auth/token_cache.hpp"
#include "folio/cache/cache_service.hpp"
#include "folio/cache/circuit_breaker.hpp"
#include "folio/cache/redis_pool.hpp"
#include "folio/db/pool.hpp"
#include "folio/db/read_router.hpp"
#include "folio/db/replica_manager.hpp"
#include "folio/db/write_positions.hpp"
#include "folio/finance/finance_repository.hpp"
#include "folio/finance/reports_repository.hpp"
#include "folio/obs/log.hpp"
#include "folio/partitioning/partitioning_manager.hpp"

namespace folio::api::detail {

// The client-side deadline of every statement on the request pools: the statement timeout
// the server enforces, plus a second for the answer to travel. Past it the statement is
// cancelled and its connection dropped (db::Connection::set_operation_timeout), so a request
// never waits on a server or network that went silent.
inline std::chrono::milliseconds operation_deadline(const ServerOptions& o) {
  return o.statement_timeout + std::chrono::seconds(1);
}
// Opening a connection for a request: never longer than a statement may take (a server that
// accepts but does not answer must not hold a request past its deadline).
inline std::chrono::milliseconds request_connect_timeout(const ServerOptions& o) {
  return std::min(o.connect_timeout, operation_deadline(o));
}

struct Session;

struct Shared {
  explicit Shared(const ServerOptions& o)
      : options(o),
        token_cache(o.token_cache_ttl, o.token_cache_entries),
        access_sampler(o.access_log_sample_rate) {}

  const ServerOptions& options;
  auth::TokenCache token_cache;
  obs::Logger log{"api"};
  obs::Sampler access_sampler;
  obs::LogLimiter client_error_limiter{std::chrono::seconds(1)};
  // Set once before the workers serve; its loops run on routing_executor (worker 0).
  partitioning::PartitioningManager* routing = nullptr;
  boost::asio::any_io_executor routing_executor;
  // Set once before the workers serve; its health loop runs on worker 0. Always present
  // (with zero replicas it only says so).
  db::ReplicaManager* replicas = nullptr;
  std::unique_ptr<db::WritePositions> write_positions;
  // Null when no Redis is configured.
  std::unique_ptr<cache::CircuitBreaker> breaker;
  std::atomic<bool> routing_loaded{false};
  std::atomic<bool> shutting_down{false};
  std::atomic<int> open_connections{0};
};

struct Worker {
  Worker(Shared& s, boost::asio::any_io_executor ex, int i)
      : shared(s),
        executor(ex),
        index(i),
        pool(ex, db::PoolOptions{.dsn = s.options.database_url,
                                 .name = "primary",
                                 .max_size = s.options.pool_size,
                                 .acquire_timeout = s.options.acquire_timeout,
                                 .connect_timeout = request_connect_timeout(s.options),
                                 .operation_timeout = operation_deadline(s.options)}) {}

  Shared& shared;
  boost::asio::any_io_executor executor;
  int index;
  db::Pool pool;
  // Readiness checks (readiness.hpp), made on demand.
  std::unique_ptr<ReadinessChecks> readiness;
  std::unique_ptr<db::ReadRouter> reads;
  std::unique_ptr<cache::RedisPool> redis;     // null: no cache
  std::unique_ptr<cache::CacheService> cache;  // null: no cache
  std::unique_ptr<finance::FinanceRepository> finance;
  std::unique_ptr<finance::ReportsRepository> reports;
  HttpMetrics metrics;
  std::unordered_set<Session*> sessions;  // open connections (session.hpp)
};

}  // namespace folio::api::detail
