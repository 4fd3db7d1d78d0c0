// folio-server's HTTP service (SPEC §4): the finance, report and admin endpoints over
// HTTP/1.1 with keep-alive, on Boost.Beast and Asio coroutines. docs/api.md is the contract.
//
// Threads: `workers` threads, each with its own io_context, listening socket on the same
// port (SO_REUSEPORT: the kernel spreads connections), database pool and repositories, since
// a db::Pool and its connections belong to one executor. One PartitioningManager is shared
// (route_query is thread-safe); its loops run on worker 0.
//
// Lifecycle: run() binds, logs one JSON line {"msg":"listening","port":N,...}, starts the
// routing manager (retrying while the database is unreachable; org endpoints answer 503
// until it has loaded), serves, and returns 0 after SIGTERM or SIGINT (or stop()): it stops
// accepting, answers /readyz with 503, lets in-flight requests finish (keep-alive
// connections are closed after their current response; idle ones at once), stops the
// routing manager, and returns within shutdown_grace.
//
// Thread-safety: construct and run() on one thread; stop() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "folio/partitioning/routing_store.hpp"

namespace folio::api {

struct ServerOptions {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;  // 0: pick a free port (logged)
  std::string database_url;          // the pool's endpoint (PgBouncer in production)
  std::string direct_database_url;   // LISTEN for routing and readiness; empty: database_url
  partitioning::Target env_default = partitioning::Target::legacy;  // USE_PARTITIONED_TABLES
  std::size_t pool_size = 10;                                       // per worker
  std::chrono::milliseconds acquire_timeout{2000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds statement_timeout{5000};
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds routing_poll_interval{1000};
  double routing_log_sample_rate = 0.001;
  std::chrono::milliseconds token_cache_ttl{10000};
  std::size_t token_cache_entries = 10000;
  std::chrono::milliseconds shutdown_grace{10000};
  std::chrono::milliseconds idle_timeout{60000};  // a keep-alive connection with no request
  int workers = 1;

  // Read replicas (SPEC §5, docs/replicas-and-cache.md). Empty: none, reads use the primary.
  std::string replica_urls;         // REPLICA_URLS: reads (PgBouncer's replica databases)
  std::string replica_health_urls;  // REPLICA_HEALTH_URLS: health checks; empty: replica_urls
  std::string replica_policy = "round-robin";  // or "lowest-rtt"
  std::size_t replica_pool_size = 0;           // per worker and replica; 0: pool_size
  std::chrono::milliseconds replica_check_interval{1000};
  std::chrono::milliseconds replica_max_lag{5000};
  std::uint64_t replica_max_lag_bytes = std::uint64_t{16} << 20;

  // Redis cache and shared read-your-writes markers. Empty URL: no cache.
  std::string redis_url;            // rediss://user:password@host:port/db
  std::string redis_ca_file;        // PEM CA bundle for the server certificate; empty: system store
  std::size_t redis_pool_size = 8;  // per worker
  std::chrono::milliseconds redis_command_timeout{100};
  std::chrono::seconds cache_ttl{300};
  // A TLS or AUTH failure at start: false exits with the error; true serves from the
  // database without the cache (and keeps probing Redis).
  bool cache_fail_open = false;
  double access_log_sample_rate = 0.001;  // successful requests logged; errors always
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves until a signal or stop(); returns the process exit code (0 after a graceful
  // shutdown). Throws when the listening socket cannot be bound.
  int run();
  // Starts the graceful shutdown, as SIGTERM does.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace folio::api
