#include "folio/db/replica_manager.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <mutex>
#include <utility>

#include "detail/replica_choice.hpp"
#include "detail/replica_metrics.hpp"
#include "detail/replica_probe.hpp"
#include "detail/replica_rotation.hpp"
#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::db {

namespace {

// choose() filters candidates into a buffer on the stack up to this many replicas in rotation.
constexpr std::size_t kInlineCandidates = 16;
constexpr std::chrono::seconds kPrimaryLogPeriod{30};

// What choose() reads: the replicas in rotation, rebuilt after every change.
struct Snapshot {
  explicit Snapshot(std::uint64_t gen) : generation(gen) {}

  const std::uint64_t generation;  // counts the snapshots published
  std::vector<ReplicaCandidate> candidates;
  std::vector<detail::ReplayView> checked;  // parallel to candidates: the last health check
  // Parallel to candidates, raised by reads' guards (observe_replay) while this snapshot is
  // the current one; sized once, before the snapshot is published.
  std::unique_ptr<std::atomic<Lsn>[]> observed_lsn;
  std::unique_ptr<std::atomic<bool>[]> observed_paused;
};

// Raises `target` to `value` (never lowers it).
void raise_to(std::atomic<Lsn>& target, Lsn value) noexcept {
  Lsn seen = target.load(std::memory_order_relaxed);
  while (seen < value && !target.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

double seconds(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1e6; }
double seconds(std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1e3; }

}  // namespace

struct ReplicaManager::Impl {
  Impl(const asio::any_io_executor& executor, ReplicaManagerOptions opts,
       std::unique_ptr<SelectionPolicy> selection)
      : strand(asio::make_strand(executor)),
        options(std::move(opts)),
        policy(std::move(selection)),
        conns(options.replicas.size()),
        sleep_timer(strand),
        round_done(strand, asio::steady_timer::time_point::max()),
        loop_done(strand, asio::steady_timer::time_point::max()) {
    metrics.reserve(options.replicas.size());
    for (const auto& r : options.replicas) {
      metrics.emplace_back(r.name);
      ReplicaStatus s;
      s.name = r.name;
      s.last_error = "not checked yet";
      statuses.push_back(std::move(s));
    }
    rotation.resize(options.replicas.size());
    snapshot.store(std::make_shared<const Snapshot>(0));
  }

  static asio::awaitable<void> start(std::shared_ptr<Impl> self);
  static asio::awaitable<void> stop(std::shared_ptr<Impl> self);
  static asio::awaitable<void> check_now(std::shared_ptr<Impl> self);
  static asio::awaitable<void> loop(std::shared_ptr<Impl> self);

  // One round at a time: the rounds share the connections. Strand only.
  asio::awaitable<void> serialized_round(bool first);
  asio::awaitable<void> round(bool first);
  void apply(std::vector<detail::ReplicaProbe>& probes, std::optional<Lsn> primary_lsn, bool first);
  void report_transition(std::size_t i, detail::Transition transition);
  // Rebuilds the snapshot and the gauges. REQUIRES: mu held.
  void publish_locked();

  const std::string& health_dsn(std::size_t i) const {
    const auto& r = options.replicas[i];
    return r.health_dsn.empty() ? r.dsn : r.health_dsn;
  }

  // Immutable after construction.
  const asio::any_io_executor strand;
  const ReplicaManagerOptions options;
  const std::unique_ptr<SelectionPolicy> policy;
  const obs::Logger log{"db.replicas"};
  std::vector<detail::ReplicaMetrics> metrics;
  detail::ReplicaSetMetrics set_metrics;

  // Strand only.
  std::unique_ptr<Connection> primary_conn;
  // The primary's position per round (read before the replicas are checked) and when.
  detail::PrimarySamples primary_samples{4 * options.health.max_lag};
  std::chrono::steady_clock::time_point primary_read_at{};
  std::vector<std::unique_ptr<Connection>> conns;
  bool running = false;       // start() ran and stop() has not
  bool stopping = false;      // stop() asked the loop to end
  bool loop_running = false;  // the loop coroutine exists
  bool round_busy = false;
  asio::steady_timer sleep_timer;  // between rounds
  asio::steady_timer round_done;   // cancelled when a round ends (never expires)
  asio::steady_timer loop_done;    // cancelled when the loop ends (never expires)
  obs::LogLimiter primary_limiter{kPrimaryLogPeriod};

  std::atomic<bool> loop_active{false};  // loop_running, readable by the destructor

  mutable std::mutex mu;
  std::vector<ReplicaStatus> statuses;          // GUARDED_BY(mu)
  std::vector<detail::RotationState> rotation;  // GUARDED_BY(mu)
  std::uint64_t generation = 0;                 // GUARDED_BY(mu), of the last snapshot

  std::atomic<std::shared_ptr<const Snapshot>> snapshot;  // written under mu
};

asio::awaitable<void> ReplicaManager::Impl::start(std::shared_ptr<Impl> self) {
  if (self->running) co_return;
  self->running = true;
  self->stopping = false;
  if (self->options.replicas.empty()) {
    self->log.info("no replicas configured; reads go to the primary");
    std::lock_guard lock(self->mu);
    self->publish_locked();
    co_return;
  }
  self->log.info("replica health checks starting",
                 {{"replicas", self->options.replicas.size()},
                  {"policy", self->policy->name()},
                  {"interval_seconds", seconds(self->options.health.interval)}});
  co_await self->serialized_round(true);
  if (self->stopping) co_return;
  self->loop_running = true;
  self->loop_active = true;
  auto done = [self](const std::exception_ptr& error) {
    self->loop_running = false;
    self->loop_active = false;
    self->loop_done.cancel();
    if (error)
      self->log.error("replica health loop failed", {{"error", obs::describe_exception(error)}});
  };
  asio::co_spawn(self->strand, loop(self), asio::bind_executor(self->strand, std::move(done)));
}

asio::awaitable<void> ReplicaManager::Impl::stop(std::shared_ptr<Impl> self) {
  self->stopping = true;
  self->sleep_timer.cancel();
  boost::system::error_code ec;
  while (self->loop_running) {
    co_await self->loop_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  while (self->round_busy) {
    co_await self->round_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  self->primary_conn.reset();
  for (auto& conn : self->conns) conn.reset();
  self->running = false;
}

asio::awaitable<void> ReplicaManager::Impl::check_now(std::shared_ptr<Impl> self) {
  co_await self->serialized_round(false);
}

asio::awaitable<void> ReplicaManager::Impl::loop(std::shared_ptr<Impl> self) {
  while (!self->stopping) {
    self->sleep_timer.expires_after(self->options.health.interval);
    boost::system::error_code ec;
    co_await self->sleep_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (self->stopping) break;
    std::exception_ptr error;
    try {
      co_await self->serialized_round(false);
    } catch (...) {
      error = std::current_exception();
    }
    if (error)
      self->log.error("replica health round failed", {{"error", obs::describe_exception(error)}});
  }
}

asio::awaitable<void> ReplicaManager::Impl::serialized_round(bool first) {
  boost::system::error_code ec;
  while (round_busy) {
    co_await round_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  round_busy = true;
  std::exception_ptr error;
  try {
    co_await round(first);
  } catch (...) {
    error = std::current_exception();
  }
  round_busy = false;
  round_done.cancel();
  if (error) std::rethrow_exception(error);
}

asio::awaitable<void> ReplicaManager::Impl::round(bool first) {
  if (options.replicas.empty()) co_return;
  const auto timeout = options.health.check_timeout;
  std::optional<Lsn> primary_lsn;
  if (!options.primary_dsn.empty()) {
    primary_read_at = std::chrono::steady_clock::now();
    auto primary =
        co_await detail::probe_primary(strand, primary_conn, options.primary_dsn, timeout);
    primary_lsn = primary.lsn;
    if (!primary_lsn) {
      log.log_limited(primary_limiter, obs::Level::kWarn,
                      "cannot read the primary's WAL position; judging replica lag by time only",
                      {{"error", primary.error}});
    }
  }

  using Probe = decltype(asio::co_spawn(
      strand, std::declval<asio::awaitable<detail::ReplicaProbe>>(), asio::deferred));
  std::vector<Probe> probes;
  probes.reserve(options.replicas.size());
  for (std::size_t i = 0; i < options.replicas.size(); ++i) {
    probes.push_back(asio::co_spawn(
        strand, detail::probe_replica(strand, conns[i], health_dsn(i), timeout), asio::deferred));
  }
  auto [order, errors, results] =
      co_await asio::experimental::make_parallel_group(std::move(probes))
          .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  static_cast<void>(order);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (errors[i]) {  // not a server failure (those are values): e.g. out of memory
      results[i] = detail::ReplicaProbe{};
      results[i].error = obs::describe_exception(errors[i]);
      conns[i].reset();
    }
  }
  apply(results, primary_lsn, first);
}

void ReplicaManager::Impl::apply(std::vector<detail::ReplicaProbe>& probes,
                                 std::optional<Lsn> primary_lsn, bool first) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu);
  if (primary_lsn) primary_samples.add(primary_read_at, *primary_lsn);
  for (std::size_t i = 0; i < probes.size(); ++i) {
    auto& s = statuses[i];
    const auto& p = probes[i];
    s.reachable = p.ok;
    if (p.ok) {
      s.in_recovery = p.in_recovery;
      s.replay_paused = p.replay_paused;
      s.rtt = p.rtt;
      s.replay_lsn = p.in_recovery ? p.replay_lsn.value_or(0) : 0;
      s.lag_seconds = primary_samples.empty()
                          ? detail::replay_lag_seconds(rotation[i].stall, p.behind,
                                                       p.replay_age_seconds, s.replay_lsn, now)
                          : primary_samples.lag_seconds(s.replay_lsn, now);
      if (!p.in_recovery) {
        s.lag_bytes = 0;
      } else if (primary_lsn) {
        s.lag_bytes = *primary_lsn > s.replay_lsn ? *primary_lsn - s.replay_lsn : 0;
      }  // else: the primary did not answer; the previous lag_bytes stays
    } else {
      metrics[i].check_failures.inc();
    }
    const auto verdict = detail::judge(s, p.error, p.ok && primary_lsn.has_value(), options.health);
    report_transition(i, detail::apply_verdict(rotation[i], s, verdict, first, options.health));
  }
  publish_locked();
}

void ReplicaManager::Impl::report_transition(std::size_t i, detail::Transition transition) {
  const auto& s = statuses[i];
  const auto fields = [&] {
    return boost::json::object{{"replica", s.name},
                               {"reason", s.last_error},
                               {"reachable", s.reachable},
                               {"in_recovery", s.in_recovery},
                               {"lag_bytes", s.lag_bytes},
                               {"lag_seconds", s.lag_seconds},
                               {"max_lag_bytes", options.health.max_lag_bytes},
                               {"max_lag_seconds", seconds(options.health.max_lag)},
                               {"rtt_seconds", seconds(s.rtt)}};
  };
  switch (transition) {
    case detail::Transition::kJoined:
      metrics[i].joined.inc();
      log.info("replica joined rotation", fields());
      break;
    case detail::Transition::kLeft:
      metrics[i].left.inc();
      log.warn("replica left rotation", fields());
      break;
    case detail::Transition::kStayedOut:
      log.warn("replica not in rotation", fields());
      break;
    case detail::Transition::kNone:
      break;
  }
}

void ReplicaManager::Impl::publish_locked() {
  auto next = std::make_shared<Snapshot>(++generation);
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    const auto& s = statuses[i];
    metrics[i].publish(s);
    if (s.in_rotation) {
      next->candidates.push_back(ReplicaCandidate{i, s.rtt});
      next->checked.push_back(detail::ReplayView{s.replay_lsn, s.replay_paused});
    }
  }
  // Value-initialized: 0 and false.
  next->observed_lsn = std::make_unique<std::atomic<Lsn>[]>(next->candidates.size());
  next->observed_paused = std::make_unique<std::atomic<bool>[]>(next->candidates.size());
  set_metrics.configured.set(static_cast<double>(statuses.size()));
  set_metrics.in_rotation.set(static_cast<double>(next->candidates.size()));
  snapshot.store(std::move(next), std::memory_order_release);
}

// NOLINTNEXTLINE(performance-unnecessary-value-param): the public signature takes a value.
ReplicaManager::ReplicaManager(asio::any_io_executor executor, ReplicaManagerOptions options,
                               std::unique_ptr<SelectionPolicy> policy)
    : impl_(std::make_shared<Impl>(executor, std::move(options), std::move(policy))) {}

ReplicaManager::~ReplicaManager() {
  // The loop holds the state alive; ask it to end (stop() was not awaited).
  if (!impl_->loop_active) return;
  try {
    asio::post(impl_->strand, [impl = impl_] {
      impl->stopping = true;
      impl->sleep_timer.cancel();
    });
  } catch (...) {
    // Out of memory: the loop then runs on until its executor stops.
  }
}

asio::awaitable<void> ReplicaManager::start() {
  co_await asio::co_spawn(impl_->strand, Impl::start(impl_), asio::use_awaitable);
}

asio::awaitable<void> ReplicaManager::stop() {
  co_await asio::co_spawn(impl_->strand, Impl::stop(impl_), asio::use_awaitable);
}

asio::awaitable<void> ReplicaManager::check_now() {
  co_await asio::co_spawn(impl_->strand, Impl::check_now(impl_), asio::use_awaitable);
}

std::size_t ReplicaManager::size() const noexcept { return impl_->options.replicas.size(); }

const std::vector<ReplicaEndpoint>& ReplicaManager::replicas() const noexcept {
  return impl_->options.replicas;
}

ReplicaChoice ReplicaManager::choose(std::optional<Lsn> min_lsn, Unconfirmed unconfirmed) const {
  if (impl_->options.replicas.empty()) return {std::nullopt, ReplicaChoiceReason::no_replicas};
  const std::shared_ptr<const Snapshot> snap = impl_->snapshot.load(std::memory_order_acquire);
  std::span<const ReplicaCandidate> candidates = snap->candidates;
  if (candidates.empty()) {
    return {std::nullopt, ReplicaChoiceReason::none_in_rotation, snap->generation};
  }

  bool confirmed = true;
  std::array<ReplicaCandidate, kInlineCandidates> inline_buffer;
  std::array<detail::ReplayView, kInlineCandidates> inline_views;
  std::vector<ReplicaCandidate> heap_buffer;  // only past kInlineCandidates in rotation
  std::vector<detail::ReplayView> heap_views;
  if (min_lsn) {
    ReplicaCandidate* out = inline_buffer.data();
    detail::ReplayView* views = inline_views.data();
    if (candidates.size() > inline_buffer.size()) {
      heap_buffer.resize(candidates.size());
      heap_views.resize(candidates.size());
      out = heap_buffer.data();
      views = heap_views.data();
    }
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      views[i].replay_lsn = std::max(snap->checked[i].replay_lsn,
                                     snap->observed_lsn[i].load(std::memory_order_relaxed));
      views[i].replay_paused = snap->checked[i].replay_paused ||
                               snap->observed_paused[i].load(std::memory_order_relaxed);
    }
    const detail::Eligible eligible = detail::eligible_replicas(
        candidates, std::span<const detail::ReplayView>(views, candidates.size()), min_lsn,
        unconfirmed, out);
    if (eligible.count == 0) {
      return {std::nullopt, ReplicaChoiceReason::not_caught_up, snap->generation};
    }
    confirmed = eligible.confirmed;
    candidates = std::span<const ReplicaCandidate>(out, eligible.count);
  }
  const std::size_t pick = impl_->policy->pick(candidates);
  return {candidates[pick < candidates.size() ? pick : 0].index,
          confirmed ? ReplicaChoiceReason::replica : ReplicaChoiceReason::unconfirmed,
          snap->generation};
}

