// A small TTL cache of token lookups, so a request does not cost a database query for its
// token: a server answering thousands of requests a second from a handful of tokens asks
// the database about each token about once per TTL.
//
// Keyed by the token's SHA-256, never the plaintext. Both answers are cached: a known
// principal and "no such token", so a client hammering with a bad token costs one query per
// TTL too. The price: a revoked token keeps working, and a token looked up just before it
// was created keeps failing, for at most one TTL (default 10 s). Bounded: when full, expired
// entries are dropped, and if none expired the whole cache is cleared (simple, and a full
// cache of live entries means the bound is too small anyway).
//
// Thread-safety: every member is safe from any thread (one mutex; lookups are short).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>

#include "folio/auth/tokens.hpp"

namespace folio::auth {

class TokenCache {
 public:
  using Clock = std::chrono::steady_clock;

  // ttl 0 disables caching (every get() misses).
  explicit TokenCache(std::chrono::milliseconds ttl = std::chrono::seconds(10),
                      std::size_t max_entries = 10000);

  // Outer nullopt: not cached (or expired). Inner nullopt: cached "no such token".
  std::optional<std::optional<Principal>> get(const TokenHash& hash, Clock::time_point now);
  void put(const TokenHash& hash, std::optional<Principal> principal, Clock::time_point now);
  void clear();
  std::size_t size() const;

 private:
  struct Entry {
    std::optional<Principal> principal;
    Clock::time_point expires;
  };
  const std::chrono::milliseconds ttl_;
  const std::size_t max_entries_;
  mutable std::mutex mu_;
  std::map<TokenHash, Entry> entries_;  // GUARDED_BY(mu_)
};

}  // namespace folio::auth
