#include "folio/cache/cache_service.hpp"

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <cassert>
#include <utility>
#include <vector>

#include "detail/cache_keys.hpp"
#include "detail/pending_invalidations.hpp"
#include "detail/single_flight.hpp"
#include "folio/cache/errors.hpp"
#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::cache {

namespace {

using Clock = std::chrono::steady_clock;

// Replayed bumps go out in pipelines of at most this many organizations, so one replay never
// holds a connection (or risks command_timeout) for long.
constexpr std::size_t kReplayBatch = 256;
// A post-overflow bypass lasts this much longer than the longest value TTL, for values whose
// computation was still running when Redis came back.
constexpr std::chrono::seconds kBypassMargin{30};

const obs::Logger& log() {
  static const obs::Logger logger("cache");
  return logger;
}

obs::LogLimiter& failure_limiter() {
  static obs::LogLimiter limiter(std::chrono::seconds(10));
  return limiter;
}

obs::LogLimiter& invalidation_limiter() {
  static obs::LogLimiter limiter(std::chrono::seconds(10));
  return limiter;
}

// Throws the first error reply of a pipeline as a RedisCommandError (a Redis answer: not a
// breaker failure).
void check_replies(const std::vector<Reply>& replies) {
  for (const Reply& reply : replies) {
    if (reply.is_error()) {
      const std::string& text = reply.error_message();
      throw RedisCommandError(text.substr(0, text.find(' ')), "in a pipeline: " + text);
    }
  }
}

// The commands that bump `org` (raising its marker first, so it is up when the version moves).
void append_bump(std::vector<std::vector<std::string>>& commands, const CacheOptions& options,
                 std::int64_t org, std::optional<std::uint64_t> lsn) {
  if (lsn) {
    commands.push_back(
        {"EVAL", detail::kRaisePositionScript, "1", detail::position_key(options.prefix, org),
         detail::encode_lsn(*lsn),
         std::to_string(std::max<std::int64_t>(1, options.write_position_ttl.count()))});
  }
  commands.push_back({"EVAL", detail::kBumpScript, "1", detail::version_key(options.prefix, org),
                      detail::unique_version()});
}

struct Lookup {
  std::string version;                 // empty: none yet, or unknown (do not store)
  bool missing = false;                // no version key: create one after computing
  std::optional<std::string> payload;  // set on a hit
};

}  // namespace

struct CacheService::KindCounters {
  obs::Counter* hit;
  obs::Counter* miss;
  obs::Counter* error;
  obs::Counter* bypass;
};

struct CacheService::Metrics {
  obs::Counter* invalidations_write;
  obs::Counter* invalidations_routing;
  obs::Counter* invalidation_failures;
  obs::Counter* single_flight_waits;
  obs::Counter* skipped_too_large;
  obs::Counter* skipped_error;
  obs::Histogram* lookup;
  obs::Histogram* store;
  obs::Histogram* written;
  obs::Histogram* position;
};

