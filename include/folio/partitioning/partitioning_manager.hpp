// PartitioningManager: where each service query goes, legacy or partitioned (SPEC §3).
//
// The answer for (table, org) is resolve(snapshot, org, env_default): the organization's
// pilot row, else the fleet row of partition_routing, else the environment default
// (USE_PARTITIONED_TABLES). The snapshot lives in memory; route_query never touches the
// database.
//
// The partition layout (months and hash modulus, layout.hpp) is reloaded with the routing,
// so a month added by maintenance is named directly after the next reload and read through
// the parent until then.
//
// Freshness: start() loads the table, then a listener keeps a direct (non-PgBouncer)
// connection LISTENing on kRoutingChannel and reloads the snapshot on every notification, so
// a running server follows a change within about a second. While that connection is down
// (or no direct DSN is configured) a poller reloads through the pool every poll_interval;
// while it is up the poller still runs every safety_poll_interval in case a notification was
// lost. The listener reconnects with backoff and reloads after every (re)connect.
//
// Observability: every decision increments folio_routing_decisions_total{table,target,
// reason} (reason default|fleet|pilot) and a sampled fraction is logged as JSON
// ("routing decision", {table, org_id, target, reason, version}). Reloads are counted in
// folio_routing_reloads_total{source=listen|poll|start}; folio_routing_listener_up says
// whether LISTEN is live, folio_routing_version and folio_routing_pilots describe the
// snapshot.
//
// Thread-safety: route_query(), snapshot() and listening() may be called from any thread
// (the snapshot is swapped atomically). start() and stop() run on the executor given at
// construction, as do the background loops.
// REQUIRES: the pool outlives the manager, and stop() completes before either is destroyed
// while the loops run.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "folio/db/pool.hpp"
#include "folio/obs/metrics.hpp"
#include "folio/partitioning/layout.hpp"
#include "folio/partitioning/routing_store.hpp"
#include "folio/partitioning/table.hpp"

namespace folio::partitioning {

enum class Reason { default_, fleet, pilot };
std::string_view to_string(Reason reason);

struct Decision {
  Target target = Target::legacy;
  Reason reason = Reason::default_;
  std::string_view table_name;  // physical_name(table, target): static storage
  // With target partitioned: the layout in force, to name the organization's leaves
  // (PartitionLayout::source). Never null.
  std::shared_ptr<const PartitionLayout> layout;
};

// Which rule decided for `org`: pilot row, fleet row or the default.
Decision decide(const RoutingSnapshot& snapshot, Table table, std::int64_t org, Target env_default);

struct PartitioningOptions {
  Target env_default = Target::legacy;  // USE_PARTITIONED_TABLES
  // Direct connection to the primary for LISTEN (not through PgBouncer, which cannot keep
  // a LISTEN across transactions). Empty: poll only.
  std::string listen_dsn;
  // Reload period while the listener is down or not configured.
  std::chrono::milliseconds poll_interval{1000};
  // Reload period while the listener is up (a notification lost on the way still lands).
  std::chrono::milliseconds safety_poll_interval{30000};
  // Fraction of decisions logged.
  double log_sample_rate = 0.001;
  obs::Registry* registry = &obs::Registry::global();
};

// Parses USE_PARTITIONED_TABLES: true/false, 1/0, yes/no, on/off (any case); unset or
// empty means false. Throws std::invalid_argument on anything else.
Target env_default_from(const char* value);

class PartitioningManager {
 public:
  PartitioningManager(boost::asio::any_io_executor executor, db::Pool& pool,
                      PartitioningOptions options);
  ~PartitioningManager();
  PartitioningManager(const PartitioningManager&) = delete;
  PartitioningManager& operator=(const PartitioningManager&) = delete;

  // Loads the snapshot (throws db::Error when the database cannot be read) and starts the
  // listener and poller. Call once.
  boost::asio::awaitable<void> start();
  // Stops the loops and waits for them to finish (at most about a second).
  boost::asio::awaitable<void> stop();

  // Legacy or partitioned for this query; counted and sampled into the log.
  Target route_query(Table table, std::int64_t org);
  // The same decision with its reason and the physical table name to use in SQL.
  Decision route(Table table, std::int64_t org);

  std::shared_ptr<const RoutingSnapshot> snapshot() const;
  // The partition layout, reloaded with every routing reload (start, notification, poll).
  std::shared_ptr<const PartitionLayout> layout() const;
  Target env_default() const noexcept { return options_.env_default; }
  bool listening() const noexcept;

  // Reloads now (through the pool). Returns true when the snapshot changed.
  boost::asio::awaitable<bool> reload();

 private:
  struct State;
  PartitioningOptions options_;
  std::shared_ptr<State> state_;
};

}  // namespace folio::partitioning
