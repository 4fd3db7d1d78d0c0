#include "folio/db/pool_metrics.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "detail/pool_registry.hpp"
#include "folio/db/pool.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::db {

namespace {

// What destroyed pools counted, per pool name, so the exported counters never go down.
struct Retired {
  std::uint64_t acquire_timeouts = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_dropped = 0;
};

struct LivePools {
  std::mutex mu;
  std::vector<const Pool*> pools;          // GUARDED_BY(mu)
  std::map<std::string, Retired> by_name;  // GUARDED_BY(mu); every name ever registered
};

LivePools& live_pools() {
  static LivePools live;
  return live;
}

struct Totals {
  double idle = 0, in_use = 0, max = 0, waiting = 0;
  double acquire_timeouts = 0, opened = 0, dropped = 0;
};

void raise_counter(obs::Counter& counter, double total) {
  // Collectors run one at a time, so nobody else moves the counter between read and inc.
  if (total > counter.value()) counter.inc(total - counter.value());
}

void collect(obs::Registry& registry) {
  std::map<std::string, Totals> totals;
  {
    auto& live = live_pools();
    std::lock_guard lock(live.mu);
    for (const auto& [name, retired] : live.by_name) {
      auto& t = totals[name];
      t.acquire_timeouts = static_cast<double>(retired.acquire_timeouts);
      t.opened = static_cast<double>(retired.connections_opened);
      t.dropped = static_cast<double>(retired.connections_dropped);
    }
    for (const Pool* pool : live.pools) {
      const PoolStats s = pool->stats();
      auto& t = totals[pool->options().name];
      t.idle += static_cast<double>(s.idle);
      t.in_use += static_cast<double>(s.in_use);
      t.max += static_cast<double>(pool->options().max_size);
      t.waiting += static_cast<double>(s.waiting);
      t.acquire_timeouts += static_cast<double>(s.acquire_timeouts);
      t.opened += static_cast<double>(s.connections_opened);
      t.dropped += static_cast<double>(s.connections_dropped);
    }
  }
  // Outside the lock: registration takes the registry's own mutex.
  for (const auto& [name, t] : totals) {
    registry
        .gauge("folio_db_pool_connections", "Open connections of the pool, by state",
               {{"pool", name}, {"state", "idle"}})
        .set(t.idle);
    registry
        .gauge("folio_db_pool_connections", "Open connections of the pool, by state",
               {{"pool", name}, {"state", "in_use"}})
        .set(t.in_use);
    registry
        .gauge("folio_db_pool_max_connections", "Connections the pool may open at most",
               {{"pool", name}})
        .set(t.max);
    registry
        .gauge("folio_db_pool_waiting", "Callers waiting for a free connection", {{"pool", name}})
        .set(t.waiting);
    raise_counter(
        registry.counter("folio_db_pool_acquire_timeouts_total",
                         "Acquires that gave up waiting for a free connection", {{"pool", name}}),
        t.acquire_timeouts);
    raise_counter(registry.counter("folio_db_pool_connections_opened_total",
                                   "Connections the pool opened", {{"pool", name}}),
                  t.opened);
    raise_counter(
        registry.counter("folio_db_pool_connections_dropped_total",
                         "Broken or unusable connections the pool discarded", {{"pool", name}}),
        t.dropped);
  }
}

}  // namespace

namespace detail {

void register_pool(const Pool& pool) noexcept {
  auto& live = live_pools();
  std::lock_guard lock(live.mu);
  live.pools.push_back(&pool);
  live.by_name.try_emplace(pool.options().name);
}

void unregister_pool(const Pool& pool) noexcept {
  auto& live = live_pools();
  std::lock_guard lock(live.mu);
  live.pools.erase(std::remove(live.pools.begin(), live.pools.end(), &pool), live.pools.end());
  const PoolStats s = pool.stats();
  auto& retired = live.by_name[pool.options().name];
  retired.acquire_timeouts += s.acquire_timeouts;
  retired.connections_opened += s.connections_opened;
  retired.connections_dropped += s.connections_dropped;
}

}  // namespace detail

void install_pool_metrics() {
  static std::once_flag once;
  std::call_once(once, [] { obs::Registry::global().add_collector(collect); });
}

}  // namespace folio::db
