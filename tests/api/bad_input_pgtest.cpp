// Bad input never writes and never costs a 5xx: a table of malformed, mistyped, out-of-range
// and unsupported requests, each answered with the documented status, error code and field
// (docs/api.md), and afterwards every table is exactly as before.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fingerprint.hpp"
#include "support/cutover_database.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace folio::test {
namespace {

enum class As { org, admin, nobody };

struct Case {
  std::string method;
  std::string target;
  std::optional<std::string> body;
  int status;
  std::string code;
  std::optional<std::string> field;  // nullopt: the error's field is null
  As as = As::org;
  Headers headers = {};
};

const std::string R = "/v1/orgs/1/revenues";
const std::string E = "/v1/orgs/1/expenses";
const std::string kRange = "from=2026-10-01&to=2026-10-31";

// A valid revenue body with `extra` spliced in (a JSON member list, leading comma included)
// and `amount` as written.
std::string revenue(const std::string& amount = "100", const std::string& extra = "") {
  return R"({"category":"room","amount_cents":)" + amount +
         R"(,"occurred_at":"2026-10-05T10:00:00Z")" + extra + "}";
}
std::string revenue_at(const std::string& occurred_at) {
  return R"({"category":"room","amount_cents":100,"occurred_at":)" + occurred_at + "}";
}

std::vector<Case> cases(std::int64_t revenue_id, const std::string& other_currency) {
  const std::string item = R + "/" + std::to_string(revenue_id);
  const std::string long_text(1001, 'x');
  const std::string long_vendor(201, 'v');
  std::string oversized = revenue("100", R"(,"description":")" + std::string(70000, 'd') + "\"");
  return {
      // Unknown fields.
      {"POST", R, revenue("100", R"(,"extra":1)"), 400, "unknown_field", "extra"},
      {"POST", R, revenue("100", R"(,"vendor":"ACME")"), 400, "unknown_field", "vendor"},
      // A key given twice: the last would win here, a proxy may read the first.
      {"POST", R, revenue("100", R"(,"amount_cents":200)"), 400, "invalid_value", "amount_cents"},
      {"POST", R, revenue("100", R"(,"category":"spa")"), 400, "invalid_value", "category"},
      {"PATCH", item, R"({"amount_cents":1,"amount_cents":2})", 400, "invalid_value",
       "amount_cents"},
      // Wrong types.
      {"POST", R, revenue(R"("100")"), 400, "invalid_type", "amount_cents"},
      {"POST", R, revenue("true"), 400, "invalid_type", "amount_cents"},
      {"POST", R, revenue("null"), 400, "invalid_type", "amount_cents"},
      {"POST", R, R"({"category":5,"amount_cents":1,"occurred_at":"2026-10-05T10:00:00Z"})", 400,
       "invalid_type", "category"},
      {"POST", R, revenue_at("1700000000"), 400, "invalid_type", "occurred_at"},
      {"POST", R, revenue("100", R"(,"description":5)"), 400, "invalid_type", "description"},
      {"POST", R, "[1,2]", 400, "invalid_type", std::nullopt},
      // Amounts: negative, fractional, overflowing.
      {"POST", R, revenue("-1"), 400, "invalid_value", "amount_cents"},
      {"POST", R, revenue("12.5"), 400, "invalid_value", "amount_cents"},
      {"POST", R, revenue("100.0"), 400, "invalid_value", "amount_cents"},
      {"POST", R, revenue("1e3"), 400, "invalid_value", "amount_cents"},
      {"POST", R, revenue("9007199254740992"), 400, "invalid_value", "amount_cents"},
      {"POST", R, revenue("18446744073709551616"), 400, "invalid_value", "amount_cents"},
      // Missing fields.
      {"POST", R, R"({"category":"room","occurred_at":"2026-10-05T10:00:00Z"})", 400,
       "missing_field", "amount_cents"},
      {"POST", R, R"({"amount_cents":1,"occurred_at":"2026-10-05T10:00:00Z"})", 400,
       "missing_field", "category"},
      // Bad and impossible timestamps.
      {"POST", R, revenue_at(R"("2026-02-30T10:00:00Z")"), 400, "invalid_value", "occurred_at"},
      {"POST", R, revenue_at(R"("2026-10-05T25:00:00Z")"), 400, "invalid_value", "occurred_at"},
      {"POST", R, revenue_at(R"("2026-10-05")"), 400, "invalid_value", "occurred_at"},
      {"POST", R, revenue_at(R"("2026-10-05T10:00:00")"), 400, "invalid_value", "occurred_at"},
      {"POST", R, revenue_at(R"("yesterday")"), 400, "invalid_value", "occurred_at"},
      // Currencies and categories.
      {"POST", R, revenue("100", R"(,"currency":"eur")"), 400, "invalid_value", "currency"},
      {"POST", R, revenue("100", R"(,"currency":"ABC")"), 400, "invalid_value", "currency"},
      {"POST", R, revenue("100", R"(,"currency":")" + other_currency + "\""), 400, "invalid_value",
       "currency"},
      {"POST", R, R"({"category":"rooms","amount_cents":1,"occurred_at":"2026-10-05T10:00:00Z"})",
       400, "invalid_value", "category"},
      {"POST", E, R"({"category":"room","amount_cents":1,"occurred_at":"2026-10-05T10:00:00Z"})",
       400, "invalid_value", "category"},
      // Text limits.
      {"POST", R, revenue("100", R"(,"description":")" + long_text + "\""), 400, "invalid_value",
       "description"},
      {"POST", R, revenue("100", R"(,"description":"a\u0000b")"), 400, "invalid_value",
       "description"},
      {"POST", E,
       R"({"category":"payroll","amount_cents":1,"occurred_at":"2026-10-05T10:00:00Z","vendor":")" +
           long_vendor + "\"}",
       400, "invalid_value", "vendor"},
      // Bodies: malformed, empty, not UTF-8, wrong content type, too large.
      {"POST", R, R"({"category":)", 400, "invalid_json", std::nullopt},
      {"POST", R, revenue() + " x", 400, "invalid_json", std::nullopt},
      {"POST", R, "{\"category\":\"r\xff\"}", 400, "invalid_json", std::nullopt},
      {"POST", R, "", 400, "invalid_json", std::nullopt},
      {"POST",
       R,
       revenue(),
       415,
       "unsupported_media_type",
       std::nullopt,
       As::org,
       {{"Content-Type", "text/plain"}}},
      {"POST",
       R,
       revenue(),
       415,
       "unsupported_media_type",
       std::nullopt,
       As::org,
       {{"Content-Type", "application/x-www-form-urlencoded"}}},
      {"POST", R, oversized, 413, "payload_too_large", std::nullopt},
      // Query parameters.
      {"GET", R + "?from=2026-10-10&to=2026-10-01", std::nullopt, 400, "invalid_value", "from"},
      {"GET", R + "?from=2020-01-01&to=2026-01-01", std::nullopt, 400, "invalid_value", "to"},
      {"GET", R + "?from=2026-02-30&to=2026-03-01", std::nullopt, 400, "invalid_value", "from"},
      {"GET", R + "?from=2026-10-01&to=tomorrow", std::nullopt, 400, "invalid_value", "to"},
      {"GET", R + "?to=2026-03-01", std::nullopt, 400, "missing_field", "from"},
      {"GET", R + "?" + kRange + "&limit=0", std::nullopt, 400, "invalid_value", "limit"},
      {"GET", R + "?" + kRange + "&limit=501", std::nullopt, 400, "invalid_value", "limit"},
      {"GET", R + "?" + kRange + "&limit=ten", std::nullopt, 400, "invalid_value", "limit"},
      {"GET", R + "?" + kRange + "&cursor=not-a-cursor", std::nullopt, 400, "invalid_value",
       "cursor"},
      {"GET", R + "?" + kRange + "&sort=desc", std::nullopt, 400, "unknown_field", "sort"},
      {"GET", R + "?" + kRange + "&from=2026-10-02", std::nullopt, 400, "invalid_value", "from"},
      {"GET", R + "?from=%ZZ&to=2026-10-01", std::nullopt, 400, "invalid_value", "from"},
      // Ids.
      {"GET", R + "/abc", std::nullopt, 400, "invalid_value", "id"},
      {"GET", R + "/0", std::nullopt, 400, "invalid_value", "id"},
      {"GET", R + "/-5", std::nullopt, 400, "invalid_value", "id"},
      {"GET", R + "/99999999999999999999", std::nullopt, 400, "invalid_value", "id"},
      {"DELETE", R + "/1.5", std::nullopt, 400, "invalid_value", "id"},
      // PATCH with nothing, unknown or bad fields.
      {"PATCH", item, "{}", 400, "missing_field", std::nullopt},
      {"PATCH", item, R"({"bogus":1})", 400, "unknown_field", "bogus"},
      {"PATCH", item, R"({"vendor":"ACME"})", 400, "unknown_field", "vendor"},
      {"PATCH", item, R"({"amount_cents":-5})", 400, "invalid_value", "amount_cents"},
      {"PATCH", item, R"({"category":null})", 400, "invalid_type", "category"},
      {"PATCH", item, R"({"occurred_at":"2026-13-01T00:00:00Z"})", 400, "invalid_value",
       "occurred_at"},
      {"PATCH", item, R"({"amount_cents":5,"currency":"XXX"})", 400, "invalid_value", "currency"},
      // Reports.
      {"GET", "/v1/orgs/1/reports/pnl?" + kRange + "&granularity=week", std::nullopt, 400,
       "invalid_value", "granularity"},
      {"GET", "/v1/orgs/1/reports/categories?" + kRange + "&kind=income", std::nullopt, 400,
       "invalid_value", "kind"},
      {"GET", "/v1/orgs/1/reports/categories?" + kRange, std::nullopt, 400, "missing_field",
       "kind"},
      {"GET", "/v1/orgs/1/balances?from=2026-10-31&to=2026-10-01", std::nullopt, 400,
       "invalid_value", "from"},
      {"GET", "/v1/orgs/1/reports/balance-history?from=2000-01-01&to=2026-10-01", std::nullopt, 400,
       "invalid_value", "to"},
      // Admin input.
      {"POST", "/v1/admin/routing/pilots", R"({"org_ids":[]})", 400, "invalid_value", "org_ids",
       As::admin},
      {"POST", "/v1/admin/routing/pilots", R"({"org_ids":["1"]})", 400, "invalid_type", "org_ids",
       As::admin},
      {"POST", "/v1/admin/routing/pilots", R"({"org_ids":[0]})", 400, "invalid_value", "org_ids",
       As::admin},
      {"POST", "/v1/admin/routing/pilots", R"({"orgs":[1]})", 400, "unknown_field", "orgs",
       As::admin},
      {"DELETE", "/v1/admin/routing/pilots/abc", std::nullopt, 400, "invalid_value", "org",
       As::admin},
      // Sync and backfill never ran here: a pilot is refused, and nothing is recorded.
      {"POST", "/v1/admin/routing/pilots", R"({"org_ids":[1]})", 409, "conflict", std::nullopt,
       As::admin},
      // Routes and methods.
      {"GET", "/v1/orgs/1/nothing", std::nullopt, 404, "not_found", std::nullopt},
      {"GET", "/v1/orgs/1/revenues/", std::nullopt, 404, "not_found", std::nullopt},
      {"PUT", R, revenue(), 405, "method_not_allowed", std::nullopt},
      {"GET", "/v1/orgs/1/balances?" + kRange, std::nullopt, 401, "unauthorized", std::nullopt,
       As::nobody},
  };
}

