#include "folio/db/write_positions.hpp"

#include <algorithm>

namespace folio::db {

WritePositions::WritePositions(std::chrono::milliseconds ttl, std::size_t max_entries)
    : ttl_(ttl), max_entries_(std::max<std::size_t>(max_entries, 1)) {}

void WritePositions::note(std::int64_t org, Lsn lsn) {
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  auto it = entries_.find(org);
  if (it != entries_.end()) {
    if (it->second.expires <= now) it->second.lsn = lsn;
    it->second.lsn = std::max(it->second.lsn, lsn);
    it->second.expires = now + ttl_;
    return;
  }
  if (entries_.size() >= max_entries_) evict_locked(now);
  entries_.emplace(org, Entry{lsn, now + ttl_});
  order_.push_back(org);
}

std::optional<Lsn> WritePositions::get(std::int64_t org) const {
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  const auto it = entries_.find(org);
  if (it == entries_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.lsn;
}

// Sweeps expired entries; when none had expired, drops the oldest-inserted quarter. The
// order deque may name organizations already gone: they are skipped.
void WritePositions::evict_locked(Clock::time_point now) {
  std::erase_if(entries_, [now](const auto& item) { return item.second.expires <= now; });
  std::size_t drop =
      entries_.size() >= max_entries_ ? std::max<std::size_t>(max_entries_ / 4, 1) : 0;
  while (!order_.empty() && (drop > 0 || !entries_.contains(order_.front()))) {
    if (entries_.erase(order_.front()) > 0 && drop > 0) --drop;
    order_.pop_front();
  }
}

}  // namespace folio::db
