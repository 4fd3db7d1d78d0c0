// The API's routes: a request's path matched against the route templates, the allowed
// methods of the match and the path parameters, kept as text for the handlers to validate.
//
// The template (e.g. "/v1/orgs/{org}/revenues/{id}") is what metrics and logs name, never
// the raw path, so the series count stays bounded. Paths match exactly (no trailing slash,
// no percent-decoding: ids are digits).
//
// Thread-safety: pure functions over a constant table.
#pragma once

#include <string>
#include <string_view>

#include "detail/http.hpp"

namespace folio::api::detail {

enum class RouteId {
  entries,     // /v1/orgs/{org}/revenues|expenses
  entry,       // /v1/orgs/{org}/revenues|expenses/{id}
  balances,    // /v1/orgs/{org}/balances
  pnl,         // /v1/orgs/{org}/reports/pnl
  categories,  // /v1/orgs/{org}/reports/categories
  balance_history,
  admin_routing,  // /v1/admin/routing
  admin_pilots,   // /v1/admin/routing/pilots
  admin_pilot,    // /v1/admin/routing/pilots/{org}
  metrics,
  healthz,
  readyz,
  unmatched,
};

struct RouteMatch {
  RouteId id = RouteId::unmatched;
  std::string_view route;  // the template; "unmatched" when nothing matched
  bool expenses = false;   // entries/entry: the expenses collection
  std::string org;         // {org} as written
  std::string item;        // {id} as written
  bool method_allowed = false;
  std::string_view allow;  // the Allow header for a 405
};

// `path` without the query string.
RouteMatch match_route(http::verb method, std::string_view path);

// Splits a request target into its path and query (without '?').
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

// Routes under /v1/ need a token; /metrics, /healthz and /readyz do not.
bool needs_token(RouteId id);

}  // namespace folio::api::detail
