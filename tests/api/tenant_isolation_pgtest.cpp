// A token of one organization never reads or changes another's data: every org endpoint
// called with the other organization's token answers 404 (exactly as for a missing
// organization) and changes nothing; admin endpoints refuse org tokens with 403; requests
// without a valid token get 401; an admin token acts on any organization.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fingerprint.hpp"
#include "support/cutover_database.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace folio::test {
namespace {

struct Call {
  std::string method;
  std::string target;
  std::optional<std::string> body;
};

const std::string kRange = "from=2026-08-01&to=2026-10-31";
const std::string kRevenue =
    R"({"category":"room","amount_cents":4200,"occurred_at":"2026-10-05T10:00:00Z"})";
const std::string kExpense =
    R"({"category":"supplies","amount_cents":300,"occurred_at":"2026-10-06T10:00:00Z","vendor":"ACME"})";

// Every org endpoint of `org`, aimed at its entries `revenue_id` and `expense_id`.
std::vector<Call> org_calls(std::int64_t org, std::int64_t revenue_id, std::int64_t expense_id) {
  const std::string base = "/v1/orgs/" + std::to_string(org);
  const std::string rev = base + "/revenues/" + std::to_string(revenue_id);
  const std::string exp = base + "/expenses/" + std::to_string(expense_id);
  return {
      {"GET", base + "/revenues?" + kRange, std::nullopt},
      {"POST", base + "/revenues", kRevenue},
      {"GET", rev, std::nullopt},
      {"PATCH", rev, R"({"amount_cents":1})"},
      {"DELETE", rev, std::nullopt},
      {"GET", base + "/expenses?" + kRange, std::nullopt},
      {"POST", base + "/expenses", kExpense},
      {"GET", exp, std::nullopt},
      {"PATCH", exp, R"({"vendor":null})"},
      {"DELETE", exp, std::nullopt},
      {"GET", base + "/balances?" + kRange, std::nullopt},
      {"GET", base + "/reports/pnl?" + kRange + "&granularity=month", std::nullopt},
      {"GET", base + "/reports/categories?" + kRange + "&kind=revenue", std::nullopt},
      {"GET", base + "/reports/balance-history?" + kRange, std::nullopt},
  };
}

std::int64_t first_id(HttpClient& http, const std::string& token, std::int64_t org,
                      const char* kind) {
  const auto res = http.request(
      "GET", "/v1/orgs/" + std::to_string(org) + "/" + kind + "?" + kRange + "&limit=1", token);
  EXPECT_EQ(res.status, 200) << res.body;
  const auto body = res.json();
  const auto& items = body.at("items").as_array();
  EXPECT_FALSE(items.empty());
  return items.empty() ? 0 : items[0].at("id").as_int64();
}

class TenantIsolation : public ::testing::Test {
 protected:
  TenantIsolation()
      : db_("api_tenants", 2, 40, 3),
        token1_(issue_token(db_.dsn(), auth::Scope::org, 1)),
        token2_(issue_token(db_.dsn(), auth::Scope::org, 2)),
        admin_(issue_token(db_.dsn(), auth::Scope::admin)),
        server_(db_.dsn()),
        http_(server_.host(), server_.port()) {}

  CutoverDatabase db_;
  std::string token1_, token2_, admin_;
  ServerProcess server_;
  HttpClient http_;
};

TEST_F(TenantIsolation, AnotherOrganizationsTokenSeesNothingAndChangesNothing) {
  const auto rev2 = first_id(http_, token2_, 2, "revenues");
  const auto exp2 = first_id(http_, token2_, 2, "expenses");
  const auto rev2_before =
      http_.request("GET", "/v1/orgs/2/revenues/" + std::to_string(rev2), token2_);
  ASSERT_EQ(rev2_before.status, 200);

  const auto before = table_fingerprint(db_.dsn());
  for (const auto& call : org_calls(2, rev2, exp2)) {
    const auto res = http_.request(call.method, call.target, token1_, call.body);
    EXPECT_EQ(res.status, 404) << call.method << " " << call.target << " -> " << res.body;
    EXPECT_EQ(res.json().at("error").at("code").as_string(), "not_found") << call.target;
  }
  // Organization 2's ids under organization 1's own path: not found either.
  for (const auto& call : org_calls(1, rev2, exp2)) {
    if (call.target.find("/revenues/") == std::string::npos &&
        call.target.find("/expenses/") == std::string::npos) {
      continue;
    }
    const auto res = http_.request(call.method, call.target, token1_, call.body);
    EXPECT_EQ(res.status, 404) << call.method << " " << call.target << " -> " << res.body;
  }
  // An organization that does not exist looks the same as one that does.
  const auto missing = http_.request("GET", "/v1/orgs/999999/balances?" + kRange, token1_);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, http_.request("GET", "/v1/orgs/2/balances?" + kRange, token1_).body);
  EXPECT_EQ(table_fingerprint(db_.dsn()), before);

