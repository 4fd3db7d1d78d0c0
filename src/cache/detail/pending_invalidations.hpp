// Version bumps (and write-position raises) that could not reach Redis, remembered until one
// of this process's CacheServices replays them. Shared process-wide per Redis target and key
// prefix, so that no CacheService of the process serves a cached value while a bump of any of
// them is pending (see cache_service.hpp).
//
// Bounded: beyond `max` organizations it overflows; the entries are then no longer replayed
// one by one, and the replayer instead starts a post-recovery bypass (values: until every
// value stored before has expired; write positions: until every marker would have).
//
// Thread-safety: every member is safe from any thread (one mutex; any() is one atomic load).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace folio::obs {
class Gauge;
}  // namespace folio::obs

namespace folio::cache::detail {

class PendingInvalidations {
 public:
  using Clock = std::chrono::steady_clock;

  struct Entry {
    std::int64_t org = 0;
    std::optional<std::uint64_t> lsn;  // the highest LSN whose marker raise is pending
    std::uint64_t stamp = 0;           // changes whenever the entry is added to again
  };
  struct Snapshot {
    std::vector<Entry> entries;
    bool overflow = false;
    std::uint64_t overflow_stamp = 0;
  };

  // The store for `target` (e.g. "host:port/db/prefix"), created on first use; lives for the
  // whole process.
  static std::shared_ptr<PendingInvalidations> for_target(const std::string& target);

  explicit PendingInvalidations(obs::Gauge& gauge);

  // Entries or an overflow are waiting for a replay.
  bool any() const noexcept { return any_.load(std::memory_order_acquire); }
  // Remembers a failed bump of `org` (raising its pending LSN to `lsn`). Returns true when
  // this call overflowed the store (more than `max` organizations).
  bool add(std::int64_t org, std::optional<std::uint64_t> lsn, std::size_t max);
  Snapshot snapshot() const;
  // The snapshot was replayed: forgets its entries unless they were added to since, and the
  // overflow unless it happened again since.
  void settle(const Snapshot& done);

  // Starts the post-overflow bypass windows (never shortens running ones).
  void start_bypass(Clock::time_point values_until, Clock::time_point positions_until);
  bool values_bypassed(Clock::time_point now) const noexcept;
  bool positions_unknown(Clock::time_point now) const noexcept;

 private:
  struct Slot {
    std::optional<std::uint64_t> lsn;
    std::uint64_t stamp = 0;
  };
  void publish_locked() noexcept;

  obs::Gauge& gauge_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, Slot> entries_;  // GUARDED_BY(mu_)
  bool overflow_ = false;                           // GUARDED_BY(mu_)
  std::uint64_t stamp_ = 0;                         // GUARDED_BY(mu_)
  std::uint64_t overflow_stamp_ = 0;                // GUARDED_BY(mu_)
  std::atomic<bool> any_{false};
  std::atomic<Clock::rep> values_until_{0};     // Clock ticks since its epoch
  std::atomic<Clock::rep> positions_until_{0};  // Clock ticks since its epoch
};

}  // namespace folio::cache::detail
