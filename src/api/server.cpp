#include "folio/api/server.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "detail/context.hpp"
#include "detail/session.hpp"
#include "folio/cache/errors.hpp"
#include "folio/cache/redis_config.hpp"
#include "folio/cutover/sync_failure.hpp"
#include "folio/db/pool_metrics.hpp"
#include "folio/partitioning/routing_store.hpp"

namespace folio::api {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using detail::Shared;
using detail::Worker;

namespace {

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// One worker thread's world. The io_context is declared first so it is destroyed last,
// after everything bound to it.
struct Slot {
  asio::io_context io{1};
  std::unique_ptr<Worker> worker;
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
};

}  // namespace

struct Server::Impl {
  explicit Impl(ServerOptions o) : options(std::move(o)), shared(options) {
    cutover::register_sync_failure_metrics();
  }

  ServerOptions options;
  Shared shared;
  std::vector<std::unique_ptr<Slot>> slots;
  std::unique_ptr<partitioning::PartitioningManager> routing;
  std::unique_ptr<db::ReplicaManager> replicas;
  std::optional<asio::signal_set> signals;  // on slot 0
  std::optional<asio::steady_timer> retry;  // the routing start's backoff, on slot 0
  std::atomic<bool> stop_started{false};
  std::atomic<bool> routing_loop_done{false};
  std::atomic<int> exit_code{0};

  asio::io_context& io0() { return slots.front()->io; }

