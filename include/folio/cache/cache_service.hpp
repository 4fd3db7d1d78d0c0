// folio's distributed cache: cache-aside of computed per-organization values (reports,
// balances) in Redis, invalidated by a per-organization version, plus the fleet-wide
// read-your-writes marker (the WAL position of an organization's latest write).
//
// Keys (the braces are a Redis Cluster hash tag, so all keys of one organization share a
// slot and may be used together in one script or pipeline):
//   {prefix}:{<org>}:v             the organization's version
//   {prefix}:{<org>}:lsn           its write-position marker (20-digit zero-padded LSN),
//                                  expiring write_position_ttl after the latest write
//   {prefix}:{<org>}:<kind>:<key>  a cached value, stored as "<version>|<payload>"; a key
//                                  longer than 64 bytes or holding a byte outside printable
//                                  ASCII (a space, say) becomes "sha256:<hex of its SHA-256>"
//
// Why a cached value is never stale:
//   - A lookup is ONE round trip: MGET version-key value-key. It is a hit only when the value
//     is tagged with exactly the current version.
//   - After a write commits, written() bumps the version (a Lua script: INCR when the key
//     exists, else SET it to the microseconds since the epoch, so a version that was evicted
//     and re-created never repeats an old one). Every value stored before is then unreachable
//     and simply expires.
//   - A missing version (never written, or evicted) makes the lookup a miss whose value is
//     not stored: there is no version read before computing to tag it with. Once compute()
//     has returned, the reader creates the version with SET NX <microseconds since the
//     epoch>, so the next miss stores its value. Nothing is written for a computation that
//     failed: an organization that does not exist (compute() throws) leaves no key behind.
//   - A miss computes the value and stores it tagged with the version read in the MGET, i.e.
//     BEFORE computing. If a write commits and bumps the version while compute() runs (the
//     "stale refill" race: compute() may have read the database before the write), the value
//     is stored under the old version and is never served. A value tagged with the current
//     version was therefore computed after every write whose bump preceded its lookup.
//   - A bump that fails (Redis down or slow) is remembered as pending, process-wide, and
//     replayed before any cached value is served again, by every CacheService of this process
//     that talks to the same Redis with the same prefix. If more than
//     max_pending_invalidations pile up, they are dropped and, once Redis answers again, the
//     cache is bypassed for ttl * (1 + ttl_jitter) plus 30 s (for computations that were still
//     running): by then every value stored before has expired. (Other processes cannot know this
//     process's pending bumps; a bump that fails while Redis is reachable for them is the residual
//     window, closed by the replay.)
//   - Values expire after ttl * (1 +- ttl_jitter), uniformly random, so they do not all
//     expire at once.
//
// Failures never reach callers: every Redis call goes through the CircuitBreaker; when it is
// open, or Redis fails or is slow, get_or_compute() runs compute() itself (fail-open),
// write_position() answers "unknown", and invalidations become pending. Connection failures
// and timeouts count against the breaker; error replies (RedisCommandError) do not.
//
// Single-flight: concurrent get_or_compute() calls on this CacheService for the same
// (org, kind, key) that read the same version share one compute(); the waiters get the same
// value or the same exception. Calls only join a computation whose lookup saw the version
// they saw themselves, so a caller never receives a value computed before a write it could
// know of. Calls that do not use Redis (bypass, error) or find no version compute on their
// own: without the version nothing tells whether a running compute() began before the
// caller's own write.
//
// Metrics: folio_cache_requests_total{kind,result="hit"|"miss"|"error"|"bypass"},
// folio_cache_invalidations_total{reason="write"|"routing"},
// folio_cache_invalidation_failures_total, folio_cache_pending_invalidations,
// folio_cache_single_flight_waits_total, folio_cache_store_skipped_total{why="too_large"|
// "error"}, folio_cache_operation_duration_seconds{op="lookup"|"store"|"written"|"position"}
// ("written" includes replays of pending invalidations).
//
// A caller cancelled while its Redis call runs gets the cancellation (operation_aborted or a
// RedisConnectionError) rather than a fail-open result; it does not count against the breaker.
//
// Thread-safety: a CacheService is bound to its pool's executor (one per worker thread); call
// it only from there. The CircuitBreaker is shared by all of them; bypassing() may be called
// from any thread.
// REQUIRES: the pool and the breaker outlive the CacheService, which outlives its calls.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "folio/cache/circuit_breaker.hpp"
#include "folio/cache/redis_pool.hpp"

