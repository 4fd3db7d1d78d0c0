// A small TTL cache of token lookups, so a request does not cost a database query for its
// token: a server answering thousands of requests a second from a handful of tokens asks
// the database about each token about once per TTL.
//
// Both answers are cached: a known principal and "no such token", so a client hammering with
// a bad token costs one query per TTL too. The price, and the whole of it: a revoked token
// keeps working, and a token looked up before it was created keeps failing, for at most one
// TTL after the change. An answer expires one TTL after the database was *asked* (put()'s
// `asked_at`, taken before the query), not after it answered, so a slow query never stretches
// that bound; and an answer never replaces a fresher one for the same token.
//
// Bounded, per kind, so that a flood of random tokens cannot grow memory nor push the real
// tokens out: at most max_known principals (when full: expired ones are dropped, and if none
// expired every known one is, since a full cache of live tokens means the bound is too small)
// and at most max_unknown "no such token" answers (when full, the oldest one goes).
//
// Constant time with respect to the token: entries are keyed by the token's SHA-256
// (hash_token), never its text. Finding an entry compares digests, whose timing can tell an
// attacker only about digests, and a digest does not give back a token.
//
// The clock is the caller's: every call takes `now`, so tests drive time by hand.
//
// Thread-safety: every member is safe from any thread (one mutex; calls are short).
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <map>
#include <mutex>
#include <optional>

#include "folio/auth/tokens.hpp"

namespace folio::auth {

class TokenCache {
 public:
  using Clock = std::chrono::steady_clock;

  // ttl 0 disables caching (every get() misses). A bound of 0 counts as 1.
  explicit TokenCache(std::chrono::milliseconds ttl = std::chrono::seconds(10),
                      std::size_t max_known = 10000, std::size_t max_unknown = 1000);

  // Outer nullopt: not cached (or expired). Inner nullopt: cached "no such token".
  std::optional<std::optional<Principal>> get(const TokenHash& hash, Clock::time_point now);
  // Caches the database's answer about `hash` until asked_at + ttl. asked_at: when the query
  // that produced the answer started.
  void put(const TokenHash& hash, std::optional<Principal> principal, Clock::time_point asked_at);
  void clear();
  std::size_t size() const;  // both kinds
  std::size_t known_size() const;
  std::size_t unknown_size() const;

 private:
  struct Known {
    Principal principal;
    Clock::time_point expires;
  };
  struct Unknown {
    TokenHash hash;
    Clock::time_point expires;
  };
  using UnknownList = std::list<Unknown>;

  // REQUIRES: mu_ held. Drops `hash` from either kind.
  void erase_locked(const TokenHash& hash);

  const std::chrono::milliseconds ttl_;
  const std::size_t max_known_;
  const std::size_t max_unknown_;
  mutable std::mutex mu_;
  std::map<TokenHash, Known> known_;  // GUARDED_BY(mu_)
  // In the order they were put: the front is the oldest answer, the first to go when full.
  UnknownList unknown_order_;                           // GUARDED_BY(mu_)
  std::map<TokenHash, UnknownList::iterator> unknown_;  // GUARDED_BY(mu_)
};

}  // namespace folio::auth
