#include "folio/auth/token_cache.hpp"

#include <iterator>

namespace folio::auth {

TokenCache::TokenCache(std::chrono::milliseconds ttl, std::size_t max_known,
                       std::size_t max_unknown)
    : ttl_(ttl),
      max_known_(max_known == 0 ? 1 : max_known),
      max_unknown_(max_unknown == 0 ? 1 : max_unknown) {}

std::optional<std::optional<Principal>> TokenCache::get(const TokenHash& hash,
                                                        Clock::time_point now) {
  if (ttl_.count() <= 0) return std::nullopt;
  std::lock_guard lock(mu_);
  if (const auto it = known_.find(hash); it != known_.end()) {
    if (it->second.expires <= now) {
      known_.erase(it);
      return std::nullopt;
    }
    return std::optional<Principal>(it->second.principal);
  }
  if (const auto it = unknown_.find(hash); it != unknown_.end()) {
    if (it->second->expires <= now) {
      unknown_order_.erase(it->second);
      unknown_.erase(it);
      return std::nullopt;
    }
    return std::optional<Principal>();  // cached "no such token"
  }
  return std::nullopt;
}

void TokenCache::put(const TokenHash& hash, std::optional<Principal> principal,
                     Clock::time_point asked_at) {
  if (ttl_.count() <= 0) return;
  const auto expires = asked_at + ttl_;
  std::lock_guard lock(mu_);
  // Two lookups of one token may finish out of order: the answer asked later is the truer one.
  if (const auto it = known_.find(hash); it != known_.end() && it->second.expires > expires) {
    return;
  }
  if (const auto it = unknown_.find(hash); it != unknown_.end() && it->second->expires > expires) {
    return;
  }
  erase_locked(hash);
  if (principal) {
    if (known_.size() >= max_known_) {
      std::erase_if(known_, [&](const auto& item) { return item.second.expires <= asked_at; });
      if (known_.size() >= max_known_) known_.clear();
    }
    known_.emplace(hash, Known{*principal, expires});
    return;
  }
  if (unknown_.size() >= max_unknown_) {
    unknown_.erase(unknown_order_.front().hash);
    unknown_order_.pop_front();
  }
  unknown_order_.push_back(Unknown{hash, expires});
  unknown_.emplace(hash, std::prev(unknown_order_.end()));
}

void TokenCache::erase_locked(const TokenHash& hash) {
  known_.erase(hash);
  if (const auto it = unknown_.find(hash); it != unknown_.end()) {
    unknown_order_.erase(it->second);
    unknown_.erase(it);
  }
}

void TokenCache::clear() {
  std::lock_guard lock(mu_);
  known_.clear();
  unknown_.clear();
  unknown_order_.clear();
}

std::size_t TokenCache::size() const {
  std::lock_guard lock(mu_);
  return known_.size() + unknown_.size();
}

std::size_t TokenCache::known_size() const {
  std::lock_guard lock(mu_);
  return known_.size();
}

std::size_t TokenCache::unknown_size() const {
  std::lock_guard lock(mu_);
  return unknown_.size();
}

}  // namespace folio::auth