TEST(ApiBadInput, RefusedWithTheFieldNamedAndNothingWritten) {
  CutoverDatabase db("api_bad_input", 2, 20, 3);
  const auto org_token = issue_token(db.dsn(), auth::Scope::org, 1);
  const auto admin_token = issue_token(db.dsn(), auth::Scope::admin);
  ServerProcess server(db.dsn());
  HttpClient http(server.host(), server.port());

  const auto created = http.request("POST", R, org_token, revenue());
  ASSERT_EQ(created.status, 201) << created.body;
  const auto revenue_id = created.json().at("id").as_int64();
  const std::string other_currency =
      created.json().at("currency").as_string() == "USD" ? "EUR" : "USD";

  const auto before = table_fingerprint(db.dsn());
  const auto table = cases(revenue_id, other_currency);
  ASSERT_GE(table.size(), 40u);
  int server_errors = 0;
  for (const auto& c : table) {
    const std::string token = c.as == As::org ? org_token : c.as == As::admin ? admin_token : "";
    const auto res = http.request(c.method, c.target, token, c.body, c.headers);
    const std::string what = c.method + " " + c.target.substr(0, 120) + " " +
                             (c.body ? c.body->substr(0, 120) : std::string()) + " -> " +
                             res.body.substr(0, 300);
    if (res.status >= 500) ++server_errors;
    EXPECT_EQ(res.status, c.status) << what;
    const auto body = res.json();
    const auto& error = body.at("error").as_object();
    EXPECT_EQ(error.at("code").as_string(), c.code) << what;
    EXPECT_FALSE(error.at("message").as_string().empty()) << what;
    if (c.field) {
      ASSERT_TRUE(error.at("field").is_string()) << what;
      EXPECT_EQ(error.at("field").as_string(), *c.field) << what;
    } else {
      EXPECT_TRUE(error.at("field").is_null()) << what;
    }
    EXPECT_EQ(res.header("content-type"), "application/json") << what;
  }
  EXPECT_EQ(server_errors, 0);
  EXPECT_EQ(table_fingerprint(db.dsn()), before);

  // The entry the PATCH cases aimed at is unchanged, and the server still answers normally.
  const auto again = http.request("GET", R + "/" + std::to_string(revenue_id), org_token);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.json(), created.json());
  EXPECT_EQ(server.stop(), 0);
}

TEST(ApiBadInput, MalformedHttpIsA400AndTheConnectionCloses) {
  CutoverDatabase db("api_bad_http");
  ServerProcess server(db.dsn());
  HttpClient http(server.host(), server.port());
  const auto res = http.request_raw("GET /healthz HTTP/1.1\r\nHost x\r\n\r\n");
  EXPECT_EQ(res.status, 400);
  EXPECT_FALSE(res.keep_alive);
  EXPECT_EQ(res.json().at("error").at("code").as_string(), "invalid_value");
  // Headers beyond the limit (16 KiB) are refused too.
  const auto big = http.request_raw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(big.status, 400);
  EXPECT_EQ(http.request("GET", "/healthz").status, 200);
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace folio::test