  void build();
  void build_replicas();
  void build_cache();
  void check_cache();
  asio::awaitable<void> start_replicas();
  std::uint16_t bind();
  asio::awaitable<void> accept_loop(Worker& w, tcp::acceptor& acceptor);
  asio::awaitable<void> start_routing();
  void begin_shutdown(const std::string& why);
  asio::awaitable<void> shutdown();
};

void Server::Impl::build() {
  if (options.workers < 1) throw std::invalid_argument("workers must be at least 1");
  for (int i = 0; i < options.workers; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->worker = std::make_unique<Worker>(shared, slot->io.get_executor(), i);
    slots.push_back(std::move(slot));
  }
  partitioning::PartitioningOptions popts;
  popts.env_default = options.env_default;
  popts.listen_dsn = options.direct_database_url;
  popts.poll_interval = options.routing_poll_interval;
  popts.log_sample_rate = options.routing_log_sample_rate;
  routing = std::make_unique<partitioning::PartitioningManager>(io0().get_executor(),
                                                                slots.front()->worker->pool, popts);
  shared.routing = routing.get();
  shared.routing_executor = io0().get_executor();
  build_replicas();
  build_cache();
  finance::RepositoryOptions ropts;
  ropts.statement_timeout = options.statement_timeout;
  for (auto& slot : slots) {
    auto& w = *slot->worker;
    const finance::DataPaths paths{
        .router = w.reads.get(), .positions = shared.write_positions.get(), .cache = w.cache.get()};
    w.finance = std::make_unique<finance::FinanceRepository>(w.pool, *routing, ropts, paths);
    w.reports = std::make_unique<finance::ReportsRepository>(w.pool, *routing, ropts, paths);
  }
  db::install_pool_metrics();
}

namespace {

// How long an organization's latest write position is kept: the lag limit plus two health
// rounds, so a replica judged within the limit has replayed any write older than that.
std::chrono::milliseconds write_position_ttl(const ServerOptions& o) {
  return o.replica_max_lag + 2 * o.replica_check_interval;
}

}  // namespace

// One ReplicaManager for the process (health loop on worker 0); per worker, one pool per
// replica and the read router over them.
void Server::Impl::build_replicas() {
  db::ReplicaManagerOptions ropts;
  ropts.primary_dsn =
      options.direct_database_url.empty() ? options.database_url : options.direct_database_url;
  ropts.replicas = db::parse_replica_urls(options.replica_urls, options.replica_health_urls);
  ropts.health.interval = options.replica_check_interval;
  ropts.health.max_lag = options.replica_max_lag;
  ropts.health.max_lag_bytes = options.replica_max_lag_bytes;
  replicas = std::make_unique<db::ReplicaManager>(
      io0().get_executor(), ropts, db::make_selection_policy(options.replica_policy));
  shared.replicas = replicas.get();
  shared.write_positions = std::make_unique<db::WritePositions>(write_position_ttl(options));
  const std::size_t size =
      options.replica_pool_size > 0 ? options.replica_pool_size : options.pool_size;
  for (auto& slot : slots) {
    auto& w = *slot->worker;
    std::vector<std::unique_ptr<db::Pool>> pools;
    for (const auto& replica : replicas->replicas()) {
      pools.push_back(std::make_unique<db::Pool>(
          w.executor, db::PoolOptions{.dsn = replica.dsn,
                                      .name = "replica:" + replica.name,
                                      .max_size = size,
                                      .acquire_timeout = options.acquire_timeout,
                                      .connect_timeout = detail::request_connect_timeout(options),
                                      .operation_timeout = detail::operation_deadline(options)}));
    }
    // A replica read gets the statement timeout plus a margin before it is abandoned for the
    // primary (read_router.hpp).
    w.reads = std::make_unique<db::ReadRouter>(
        w.pool, std::move(pools), replicas.get(),
        options.statement_timeout + std::chrono::milliseconds(500));
  }
}

// With a Redis URL: one breaker for the process; per worker, a Redis pool and the cache.
void Server::Impl::build_cache() {
  if (options.redis_url.empty()) return;
  auto config = cache::RedisConfig::from_url(options.redis_url);
  config.ca_file = options.redis_ca_file;
  config.command_timeout = options.redis_command_timeout;
  config.connect_timeout =
      std::max(options.redis_command_timeout * 5, std::chrono::milliseconds(500));
  shared.breaker = std::make_unique<cache::CircuitBreaker>();
  cache::CacheOptions copts;
  copts.ttl = options.cache_ttl;
  copts.write_position_ttl = write_position_ttl(options);
  for (auto& slot : slots) {
    auto& w = *slot->worker;
    w.redis = std::make_unique<cache::RedisPool>(
        w.executor, cache::RedisPoolOptions{.config = config, .max_size = options.redis_pool_size});
    w.cache = std::make_unique<cache::CacheService>(*w.redis, *shared.breaker, copts);
  }
}

// Connects to Redis once before serving, so a wrong CA file or password is refused at start
// with the reason (or, with cache_fail_open, logged while the service runs without the cache).
// An unreachable Redis is not refused: the breaker keeps the service on the database until
// it answers.
void Server::Impl::check_cache() {
  auto& w = *slots.front()->worker;
  if (!w.redis) return;
  asio::io_context io;
  cache::RedisPool probe(io.get_executor(), w.redis->options());
  auto done = asio::co_spawn(io, probe.check(), asio::use_future);
  io.run();
  const std::string url = cache::redact_url(options.redis_url);
  try {
    done.get();
    shared.log.info("cache ready", {{"redis", url}});
  } catch (const cache::RedisTlsError& e) {
    if (!options.cache_fail_open) throw std::runtime_error(std::string("redis: ") + e.what());
    shared.breaker->trip();
    shared.log.error("redis refused; serving without the cache (cache fail-open)",
                     {{"redis", url}, {"error", e.what()}});
  } catch (const cache::RedisAuthError& e) {
    if (!options.cache_fail_open) throw std::runtime_error(std::string("redis: ") + e.what());
    shared.breaker->trip();
    shared.log.error("redis refused; serving without the cache (cache fail-open)",
                     {{"redis", url}, {"error", e.what()}});
  } catch (const cache::RedisError& e) {
    shared.breaker->trip();
    shared.log.warn("redis unreachable at start; serving from the database until it answers",
                    {{"redis", url}, {"error", e.what()}});
  }
}

asio::awaitable<void> Server::Impl::start_replicas() { co_await replicas->start(); }

// Every worker listens on the same port; the kernel spreads new connections (SO_REUSEPORT).
std::uint16_t Server::Impl::bind() {
  tcp::endpoint endpoint(asio::ip::make_address(options.listen_host), options.listen_port);
  for (auto& slot : slots) {
    auto& acceptor = slot->acceptor.emplace(slot->io);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.set_option(ReusePort(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    endpoint.port(acceptor.local_endpoint().port());  // port 0: the others take the same
  }
  return endpoint.port();
}

asio::awaitable<void> Server::Impl::accept_loop(Worker& w, tcp::acceptor& acceptor) {
  obs::LogLimiter limiter(std::chrono::seconds(5));
  asio::steady_timer pause(w.executor);
  while (acceptor.is_open() && !shared.shutting_down.load()) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || shared.shutting_down.load()) break;
    if (ec) {
      // Out of file descriptors and the like: say so, breathe, go on.
      shared.log.log_limited(limiter, obs::Level::kWarn, "accept failed",
                             {{"error", ec.message()}});
      pause.expires_after(std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(w.executor, detail::serve_connection(w, std::move(socket)), asio::detached);
  }
}

// Loads the routing snapshot, retrying while the database is unreachable: org endpoints
// answer 503 and /readyz says why until it has loaded. PartitioningManager::start runs once,
// so the snapshot is first read here until it can be; if start still fails (the database
// went away in between) the process exits with 1 for its supervisor to restart it.
asio::awaitable<void> Server::Impl::start_routing() {
  obs::LogLimiter limiter(std::chrono::seconds(10));
  auto delay = std::chrono::milliseconds(200);
  auto& pool = slots.front()->worker->pool;
  while (!shared.shutting_down.load()) {
    std::string error;
    try {
      co_await partitioning::RoutingStore::load(pool);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (error.empty()) break;
    shared.log.log_limited(limiter, obs::Level::kWarn, "routing not loaded yet; retrying",
                           {{"error", error}});
    retry->expires_after(delay);
    co_await retry->async_wait(asio::as_tuple(asio::use_awaitable));
    delay = std::min(delay * 2, std::chrono::milliseconds(5000));
  }
  if (!shared.shutting_down.load()) {
    std::string error;
    try {
      co_await routing->start();
      shared.routing_loaded = true;
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      shared.log.error("routing could not start; exiting", {{"error", error}});
      exit_code = 1;
      begin_shutdown("routing failed");
    }
  }
  routing_loop_done = true;
}

void Server::Impl::begin_shutdown(const std::string& why) {
  if (stop_started.exchange(true)) return;
  asio::post(io0(), [this, why] {
    shared.log.info("shutting down",
                    {{"reason", why}, {"open_connections", shared.open_connections.load()}});
    shared.shutting_down = true;
    asio::co_spawn(io0(), shutdown(), asio::detached);
  });
}

// Stop accepting, close idle connections, let busy ones finish within the grace period,
// stop the routing loops, then let every io_context run out of work.
asio::awaitable<void> Server::Impl::shutdown() {
  const auto deadline = std::chrono::steady_clock::now() + options.shutdown_grace;
  if (signals) signals->cancel();
  if (retry) retry->cancel();
  for (auto& slot : slots) {
    asio::post(slot->io, [&slot = *slot] {
      boost::system::error_code ignored;
      if (slot.acceptor) slot.acceptor->close(ignored);
      detail::close_idle(*slot.worker);
    });
  }
  asio::steady_timer tick(io0());
  // A little of the grace period is kept for stopping the routing loops.
  const auto drain_deadline = deadline - options.shutdown_grace / 10;
  while ((shared.open_connections.load() > 0 || !routing_loop_done.load()) &&
         std::chrono::steady_clock::now() < drain_deadline) {
    tick.expires_after(std::chrono::milliseconds(10));
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    // Connections that went idle after the first pass (keep-alive, response sent).
    for (auto& slot : slots) {
      asio::post(slot->io, [&slot = *slot] { detail::close_idle(*slot.worker); });
    }
  }
  if (shared.routing_loaded.load()) co_await routing->stop();
  co_await replicas->stop();
  const int left = shared.open_connections.load();
  if (left > 0) {
    // Their coroutines still hold the workers' pools: no orderly teardown is possible.
    shared.log.warn("grace period over; exiting with requests unfinished",
                    {{"open_connections", left}});
    std::_Exit(exit_code.load());
  }
  shared.log.info("stopped", {{"exit_code", exit_code.load()}});
  for (auto& slot : slots) slot->io.stop();
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() = default;

void Server::stop() { impl_->begin_shutdown("stop requested"); }

int Server::run() {
  auto& impl = *impl_;
  impl.build();
  impl.check_cache();
  const auto port = impl.bind();
  impl.shared.log.info("listening", {{"host", impl.options.listen_host},
                                     {"port", port},
                                     {"workers", impl.options.workers},
                                     {"max_body_bytes", impl.options.max_body_bytes}});
  impl.signals.emplace(impl.io0(), SIGINT, SIGTERM);
  impl.signals->async_wait([&impl](const boost::system::error_code& ec, int signal) {
    if (!ec) impl.begin_shutdown(signal == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  impl.retry.emplace(impl.io0());
  asio::co_spawn(impl.io0(), impl.start_routing(), asio::detached);
  asio::co_spawn(impl.io0(), impl.start_replicas(), asio::detached);
  for (auto& slot : impl.slots) {
    asio::co_spawn(slot->io, impl.accept_loop(*slot->worker, *slot->acceptor), asio::detached);
  }
  for (std::size_t i = 1; i < impl.slots.size(); ++i) {
    auto& slot = *impl.slots[i];
    slot.thread = std::thread([&slot] { slot.io.run(); });
  }
  // If a connection does not finish in time the loops above cannot end cleanly: the
  // watchdog ends the process at the grace period's end plus a margin.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mu);
    while (!finished && !impl.stop_started.load())
      cv.wait_for(lock, std::chrono::milliseconds(100));
    if (finished) return;
    const auto limit = impl.options.shutdown_grace + std::chrono::seconds(2);
    if (!cv.wait_for(lock, limit, [&] { return finished; })) {
      impl.shared.log.error("shutdown took longer than the grace period; exiting now");
      std::_Exit(impl.exit_code.load());
    }
  });
  impl.io0().run();
  for (auto& slot : impl.slots) {
    if (slot->thread.joinable()) slot->thread.join();
  }
  {
    std::lock_guard lock(mu);
    finished = true;
  }
  cv.notify_all();
  watchdog.join();
  return impl.exit_code.load();
}

}  // namespace folio::api
