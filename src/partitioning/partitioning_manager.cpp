#include "folio/partitioning/partitioning_manager.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <stdexcept>
#include <string>

#include "folio/db/connection.hpp"
#include "folio/obs/log.hpp"

namespace folio::partitioning {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

constexpr std::array kTables = {Table::revenues, Table::expenses, Table::balances};
constexpr std::array kTargets = {Target::legacy, Target::partitioned};
constexpr std::array kReasons = {Reason::default_, Reason::fleet, Reason::pilot};

// How long the listener waits for a notification before checking for stop.
constexpr milliseconds kListenSlice{250};
// An idle LISTEN connection is probed this often, so a silently dead one is noticed.
constexpr milliseconds kListenProbe{10000};
constexpr milliseconds kConnectTimeout{3000};
constexpr milliseconds kMaxBackoff{5000};

std::size_t decision_index(Table table, Target target, Reason reason) {
  return (static_cast<std::size_t>(table) * kTargets.size() + static_cast<std::size_t>(target)) *
             kReasons.size() +
         static_cast<std::size_t>(reason);
}

}  // namespace

std::string_view to_string(Reason reason) {
  switch (reason) {
    case Reason::default_:
      return "default";
    case Reason::fleet:
      return "fleet";
    case Reason::pilot:
      return "pilot";
  }
  return "?";
}

Decision decide(const RoutingSnapshot& snapshot, Table table, std::int64_t org,
                Target env_default) {
  Decision d;
  if (auto it = snapshot.pilots.find(org); it != snapshot.pilots.end()) {
    d.target = it->second;
    d.reason = Reason::pilot;
  } else if (snapshot.fleet) {
    d.target = *snapshot.fleet;
    d.reason = Reason::fleet;
  } else {
    d.target = env_default;
    d.reason = Reason::default_;
  }
  d.table_name = physical_name(table, d.target);
  static const auto kNoLayout = std::make_shared<const PartitionLayout>();
  d.layout = kNoLayout;
  return d;
}

Target env_default_from(const char* value) {
  std::string v = value != nullptr ? value : "";
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v.empty() || v == "false" || v == "0" || v == "no" || v == "off") return Target::legacy;
  if (v == "true" || v == "1" || v == "yes" || v == "on") return Target::partitioned;
  throw std::invalid_argument("USE_PARTITIONED_TABLES must be true or false, got '" +
                              std::string(value) + "'");
}

struct PartitioningManager::State {
  State(asio::any_io_executor ex, db::Pool& p, const PartitioningOptions& o)
      : executor(ex), pool(&p), options(o), sampler(o.log_sample_rate), wake(ex), done(ex) {
    obs::Registry& r = *o.registry;
    for (Table t : kTables) {
      for (Target g : kTargets) {
        for (Reason why : kReasons) {
          decisions[decision_index(t, g, why)] = &r.counter(
              "folio_routing_decisions_total",
              "Routing decisions of the services' queries, by table, target and the rule "
              "that decided (default: USE_PARTITIONED_TABLES, fleet: the fleet row, pilot: "
              "an organization's pilot row).",
              {{"table", std::string(to_string(t))},
               {"target", std::string(to_string(g))},
               {"reason", std::string(to_string(why))}});
        }
      }
    }
    constexpr std::string_view kReloadHelp =
        "partition_routing snapshot reloads, by what triggered them.";
    reloads_start = &r.counter("folio_routing_reloads_total", kReloadHelp, {{"source", "start"}});
    reloads_listen = &r.counter("folio_routing_reloads_total", kReloadHelp, {{"source", "listen"}});
    reloads_poll = &r.counter("folio_routing_reloads_total", kReloadHelp, {{"source", "poll"}});
    reload_failures = &r.counter("folio_routing_reload_failures_total",
                                 "partition_routing reloads that failed (the old snapshot "
                                 "stays in force).");
    listener_up = &r.gauge("folio_routing_listener_up",
                           "1 while the LISTEN connection for routing changes is live.");
    version = &r.gauge("folio_routing_version",
                       "partition_routing_version of the routing snapshot in force.");
    pilots = &r.gauge("folio_routing_pilots", "Pilot rows in the routing snapshot in force.");
    fleet_partitioned =
        &r.gauge("folio_routing_fleet_partitioned",
                 "1 when the fleet row routes to partitioned, 0 when to legacy or absent.");
    done.expires_at(asio::steady_timer::time_point::max());
    snapshot.store(std::make_shared<const RoutingSnapshot>());
    layout.store(std::make_shared<const PartitionLayout>());
  }

