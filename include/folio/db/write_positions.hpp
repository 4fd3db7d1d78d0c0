// The WAL position of each organization's latest write seen by this process, kept for a
// limited time: the process-local half of read-your-writes (the fleet-wide half lives in
// Redis, see cache::CacheService::written). A read of an organization may go to a replica
// only once that replica has replayed the position noted here.
//
// Bounded: at most max_entries organizations; when full, expired entries are swept, and if
// none expired the oldest-inserted go, with everything newer kept.
//
// Thread-safety: every member is safe from any thread (one mutex, held briefly).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "folio/db/lsn.hpp"

namespace folio::db {

class WritePositions {
 public:
  using Clock = std::chrono::steady_clock;

  WritePositions(std::chrono::milliseconds ttl, std::size_t max_entries = 100000);

  // Raises org's position to `lsn` (never lowers it) and restarts its lifetime.
  void note(std::int64_t org, Lsn lsn);
  // org's position while it lives; nullopt when none or expired.
  std::optional<Lsn> get(std::int64_t org) const;
  std::chrono::milliseconds ttl() const noexcept { return ttl_; }

 private:
  struct Entry {
    Lsn lsn;
    Clock::time_point expires;
  };
  void evict_locked(Clock::time_point now);

  std::chrono::milliseconds ttl_;
  std::size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, Entry> entries_;  // GUARDED_BY(mu_)
  std::deque<std::int64_t> order_;                   // GUARDED_BY(mu_), insertion order
};

}  // namespace folio::db
