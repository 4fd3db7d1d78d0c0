// API tokens: shape, hashed storage, lookup, revocation and late creation (in the store and,
// after the cache's TTL, in the server) and `folioctl token create | revoke`.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <set>
#include <thread>

#include "fingerprint.hpp"
#include "folio/auth/tokens.hpp"
#include "support/cutover_database.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace folio::test {
namespace {

namespace asio = boost::asio;

struct Output {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command; stdout only.
Output run_command(const std::string& command) {
  Output result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf{};
  while (const auto n = std::fread(buf.data(), 1, buf.size(), pipe))
    result.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(Tokens, ShapeAndHash) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto token = auth::generate_token();
    EXPECT_EQ(token.size(), auth::kTokenLength);
    EXPECT_TRUE(token.starts_with("folio_"));
    EXPECT_TRUE(auth::well_formed(token)) << token;
    EXPECT_TRUE(seen.insert(token).second);
  }
  EXPECT_FALSE(auth::well_formed("folio_short"));
  EXPECT_FALSE(auth::well_formed("folio_" + std::string(42, 'A') + "="));
  EXPECT_FALSE(auth::well_formed("other_" + std::string(43, 'A')));
  // SHA-256 of "abc" (FIPS 180-2 test vector).
  EXPECT_EQ(auth::to_hex(auth::hash_token("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Tokens, StoredHashedLookedUpAndRevoked) {
  CutoverDatabase db("api_tokens", 2, 2, 1);
  run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    db::Pool pool(io.get_executor(), {.dsn = db.dsn(), .max_size = 2});
    const auto token = co_await auth::TokenStore::create(pool, auth::Scope::org, 2, "frontdesk");
    const auto admin =
        co_await auth::TokenStore::create(pool, auth::Scope::admin, std::nullopt, std::nullopt);
    EXPECT_TRUE(auth::well_formed(token));
    const auto p = co_await auth::TokenStore::lookup(pool, token);
    EXPECT_TRUE(p.has_value());
    if (!p) co_return;
    EXPECT_EQ(p->scope, auth::Scope::org);
    EXPECT_EQ(p->org_id, std::optional<std::int64_t>(2));
    EXPECT_TRUE(p->may_act_on(2));
    EXPECT_FALSE(p->may_act_on(1));
    const auto a = co_await auth::TokenStore::lookup(pool, admin);
    EXPECT_TRUE(a && a->scope == auth::Scope::admin && !a->org_id && a->may_act_on(1));

    // Only the hash is stored: the token's text appears nowhere in the table.
    const std::string hash_hex = auth::to_hex(auth::hash_token(token));
    auto row = co_await pool.query(
        "SELECT encode(token_hash, 'hex'), scope, org_id, label, "
        "(SELECT count(*) FROM api_tokens t WHERE t::text LIKE '%' || $1 || '%') "
        "FROM api_tokens WHERE id = $2",
        token.substr(6), p->token_id);
    EXPECT_EQ(row.front().get<std::string>(0), hash_hex);
    EXPECT_EQ(row.front().get<std::string>(1), "org");
    EXPECT_EQ(row.front().get<std::int64_t>(2), 2);
    EXPECT_EQ(row.front().get<std::string>(3), "frontdesk");
    EXPECT_EQ(row.front().get<std::int64_t>(4), 0);

    // Unknown and malformed tokens are no one.
    EXPECT_FALSE((co_await auth::TokenStore::lookup(pool, auth::generate_token())).has_value());
    EXPECT_FALSE((co_await auth::TokenStore::lookup(pool, "folio_nope")).has_value());

    EXPECT_TRUE(co_await auth::TokenStore::revoke(pool, p->token_id));
    EXPECT_FALSE(co_await auth::TokenStore::revoke(pool, p->token_id));  // already revoked
    EXPECT_FALSE((co_await auth::TokenStore::lookup(pool, token)).has_value());
    EXPECT_TRUE((co_await auth::TokenStore::lookup(pool, admin)).has_value());

    // Scope and organization must fit; the organization must exist.
    bool refused = false;
    try {
      co_await auth::TokenStore::create(pool, auth::Scope::org, 999, std::nullopt);
    } catch (const std::invalid_argument&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
  });
}

TEST(Tokens, ServerRefusesARevokedTokenAfterTheCacheTtl) {
  CutoverDatabase db("api_revoke", 1, 2, 1);
  const auto token = issue_token(db.dsn(), auth::Scope::org, 1);
  ServerProcessOptions options;
  options.env["FOLIO_TOKEN_CACHE_TTL_MS"] = "300";
  ServerProcess server(db.dsn(), options);
  HttpClient http(server.host(), server.port());
  const std::string target = "/v1/orgs/1/balances?from=2026-10-01&to=2026-10-31";
  ASSERT_EQ(http.request("GET", target, token).status, 200);
  const auto id = scalar(db.dsn(), "SELECT max(id) FROM api_tokens");
  const auto revoked = run_command(std::string(FOLIOCTL_PATH) + " token revoke --id " +
                                   std::to_string(id) + " --database-url '" + db.dsn() + "'");
  EXPECT_EQ(revoked.exit_code, 0) << revoked.out;
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const auto res = http.request("GET", target, token);
  EXPECT_EQ(res.status, 401) << res.body;
  EXPECT_EQ(server.stop(), 0);
}

// "No such token" is cached like a principal: a token the server was shown before it existed
// is refused until the TTL, counted from that first lookup, has passed; then it works.
TEST(Tokens, ServerAcceptsATokenItFirstSawUnknownOnceTheCacheTtlPassed) {
  CutoverDatabase db("api_unknown_token", 1, 2, 1);
  constexpr auto kTtl = std::chrono::milliseconds(3000);
  ServerProcessOptions options;
  options.env["FOLIO_TOKEN_CACHE_TTL_MS"] = std::to_string(kTtl.count());
  ServerProcess server(db.dsn(), options);
  HttpClient http(server.host(), server.port());
  const std::string target = "/v1/orgs/1/balances?from=2026-10-01&to=2026-10-31";
  const auto token = auth::generate_token();

  const auto first_asked = std::chrono::steady_clock::now();
  ASSERT_EQ(http.request("GET", target, token).status, 401);
  const auto first_answered = std::chrono::steady_clock::now();
  // The token is created now, directly in the table (as `folioctl token create` would store it).
  ASSERT_EQ(scalar(db.dsn(),
                   "WITH t AS (INSERT INTO api_tokens (token_hash, scope, org_id, label) "
                   "VALUES (decode('" +
                       auth::to_hex(auth::hash_token(token)) +
                       "', 'hex'), 'org', 1, 'late') RETURNING id) SELECT count(*) FROM t"),
            1);
  const auto refused = http.request("GET", target, token);
  // Still within the TTL (unless this machine stalled for seconds): the cached refusal stands.
  if (std::chrono::steady_clock::now() - first_asked < kTtl - std::chrono::milliseconds(500)) {
    EXPECT_EQ(refused.status, 401) << refused.body;
  }
  // The server asked the database between first_asked and first_answered.
  std::this_thread::sleep_until(first_answered + kTtl + std::chrono::milliseconds(500));
  const auto accepted = http.request("GET", target, token);
  EXPECT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(server.stop(), 0);
}

TEST(Tokens, FolioctlTokenCreate) {
  CutoverDatabase db("api_folioctl_token", 2, 2, 1);
  const std::string ctl = std::string(FOLIOCTL_PATH);
  const std::string url = " --database-url '" + db.dsn() + "'";

  const auto org = run_command(ctl + " token create --org 2 --label 'front desk'" + url);
  ASSERT_EQ(org.exit_code, 0);
  const auto token = trim(org.out);
  EXPECT_TRUE(auth::well_formed(token)) << token;
  const auto admin = run_command(ctl + " token create --admin" + url + " 2>/dev/null");
  ASSERT_EQ(admin.exit_code, 0);
  EXPECT_TRUE(auth::well_formed(trim(admin.out)));

  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM api_tokens WHERE token_hash = decode('" +
                                 auth::to_hex(auth::hash_token(token)) +
                                 "', 'hex') AND scope = 'org' AND org_id = 2 AND "
                                 "label = 'front desk'"),
            1);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM api_tokens WHERE scope = 'admin'"), 1);

  // The token works against the server, for its organization only.
  ServerProcess server(db.dsn());
  HttpClient http(server.host(), server.port());
  const std::string range = "?from=2026-10-01&to=2026-10-31";
  EXPECT_EQ(http.request("GET", "/v1/orgs/2/balances" + range, token).status, 200);
  EXPECT_EQ(http.request("GET", "/v1/orgs/1/balances" + range, token).status, 404);

  // Bad usage exits 2 and stores nothing.
  const auto before = scalar(db.dsn(), "SELECT count(*) FROM api_tokens");
  EXPECT_EQ(run_command(ctl + " token create" + url + " 2>/dev/null").exit_code, 2);
  EXPECT_EQ(run_command(ctl + " token create --org 1 --admin" + url + " 2>/dev/null").exit_code, 2);
  EXPECT_EQ(run_command(ctl + " token create --org 999" + url + " 2>/dev/null").exit_code, 2);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM api_tokens"), before);
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace folio::test
