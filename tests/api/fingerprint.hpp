// Helpers of the isolation and bad-input tests: tokens made directly in the database and a
// fingerprint of every table, to prove that requests changed nothing.
//
// Thread-safety: each call opens its own connection; call from the test's thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "folio/auth/tokens.hpp"
#include "folio/db/connection.hpp"
#include "folio/db/pool.hpp"
#include "support/async.hpp"

namespace folio::test {

// A new token of `scope` (org: for `org`), stored hashed as `folioctl token create` does.
inline std::string issue_token(const std::string& dsn, auth::Scope scope,
                               std::optional<std::int64_t> org = std::nullopt) {
  return run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<std::string> {
    db::Pool pool(io.get_executor(), {.dsn = dsn, .name = "test", .max_size = 1});
    std::optional<std::string> label = "test";
    co_return co_await auth::TokenStore::create(pool, scope, org, label);
  });
}

// Row count and an md5 of the sorted rows of every table folio-server could touch, as one
// string: equal fingerprints mean equal contents.
inline std::string table_fingerprint(const std::string& dsn) {
  return run_async([&](boost::asio::io_context& io) -> boost::asio::awaitable<std::string> {
    auto c = co_await db::Connection::connect(io.get_executor(), dsn, std::chrono::seconds(5));
    std::string out;
    for (const char* table : {"organizations", "revenues", "expenses", "balances", "api_tokens",
                              "partition_routing", "cutover_audit", "sync_failures"}) {
      const std::string sql =
          std::string(
              "SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, ',' "
              "ORDER BY t::text)), '') FROM ") +
          table + " t";
      auto r = co_await c->execute(sql);
      out += std::string(table) + "=" + r.front().get<std::string>(0) + "\n";
    }
    co_return out;
  });
}

}  // namespace folio::test