CacheService::CacheService(RedisPool& pool, CircuitBreaker& breaker, CacheOptions options)
    : pool_(pool),
      breaker_(breaker),
      options_(std::move(options)),
      pending_(detail::PendingInvalidations::for_target(pool.options().config.address() + "/" +
                                                        std::to_string(pool.options().config.db) +
                                                        "/" + options_.prefix)),
      metrics_(std::make_unique<Metrics>()) {
  auto& registry = obs::Registry::global();
  auto invalidations = [&](const char* reason) {
    return &registry.counter("folio_cache_invalidations_total",
                             "Cache invalidations (version bumps) requested, by reason.",
                             {{"reason", reason}});
  };
  auto skipped = [&](const char* why) {
    return &registry.counter("folio_cache_store_skipped_total",
                             "Computed values that were not stored in the cache, by reason.",
                             {{"why", why}});
  };
  auto duration = [&](const char* op) {
    return &registry.histogram("folio_cache_operation_duration_seconds",
                               "Duration of the cache's Redis round trips, by operation.",
                               obs::default_latency_buckets(), {{"op", op}});
  };
  metrics_->invalidations_write = invalidations("write");
  metrics_->invalidations_routing = invalidations("routing");
  metrics_->invalidation_failures = &registry.counter(
      "folio_cache_invalidation_failures_total",
      "Cache invalidations that could not reach Redis (then pending, replayed on recovery).");
  metrics_->single_flight_waits = &registry.counter(
      "folio_cache_single_flight_waits_total",
      "Cache misses served by waiting for a computation already running for the same key.");
  metrics_->skipped_too_large = skipped("too_large");
  metrics_->skipped_error = skipped("error");
  metrics_->lookup = duration("lookup");
  metrics_->store = duration("store");
  metrics_->written = duration("written");
  metrics_->position = duration("position");
  for (const char* kind : {"pnl", "categories", "balances", "balance_history"}) counters_for(kind);
}

CacheService::~CacheService() = default;

CacheService::KindCounters& CacheService::counters_for(std::string_view kind) {
  if (auto it = kinds_.find(kind); it != kinds_.end()) return *it->second;
  auto counter = [&](const char* result) {
    return &obs::Registry::global().counter("folio_cache_requests_total",
                                            "Cache lookups by value kind and result.",
                                            {{"kind", std::string(kind)}, {"result", result}});
  };
  auto counters = std::make_unique<KindCounters>(
      KindCounters{counter("hit"), counter("miss"), counter("error"), counter("bypass")});
  return *kinds_.emplace(std::string(kind), std::move(counters)).first->second;
}

bool CacheService::bypassing() const noexcept {
  return breaker_.state() != BreakerState::closed || pending_->values_bypassed(Clock::now());
}

template <typename T, typename Op>
asio::awaitable<std::optional<T>> CacheService::guarded(Op op, obs::Histogram& histogram,
                                                        Outcome& outcome) {
  if (!breaker_.allow()) {
    outcome = Outcome::kBypass;
    co_return std::nullopt;
  }
  obs::ScopedTimer timer(histogram);
  std::exception_ptr error;
  bool breaker_failure = false;
  try {
    std::optional<T> result(co_await op());
    breaker_.record_success();
    outcome = Outcome::kOk;
    co_return result;
  } catch (const RedisCommandError&) {
    error = std::current_exception();  // Redis answered: not a breaker failure
  } catch (const RedisReplyTypeError&) {
    error = std::current_exception();
  } catch (const RedisError&) {
    error = std::current_exception();
    breaker_failure = true;
  } catch (const boost::system::system_error&) {
    error = std::current_exception();
    breaker_failure = true;
  }
  // A caller that was cancelled (e.g. its request timed out) learns so; that is no verdict
  // on Redis, so the breaker is not told either.
  const auto cancellation = co_await asio::this_coro::cancellation_state;
  if (cancellation.cancelled() != asio::cancellation_type::none) std::rethrow_exception(error);
  if (breaker_failure) {
    breaker_.record_failure();
  } else {
    breaker_.record_success();
  }
  outcome = Outcome::kError;
  log_failure(error);
  co_return std::nullopt;
}

void CacheService::log_failure(const std::exception_ptr& error) const {
  log().log_limited(failure_limiter(), obs::Level::kWarn,
                    "redis call failed; serving without the cache",
                    {{"prefix", options_.prefix}, {"error", obs::describe_exception(error)}});
}

