// Request handlers, one file per area. Each gets a Call whose route, method, token and
// organization scope dispatch() has already checked, validates the rest of the input fully
// before touching the database, and returns the response (or throws; error_mapping.hpp
// turns exceptions into error responses).
//
// Thread-safety: run on the worker's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

#include "detail/context.hpp"
#include "detail/http.hpp"
#include "detail/router.hpp"
#include "folio/auth/tokens.hpp"

namespace folio::api::detail {

struct Call {
  Worker& worker;
  const Request& req;
  const RouteMatch& route;
  std::string_view query;
  std::optional<auth::Principal> principal;
  std::int64_t org = 0;  // the checked {org} of /v1/orgs/{org}/... routes
};

// entries, entry
boost::asio::awaitable<Response> handle_entries(Call& call);
// balances, pnl, categories, balance_history
boost::asio::awaitable<Response> handle_reports(Call& call);
// admin_routing, admin_pilots, admin_pilot
boost::asio::awaitable<Response> handle_admin(Call& call);
// metrics, healthz, readyz
boost::asio::awaitable<Response> handle_health(Call& call);

// The principal of the request's bearer token; throws Problem 401 when there is none or it
// is unknown or revoked.
boost::asio::awaitable<auth::Principal> authenticate(Worker& worker, const Request& req);

// The whole request: route, method, auth, scope, handler, error mapping, metrics and the
// access log. Never throws.
boost::asio::awaitable<Response> dispatch(Worker& worker, const Request& req);

}  // namespace folio::api::detail
