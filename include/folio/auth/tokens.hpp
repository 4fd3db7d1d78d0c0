// API bearer tokens: how they look, how they are stored and how a request's token becomes a
// Principal (sql/migrations/0004_service_security.sql, table api_tokens).
//
// A token is "folio_" followed by 43 base64url characters: 32 bytes from OpenSSL's
// RAND_bytes. Only its SHA-256 is stored, so a leaked table does not leak usable tokens;
// the plaintext exists once, in create()'s return value. Scope 'org' tokens act for one
// organization; 'admin' tokens for every organization and the admin endpoints.
//
// Arguments are taken by value: a coroutine may start after the caller's temporaries died.
//
// Thread-safety: generate_token() and hash_token() are safe from any thread. TokenStore is
// stateless; the pool must be used from its own executor.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "folio/db/pool.hpp"

namespace folio::auth {

inline constexpr std::string_view kTokenPrefix = "folio_";
inline constexpr std::size_t kTokenLength = 6 + 43;

enum class Scope { org, admin };
std::string_view to_string(Scope scope);  // "org" / "admin"

// Who a request acts as.
struct Principal {
  Scope scope = Scope::org;
  std::optional<std::int64_t> org_id;  // set for Scope::org only
  std::int64_t token_id = 0;
  bool operator==(const Principal&) const = default;

  // Admin tokens may act on any organization; org tokens on theirs only.
  bool may_act_on(std::int64_t org) const {
    return scope == Scope::admin || (org_id && *org_id == org);
  }
};

using TokenHash = std::array<unsigned char, 32>;

// A new random token. Throws std::runtime_error when OpenSSL has no randomness to give.
std::string generate_token();
// True when `token` has the shape of a folio token (prefix, length, alphabet). Takes the same
// time for every token of the right length, well-formed or not.
bool well_formed(std::string_view token);
// SHA-256 of the token's text.
TokenHash hash_token(std::string_view token);
// Lower-case hex of a hash (what the SQL decodes with decode($1, 'hex')).
std::string to_hex(const TokenHash& hash);

class TokenStore {
 public:
  // Stores a new token and returns its plaintext (the only time it is seen). Throws
  // std::invalid_argument when scope and org do not fit (org needs an org id > 0 of an
  // existing organization, admin none), db::Error when the database fails.
  static boost::asio::awaitable<std::string> create(db::Pool& pool, Scope scope,
                                                    std::optional<std::int64_t> org,
                                                    std::optional<std::string> label);

  // The principal of a token that exists and is not revoked; nullopt otherwise (a malformed
  // token is refused without a query). Throws db::Error when the database fails.
  static boost::asio::awaitable<std::optional<Principal>> lookup(db::Pool& pool, std::string token);
  // The same by hash (for callers that keep hashes, not tokens).
  static boost::asio::awaitable<std::optional<Principal>> lookup_hash(db::Pool& pool,
                                                                      TokenHash hash);

  // Marks the token revoked. Returns false when no such token or it was already revoked.
  static boost::asio::awaitable<bool> revoke(db::Pool& pool, std::int64_t token_id);
};

}  // namespace folio::auth