asio::awaitable<CacheService::Outcome> CacheService::replay_pending() {
  if (!pending_->any()) co_return Outcome::kOk;
  const auto snap = pending_->snapshot();
  Outcome outcome = Outcome::kOk;
  if (snap.overflow) {
    // Too many were lost to replay one by one: once Redis answers, bypass until every value
    // stored before has expired, and report write positions unknown until every marker would
    // have expired.
    const auto pong = co_await guarded<Reply>([&]() { return pool_.command("PING"); },
                                              *metrics_->written, outcome);
    if (!pong) co_return outcome;
    const auto now = Clock::now();
    pending_->start_bypass(now + detail::max_ttl(options_.ttl, options_.ttl_jitter) + kBypassMargin,
                           now + options_.write_position_ttl);
    pending_->settle(snap);
    log().warn(
        "redis back after more pending invalidations than max_pending_invalidations; "
        "bypassing the cache until every older value has expired",
        {{"prefix", options_.prefix},
         {"max_pending_invalidations", options_.max_pending_invalidations}});
    co_return Outcome::kOk;
  }
  for (std::size_t begin = 0; begin < snap.entries.size(); begin += kReplayBatch) {
    const std::size_t end = std::min(snap.entries.size(), begin + kReplayBatch);
    std::vector<std::vector<std::string>> commands;
    for (std::size_t i = begin; i < end; ++i) {
      append_bump(commands, options_, snap.entries[i].org, snap.entries[i].lsn);
    }
    const auto done = co_await guarded<bool>(
        [&]() -> asio::awaitable<bool> {
          check_replies(co_await pool_.pipeline(commands));
          co_return true;
        },
        *metrics_->written, outcome);
    if (!done) co_return outcome;
  }
  pending_->settle(snap);
  log().info("replayed pending cache invalidations",
             {{"prefix", options_.prefix}, {"organizations", snap.entries.size()}});
  co_return Outcome::kOk;
}

asio::awaitable<std::string> CacheService::get_or_compute(std::int64_t org, std::string_view kind,
                                                          std::string key, Compute compute) {
  assert(!kind.empty() && kind.find(':') == std::string_view::npos);
  KindCounters& counters = counters_for(kind);
  auto count = [&counters](Outcome outcome) {
    (outcome == Outcome::kBypass ? counters.bypass : counters.error)->inc();
  };

  Outcome outcome = co_await replay_pending();
  if (outcome == Outcome::kOk && pending_->values_bypassed(Clock::now())) {
    outcome = Outcome::kBypass;
  }
  if (outcome != Outcome::kOk) {
    count(outcome);
    co_return co_await compute();
  }

  const std::string version_key = detail::version_key(options_.prefix, org);
  const std::string value_key = detail::value_key(options_.prefix, org, kind, key);
  auto looked = co_await guarded<Lookup>(
      [&]() -> asio::awaitable<Lookup> {
        const Reply both = co_await pool_.command("MGET", version_key, value_key);
        const auto& elements = both.elements();
        if (elements.size() != 2) throw RedisReplyTypeError("MGET answered with a wrong count");
        Lookup lookup;
        if (elements[0].is_nil()) {
          lookup.missing = true;  // new (or evicted): created once a computation succeeded
          co_return lookup;
        }
        lookup.version = elements[0].as_string();
        if (!elements[1].is_nil()) {
          if (auto payload = detail::payload_if_version(elements[1].as_string(), lookup.version)) {
            lookup.payload = std::string(*payload);
          }
        }
        co_return lookup;
      },
      *metrics_->lookup, outcome);
  if (!looked) {
    count(outcome);
    co_return co_await compute();
  }
  if (looked->payload) {
    counters.hit->inc();
    co_return std::move(*looked->payload);
  }
  counters.miss->inc();
  if (looked->version.empty()) {
    std::string value = co_await compute();
    if (looked->missing) co_await create_version(version_key);
    co_return value;
  }

  std::string flight_key = value_key + "|" + looked->version;
  if (auto it = flights_.find(flight_key); it != flights_.end()) {
    metrics_->single_flight_waits->inc();
    co_return co_await detail::wait_for(it->second);
  }
  detail::FlightRegistration registration(flights_, std::move(flight_key), pool_.executor());
  std::string value;
  std::exception_ptr error;
  try {
    value = co_await compute();
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    registration.flight().finish(std::nullopt, error);
    std::rethrow_exception(error);
  }
  // Waiters (and callers joining while the value is stored) take it from here.
  registration.flight().finish(value, nullptr);
  co_await store(value_key, looked->version, value);
  co_return value;
}