  // Loads the table; installs and reports the snapshot. Returns true when it changed.
  asio::awaitable<bool> reload(obs::Counter& source) {
    RoutingSnapshot fresh;
    try {
      fresh = co_await RoutingStore::load(*pool);
      auto fresh_layout = std::make_shared<const PartitionLayout>(co_await load_layout(*pool));
      layout.store(std::move(fresh_layout));
    } catch (...) {
      reload_failures->inc();
      throw;
    }
    source.inc();
    auto current = snapshot.load();
    const bool changed = !(fresh == *current);
    const bool version_moved = fresh.version != current->version;
    version->set(static_cast<double>(fresh.version));
    pilots->set(static_cast<double>(fresh.pilots.size()));
    fleet_partitioned->set(fresh.fleet == Target::partitioned ? 1.0 : 0.0);
    if (changed || version_moved) {
      auto next = std::make_shared<const RoutingSnapshot>(std::move(fresh));
      if (changed) log.info("routing changed", {{"routing", to_json(*next)}});
      snapshot.store(std::move(next));
    }
    co_return changed;
  }

  asio::awaitable<void> sleep(milliseconds period) {
    asio::steady_timer timer(executor, period);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  void set_listening(bool up) {
    if (listening.exchange(up) == up) return;
    listener_up->set(up ? 1.0 : 0.0);
    wake.cancel();  // the poller picks its interval again
  }

  asio::awaitable<void> listen_loop() {
    milliseconds backoff{100};
    while (!stopping) {
      std::string failure;
      try {
        auto conn = co_await db::Connection::connect(executor, options.listen_dsn, kConnectTimeout);
        const std::string listen_sql = "LISTEN " + std::string(kRoutingChannel);
        co_await conn->execute(listen_sql);
        set_listening(true);
        log.info("routing listener connected", {{"channel", std::string(kRoutingChannel)}});
        co_await reload(*reloads_listen);  // changes made while nobody listened
        backoff = milliseconds{100};
        milliseconds idle{0};
        while (!stopping) {
          auto note = co_await conn->wait_notification(kListenSlice);
          if (!note) {
            idle += kListenSlice;
            if (idle >= kListenProbe) {
              co_await conn->execute("SELECT 1");
              idle = milliseconds{0};
            }
            continue;
          }
          // One reload covers a burst (a pilot of many organizations notifies per row).
          while (co_await conn->wait_notification(milliseconds{0})) {
          }
          idle = milliseconds{0};
          co_await reload(*reloads_listen);
        }
      } catch (const std::exception& e) {
        failure = e.what();
      }
      set_listening(false);
      if (stopping) break;
      if (auto allowed = limiter.allow()) {
        log.warn("routing listener down; polling every poll_interval until it reconnects",
                 {{"error", failure},
                  {"poll_interval_ms", options.poll_interval.count()},
                  {"suppressed", allowed.suppressed}});
      }
      co_await sleep(backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
    loop_finished();
  }

  asio::awaitable<void> poll_loop() {
    while (!stopping) {
      wake.expires_after(listening ? options.safety_poll_interval : options.poll_interval);
      boost::system::error_code ec;
      co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping) break;
      if (ec == asio::error::operation_aborted) continue;  // woken: pick the interval again
      std::string failure;
      try {
        co_await reload(*reloads_poll);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (!failure.empty()) {
        if (auto allowed = limiter.allow()) {
          log.warn("routing reload failed; keeping the routing in force",
                   {{"error", failure}, {"suppressed", allowed.suppressed}});
        }
      }
    }
    loop_finished();
  }

  void loop_finished() {
    if (--running == 0) done.cancel();
  }

  asio::any_io_executor executor;
  db::Pool* pool;
  PartitioningOptions options;
  obs::Logger log{"routing"};
  obs::Sampler sampler;
  obs::LogLimiter limiter{std::chrono::seconds(10)};
  std::atomic<std::shared_ptr<const RoutingSnapshot>> snapshot;
  std::atomic<std::shared_ptr<const PartitionLayout>> layout;
  std::atomic<bool> listening{false};
  std::atomic<bool> stopping{false};
  bool started = false;
  int running = 0;  // loops alive; on the executor only
  asio::steady_timer wake;
  asio::steady_timer done;
  std::array<obs::Counter*, kTables.size() * kTargets.size() * kReasons.size()> decisions{};
  obs::Counter* reloads_start = nullptr;
  obs::Counter* reloads_listen = nullptr;
  obs::Counter* reloads_poll = nullptr;
  obs::Counter* reload_failures = nullptr;
  obs::Gauge* listener_up = nullptr;
  obs::Gauge* version = nullptr;
  obs::Gauge* pilots = nullptr;
  obs::Gauge* fleet_partitioned = nullptr;
};

PartitioningManager::PartitioningManager(asio::any_io_executor executor, db::Pool& pool,
                                         PartitioningOptions options)
    : options_(std::move(options)),
      state_(std::make_shared<State>(std::move(executor), pool, options_)) {}

PartitioningManager::~PartitioningManager() {
  state_->stopping = true;
  state_->wake.cancel();
}

asio::awaitable<void> PartitioningManager::start() {
  if (state_->started) throw std::logic_error("PartitioningManager::start called twice");
  state_->started = true;
  co_await state_->reload(*state_->reloads_start);
  auto snap = state_->snapshot.load();
  state_->log.info("routing started", {{"default", std::string(to_string(options_.env_default))},
                                       {"listen", !options_.listen_dsn.empty()},
                                       {"routing", to_json(*snap)}});
  auto state = state_;
  if (!options_.listen_dsn.empty()) {
    ++state->running;
    asio::co_spawn(
        state->executor, [state]() -> asio::awaitable<void> { co_await state->listen_loop(); },
        asio::detached);
  }
  ++state->running;
  asio::co_spawn(
      state->executor, [state]() -> asio::awaitable<void> { co_await state->poll_loop(); },
      asio::detached);
}

asio::awaitable<void> PartitioningManager::stop() {
  auto state = state_;
  state->stopping = true;
  state->wake.cancel();
  if (state->running == 0) co_return;
  boost::system::error_code ec;
  co_await state->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

Decision PartitioningManager::route(Table table, std::int64_t org) {
  const auto snap = state_->snapshot.load();
  Decision d = decide(*snap, table, org, options_.env_default);
  if (d.target == Target::partitioned) d.layout = state_->layout.load();
  state_->decisions[decision_index(table, d.target, d.reason)]->inc();
  if (state_->sampler.sample()) {
    state_->log.info("routing decision", {{"table", std::string(to_string(table))},
                                          {"org_id", org},
                                          {"target", std::string(to_string(d.target))},
                                          {"reason", std::string(to_string(d.reason))},
                                          {"version", snap->version}});
  }
  return d;
}

Target PartitioningManager::route_query(Table table, std::int64_t org) {
  return route(table, org).target;
}

std::shared_ptr<const RoutingSnapshot> PartitioningManager::snapshot() const {
  return state_->snapshot.load();
}

std::shared_ptr<const PartitionLayout> PartitioningManager::layout() const {
  return state_->layout.load();
}

bool PartitioningManager::listening() const noexcept { return state_->listening; }

asio::awaitable<bool> PartitioningManager::reload() {
  co_return co_await state_->reload(*state_->reloads_poll);
}

}  // namespace folio::partitioning