bool ReplicaManager::any_in_rotation() const noexcept {
  return !impl_->snapshot.load(std::memory_order_acquire)->candidates.empty();
}

void ReplicaManager::observe_replay(std::size_t index, std::uint64_t generation, Lsn replay_lsn,
                                    bool replay_paused) noexcept {
  const std::shared_ptr<const Snapshot> snap = impl_->snapshot.load(std::memory_order_acquire);
  if (snap->generation != generation) return;
  for (std::size_t i = 0; i < snap->candidates.size(); ++i) {
    if (snap->candidates[i].index != index) continue;
    raise_to(snap->observed_lsn[i], replay_lsn);
    if (replay_paused) snap->observed_paused[i].store(true, std::memory_order_relaxed);
    return;
  }
}

void ReplicaManager::report_failure(std::size_t index, std::string_view error) {
  if (index >= impl_->options.replicas.size()) return;
  std::lock_guard lock(impl_->mu);
  const auto transition = detail::apply_failure(impl_->rotation[index], impl_->statuses[index],
                                                "read failed: " + std::string(error));
  impl_->report_transition(index, transition);
  if (transition != detail::Transition::kNone) impl_->publish_locked();
}

std::vector<ReplicaStatus> ReplicaManager::status() const {
  std::lock_guard lock(impl_->mu);
  return impl_->statuses;
}

}  // namespace folio::db
