// Bearer-token authentication of /v1 requests, through the token cache.
#include <cctype>

#include "detail/handlers.hpp"

namespace folio::api::detail {

namespace asio = boost::asio;

namespace {

[[noreturn]] void unauthorized(const std::string& message) {
  throw Problem(401, code::kUnauthorized, message);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

asio::awaitable<auth::Principal> authenticate(Worker& worker, const Request& req) {
  const auto header = req[http::field::authorization];
  if (header.empty()) unauthorized("an Authorization: Bearer <token> header is required");
  const auto space = header.find(' ');
  if (space == std::string_view::npos || !iequals(header.substr(0, space), "bearer")) {
    unauthorized("the Authorization header must be 'Bearer <token>'");
  }
  auto token = header.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (!auth::well_formed(token)) unauthorized("unknown token");

  // Only the token's SHA-256 is used from here on (the cache's key, the database's), so the
  // time a lookup takes depends on the digest, never on how much of a real token matched.
  const auto hash = auth::hash_token(token);
  auto& cache = worker.shared.token_cache;
  const auto asked_at = auth::TokenCache::Clock::now();
  auto cached = cache.get(hash, asked_at);
  if (!cached) {
    auto found = co_await auth::TokenStore::lookup_hash(worker.pool, hash);
    // Dated when asked, not when answered: a revocation that lands while the query runs is
    // still seen within one TTL.
    cache.put(hash, found, asked_at);
    cached = found;
  }
  if (!*cached) unauthorized("unknown or revoked token");
  co_return **cached;
}

}  // namespace folio::api::detail
