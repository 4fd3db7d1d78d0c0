#include "folio/auth/tokens.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

#include "folio/db/transaction.hpp"

namespace folio::auth {

namespace {

constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 1 for the characters of kBase64Url, 0 for every other byte.
constexpr std::array<unsigned char, 256> kIsBase64Url = [] {
  std::array<unsigned char, 256> table{};
  for (const char c : kBase64Url) table[static_cast<unsigned char>(c)] = 1;
  return table;
}();

// Unpadded base64url.
std::string base64url(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const unsigned v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
    out += kBase64Url[(v >> 6) & 63];
    out += kBase64Url[v & 63];
  }
  if (size - i == 1) {
    const unsigned v = data[i] << 16;
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
  } else if (size - i == 2) {
    const unsigned v = (data[i] << 16) | (data[i + 1] << 8);
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
    out += kBase64Url[(v >> 6) & 63];
  }
  return out;
}

Principal principal_from(const db::Row& row) {
  Principal p;
  p.token_id = row.get<std::int64_t>(0);
  p.scope = row.get<std::string>(1) == "admin" ? Scope::admin : Scope::org;
  p.org_id = row.get<std::optional<std::int64_t>>(2);
  return p;
}

}  // namespace

std::string_view to_string(Scope scope) { return scope == Scope::admin ? "admin" : "org"; }

std::string generate_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw std::runtime_error("RAND_bytes failed: no randomness for a token");
  }
  return std::string(kTokenPrefix) + base64url(bytes, sizeof bytes);
}

bool well_formed(std::string_view token) {
  if (token.size() != kTokenLength) return false;  // every token has this length: no secret
  // Every character is looked at, with no early exit: how long this takes tells nothing about
  // where a presented token stops looking like a token.
  unsigned bad = 0;
  for (std::size_t i = 0; i < kTokenPrefix.size(); ++i) {
    bad |= static_cast<unsigned char>(token[i]) ^ static_cast<unsigned char>(kTokenPrefix[i]);
  }
  for (std::size_t i = kTokenPrefix.size(); i < token.size(); ++i) {
    bad |= kIsBase64Url[static_cast<unsigned char>(token[i])] ^ 1u;
  }
  return bad == 0;
}

TokenHash hash_token(std::string_view token) {
  TokenHash hash{};
  unsigned int len = 0;
  if (EVP_Digest(token.data(), token.size(), hash.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != hash.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return hash;
}

std::string to_hex(const TokenHash& hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(hash.size() * 2);
  for (const unsigned char b : hash) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

boost::asio::awaitable<std::string> TokenStore::create(db::Pool& pool, Scope scope,
                                                       std::optional<std::int64_t> org,
                                                       std::optional<std::string> label) {
  if (scope == Scope::org && (!org || *org <= 0)) {
    throw std::invalid_argument("an organization token needs an organization id > 0");
  }
  if (scope == Scope::admin && org) {
    throw std::invalid_argument("an admin token acts for every organization: give no org");
  }
  const std::string token = generate_token();
  const std::string hash_hex = to_hex(hash_token(token));
  const std::string scope_text(to_string(scope));
  // The organization's existence is checked in the same statement as the insert.
  auto result = co_await pool.query(
      "INSERT INTO api_tokens (token_hash, scope, org_id, label) "
      "SELECT decode($1, 'hex'), $2, $3::bigint, $4 "
      "WHERE $3::bigint IS NULL OR EXISTS (SELECT 1 FROM organizations WHERE id = $3::bigint) "
      "RETURNING id",
      hash_hex, scope_text, org, label);
  if (result.empty()) {
    throw std::invalid_argument("organization " + std::to_string(*org) + " does not exist");
  }
  co_return token;
}

boost::asio::awaitable<std::optional<Principal>> TokenStore::lookup(db::Pool& pool,
                                                                    std::string token) {
  if (!well_formed(token)) co_return std::nullopt;
  co_return co_await lookup_hash(pool, hash_token(token));
}

boost::asio::awaitable<std::optional<Principal>> TokenStore::lookup_hash(db::Pool& pool,
                                                                         TokenHash hash) {
  const std::string hash_hex = to_hex(hash);
  auto result = co_await pool.query(
      "SELECT id, scope, org_id FROM api_tokens "
      "WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL",
      hash_hex);
  if (result.empty()) co_return std::nullopt;
  co_return principal_from(result.front());
}

boost::asio::awaitable<bool> TokenStore::revoke(db::Pool& pool, std::int64_t token_id) {
  auto result = co_await pool.query(
      "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", token_id);
  co_return result.affected_rows() == 1;
}

}  // namespace folio::auth
