#include "folio/auth/token_cache.hpp"

namespace folio::auth {

TokenCache::TokenCache(std::chrono::milliseconds ttl, std::size_t max_entries)
    : ttl_(ttl), max_entries_(max_entries == 0 ? 1 : max_entries) {}

std::optional<std::optional<Principal>> TokenCache::get(const TokenHash& hash,
                                                        Clock::time_point now) {
  if (ttl_.count() <= 0) return std::nullopt;
  std::lock_guard lock(mu_);
  const auto it = entries_.find(hash);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.principal;
}

void TokenCache::put(const TokenHash& hash, std::optional<Principal> principal,
                     Clock::time_point now) {
  if (ttl_.count() <= 0) return;
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_entries_ && !entries_.contains(hash)) {
    std::erase_if(entries_, [&](const auto& item) { return item.second.expires <= now; });
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[hash] = Entry{std::move(principal), now + ttl_};
}

void TokenCache::clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

std::size_t TokenCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace folio::auth
