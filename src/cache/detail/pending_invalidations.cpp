#include "detail/pending_invalidations.hpp"

#include <algorithm>
#include <map>

#include "folio/obs/metrics.hpp"

namespace folio::cache::detail {

std::shared_ptr<PendingInvalidations> PendingInvalidations::for_target(const std::string& target) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<PendingInvalidations>> stores;
  std::lock_guard lock(mu);
  auto& store = stores[target];
  if (!store) {
    store = std::make_shared<PendingInvalidations>(obs::Registry::global().gauge(
        "folio_cache_pending_invalidations",
        "Cache invalidations that could not reach Redis and wait to be replayed."));
  }
  return store;
}

PendingInvalidations::PendingInvalidations(obs::Gauge& gauge) : gauge_(gauge) {}

bool PendingInvalidations::add(std::int64_t org, std::optional<std::uint64_t> lsn,
                               std::size_t max) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(org);
  if (it == entries_.end()) {
    if (entries_.size() >= max) {
      // Every further organization is covered by the post-recovery bypass instead.
      const bool first = !overflow_;
      overflow_ = true;
      overflow_stamp_ = ++stamp_;
      publish_locked();
      return first;
    }
    it = entries_.emplace(org, Slot{}).first;
    gauge_.inc();
  }
  if (lsn && (!it->second.lsn || *it->second.lsn < *lsn)) it->second.lsn = lsn;
  it->second.stamp = ++stamp_;
  publish_locked();
  return false;
}

PendingInvalidations::Snapshot PendingInvalidations::snapshot() const {
  std::lock_guard lock(mu_);
  Snapshot snap;
  snap.overflow = overflow_;
  snap.overflow_stamp = overflow_stamp_;
  snap.entries.reserve(entries_.size());
  for (const auto& [org, slot] : entries_) snap.entries.push_back({org, slot.lsn, slot.stamp});
  return snap;
}

void PendingInvalidations::settle(const Snapshot& done) {
  std::lock_guard lock(mu_);
  if (done.overflow && overflow_ && overflow_stamp_ == done.overflow_stamp) {
    // The bypass that covers the overflow covers every entry added before it, too.
    gauge_.dec(static_cast<double>(entries_.size()));
    entries_.clear();
    overflow_ = false;
  } else {
    for (const Entry& entry : done.entries) {
      auto it = entries_.find(entry.org);
      if (it != entries_.end() && it->second.stamp == entry.stamp) {
        entries_.erase(it);
        gauge_.dec();
      }
    }
  }
  publish_locked();
}

void PendingInvalidations::publish_locked() noexcept {
  any_.store(overflow_ || !entries_.empty(), std::memory_order_release);
}

namespace {
void raise_to(std::atomic<PendingInvalidations::Clock::rep>& until,
              PendingInvalidations::Clock::time_point t) noexcept {
  const auto ticks = t.time_since_epoch().count();
  auto current = until.load(std::memory_order_relaxed);
  while (current < ticks && !until.compare_exchange_weak(current, ticks)) {
  }
}
}  // namespace

void PendingInvalidations::start_bypass(Clock::time_point values_until,
                                        Clock::time_point positions_until) {
  raise_to(values_until_, values_until);
  raise_to(positions_until_, positions_until);
}

bool PendingInvalidations::values_bypassed(Clock::time_point now) const noexcept {
  return now.time_since_epoch().count() < values_until_.load(std::memory_order_relaxed);
}

bool PendingInvalidations::positions_unknown(Clock::time_point now) const noexcept {
  return now.time_since_epoch().count() < positions_until_.load(std::memory_order_relaxed);
}

}  // namespace folio::cache::detail