  const auto rev2_after =
      http_.request("GET", "/v1/orgs/2/revenues/" + std::to_string(rev2), token2_);
  EXPECT_EQ(rev2_after.json(), rev2_before.json());
}

TEST_F(TenantIsolation, AdminEndpointsNeedAnAdminToken) {
  const auto before = table_fingerprint(db_.dsn());
  const std::vector<Call> admin_calls = {
      {"GET", "/v1/admin/routing", std::nullopt},
      {"POST", "/v1/admin/routing/pilots", R"({"org_ids":[1]})"},
      {"DELETE", "/v1/admin/routing/pilots/1", std::nullopt},
  };
  for (const auto& call : admin_calls) {
    const auto res = http_.request(call.method, call.target, token1_, call.body);
    EXPECT_EQ(res.status, 403) << call.target << " -> " << res.body;
    EXPECT_EQ(res.json().at("error").at("code").as_string(), "forbidden");
  }
  const auto routing = http_.request("GET", "/v1/admin/routing", admin_);
  ASSERT_EQ(routing.status, 200) << routing.body;
  EXPECT_EQ(routing.json().at("env_default").as_string(), "legacy");
  EXPECT_TRUE(routing.json().at("fleet").is_null());
  EXPECT_TRUE(routing.json().at("pilots").as_array().empty());
  EXPECT_EQ(table_fingerprint(db_.dsn()), before);
}

TEST_F(TenantIsolation, MissingOrUnknownTokensGet401) {
  const auto before = table_fingerprint(db_.dsn());
  const std::string target = "/v1/orgs/1/balances?" + kRange;
  for (const auto& headers : std::vector<Headers>{
           {},
           {{"Authorization", "Bearer"}},
           {{"Authorization", "Basic dXNlcjpwYXNz"}},
           {{"Authorization", "Bearer not-a-token"}},
           {{"Authorization", "Bearer folio_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
           {{"Authorization", "Bearer " + token1_ + "x"}},
       }) {
    const auto res = http_.request("GET", target, "", std::nullopt, headers);
    EXPECT_EQ(res.status, 401) << (headers.empty() ? "no header" : headers[0].second);
    EXPECT_EQ(res.json().at("error").at("code").as_string(), "unauthorized");
  }
  const auto post = http_.request("POST", "/v1/orgs/1/revenues", "", kRevenue);
  EXPECT_EQ(post.status, 401);
  const auto admin = http_.request("GET", "/v1/admin/routing", "");
  EXPECT_EQ(admin.status, 401);
  EXPECT_EQ(table_fingerprint(db_.dsn()), before);
  // The scheme name is case-insensitive.
  EXPECT_EQ(http_.request("GET", target, "", std::nullopt, {{"Authorization", "bearer " + token1_}})
                .status,
            200);
}

TEST_F(TenantIsolation, AdminTokenActsOnAnyOrganization) {
  for (const std::int64_t org : {1, 2}) {
    const auto rev = first_id(http_, admin_, org, "revenues");
    const auto exp = first_id(http_, admin_, org, "expenses");
    for (const auto& call : org_calls(org, rev, exp)) {
      const auto res = http_.request(call.method, call.target, admin_, call.body);
      const int expected = call.method == "POST" ? 201 : call.method == "DELETE" ? 204 : 200;
      EXPECT_EQ(res.status, expected) << call.method << " " << call.target << " -> " << res.body;
    }
    // The deletes took effect.
    EXPECT_EQ(
        http_
            .request("GET", "/v1/orgs/" + std::to_string(org) + "/revenues/" + std::to_string(rev),
                     admin_)
            .status,
        404);
  }
  EXPECT_EQ(server_.stop(), 0);
}

}  // namespace
}  // namespace folio::test