asio::awaitable<void> CacheService::create_version(const std::string& version_key) {
  Outcome outcome = Outcome::kOk;
  co_await guarded<Reply>(
      [&]() { return pool_.command("SET", version_key, detail::unique_version(), "NX"); },
      *metrics_->store, outcome);
}

asio::awaitable<void> CacheService::store(const std::string& value_key, const std::string& version,
                                          const std::string& value) {
  if (value.size() > options_.max_value_bytes) {
    metrics_->skipped_too_large->inc();
    co_return;
  }
  const std::string stored = detail::encode_value(version, value);
  const std::string px =
      std::to_string(detail::jittered_ttl(options_.ttl, options_.ttl_jitter).count());
  Outcome outcome = Outcome::kOk;
  const auto done =
      co_await guarded<Reply>([&]() { return pool_.command("SET", value_key, stored, "PX", px); },
                              *metrics_->store, outcome);
  if (!done) metrics_->skipped_error->inc();
}

asio::awaitable<void> CacheService::written(std::int64_t org, std::optional<std::uint64_t> lsn,
                                            InvalidationReason reason) {
  co_await bump(org, lsn, reason);
}

asio::awaitable<void> CacheService::invalidate(std::int64_t org, InvalidationReason reason) {
  co_await bump(org, std::nullopt, reason);
}

asio::awaitable<void> CacheService::bump(std::int64_t org, std::optional<std::uint64_t> lsn,
                                         InvalidationReason reason) {
  (reason == InvalidationReason::write ? metrics_->invalidations_write
                                       : metrics_->invalidations_routing)
      ->inc();
  Outcome outcome = co_await replay_pending();
  if (outcome == Outcome::kOk) {
    std::vector<std::vector<std::string>> commands;
    append_bump(commands, options_, org, lsn);
    const auto done = co_await guarded<bool>(
        [&]() -> asio::awaitable<bool> {
          check_replies(co_await pool_.pipeline(commands));
          co_return true;
        },
        *metrics_->written, outcome);
    if (done) co_return;
  }
  metrics_->invalidation_failures->inc();
  const bool overflowed = pending_->add(org, lsn, options_.max_pending_invalidations);
  if (overflowed) {
    log().error(
        "more cache invalidations pending than max_pending_invalidations; the cache "
        "will be bypassed for a full TTL once Redis answers",
        {{"prefix", options_.prefix},
         {"max_pending_invalidations", options_.max_pending_invalidations}});
  }
  log().log_limited(invalidation_limiter(), obs::Level::kWarn,
                    "cache invalidation could not reach Redis; pending until it answers",
                    {{"prefix", options_.prefix},
                     {"why", outcome == Outcome::kBypass ? "breaker open" : "redis failed"}});
}

asio::awaitable<WritePosition> CacheService::write_position(std::int64_t org) {
  Outcome outcome = co_await replay_pending();
  if (outcome != Outcome::kOk || pending_->positions_unknown(Clock::now())) {
    co_return WritePosition{};
  }
  const std::string key = detail::position_key(options_.prefix, org);
  const auto position = co_await guarded<WritePosition>(
      [&]() -> asio::awaitable<WritePosition> {
        const Reply reply = co_await pool_.command("GET", key);
        if (reply.is_nil()) co_return WritePosition{true, std::nullopt};
        const auto lsn = detail::decode_lsn(reply.as_string());
        if (!lsn) co_return WritePosition{};  // not ours: unknown, read from the primary
        co_return WritePosition{true, lsn};
      },
      *metrics_->position, outcome);
  co_return position.value_or(WritePosition{});
}

}  // namespace folio::cache