namespace folio::obs {
class Counter;
class Histogram;
}  // namespace folio::obs

namespace folio::cache {

namespace detail {
class PendingInvalidations;
struct Flight;
}  // namespace detail

struct CacheOptions {
  std::string prefix = "folio";
  std::chrono::seconds ttl{300};  // cached values live ttl * (1 +- ttl_jitter), uniformly random
  double ttl_jitter = 0.1;
  std::chrono::milliseconds write_position_ttl{7000};  // read-your-writes marker lifetime
  std::size_t max_value_bytes = 1 << 20;               // larger values are not stored
  std::size_t max_pending_invalidations = 100000;
};

enum class InvalidationReason { write, routing };

// known=false: Redis could not tell (callers then read from the primary).
struct WritePosition {
  bool known = false;
  std::optional<std::uint64_t> lsn;
};

class CacheService {
 public:
  CacheService(RedisPool& pool, CircuitBreaker& breaker, CacheOptions options = {});
  CacheService(const CacheService&) = delete;
  CacheService& operator=(const CacheService&) = delete;
  ~CacheService();

  using Compute = std::function<asio::awaitable<std::string>()>;

  // Cache-aside for `org`'s value `key` in space `kind` ("pnl", "categories", "balances",
  // "balance_history"): returns the cached value or runs compute() and stores its result
  // (unless larger than max_value_bytes, or the organization had no version yet: then the
  // version is created instead). compute()'s exceptions propagate and nothing is written to
  // Redis. Never throws for Redis problems (see the file comment).
  // REQUIRES: kind is non-empty and holds no ':'.
  asio::awaitable<std::string> get_or_compute(std::int64_t org, std::string_view kind,
                                              std::string key, Compute compute);

  // After a write of `org` committed at WAL position `lsn` (nullopt: no replicas, not
  // tracked): in one pipeline, raises the org's write-position marker to lsn (never lowers
  // it; PX write_position_ttl) and bumps its version. Never throws for Redis problems: the
  // failure is counted, logged (rate-limited) and the bump becomes pending.
  asio::awaitable<void> written(std::int64_t org, std::optional<std::uint64_t> lsn,
                                InvalidationReason reason = InvalidationReason::write);

  // Bumps the org's version only (e.g. a routing change). Failures as for written().
  asio::awaitable<void> invalidate(std::int64_t org, InvalidationReason reason);

  // The org's write-position marker: {known=true, lsn} (lsn nullopt: no recent write), or
  // known=false when Redis failed, the breaker is open, a bump of this process is still
  // pending, or after an overflow of pending bumps for write_position_ttl after recovery.
  asio::awaitable<WritePosition> write_position(std::int64_t org);

  // True while the breaker is not closed or a post-recovery bypass is active.
  bool bypassing() const noexcept;

  const CacheOptions& options() const noexcept { return options_; }

 private:
  struct KindCounters;
  struct Metrics;
  enum class Outcome { kOk, kBypass, kError };

  // Runs `op` (one Redis round trip or a few) through the breaker, timed into `histogram`:
  // nullopt with outcome kBypass when the breaker refused, kError when op failed (logged,
  // rate-limited; a connection failure or timeout counts against the breaker).
  template <typename T, typename Op>
  asio::awaitable<std::optional<T>> guarded(Op op, obs::Histogram& histogram, Outcome& outcome);
  // Replays the process's pending bumps, if any. Anything but kOk means they are still
  // pending, and nothing may be served from the cache.
  asio::awaitable<Outcome> replay_pending();
  asio::awaitable<void> bump(std::int64_t org, std::optional<std::uint64_t> lsn,
                             InvalidationReason reason);
  asio::awaitable<void> store(const std::string& value_key, const std::string& version,
                              const std::string& value);
  // SET NX of a fresh version, after a miss that found none. Failures as for store().
  asio::awaitable<void> create_version(const std::string& version_key);
  KindCounters& counters_for(std::string_view kind);
  void log_failure(const std::exception_ptr& error) const;

  RedisPool& pool_;
  CircuitBreaker& breaker_;
  CacheOptions options_;
  std::shared_ptr<detail::PendingInvalidations> pending_;  // shared process-wide
  std::unique_ptr<Metrics> metrics_;
  std::map<std::string, std::unique_ptr<KindCounters>, std::less<>> kinds_;
  // In-flight computations by "<value key>|<version>".
  std::unordered_map<std::string, std::shared_ptr<detail::Flight>> flights_;
};

}  // namespace folio::cache
