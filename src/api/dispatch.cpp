// One request from route to response: the checks every endpoint shares, in order — route
// (404), method (405), token (401), admin scope (403), organization scope (404, never
// revealing whether another organization exists) — then the handler, error mapping,
// metrics and the access log (errors always, successes sampled).
#include <chrono>
#include <cmath>

#include "detail/error_mapping.hpp"
#include "detail/handlers.hpp"
#include "detail/input.hpp"
#include "folio/partitioning/partitioning_manager.hpp"

namespace folio::api::detail {

namespace asio = boost::asio;

namespace {

bool is_admin_route(RouteId id) {
  return id == RouteId::admin_routing || id == RouteId::admin_pilots || id == RouteId::admin_pilot;
}

// The data path and cohort of `org` as the routing in force decides it (not counted as a
// routing decision: the repository counts its own).
DataPathLabels data_path_of(const Shared& shared, std::int64_t org) {
  const auto d = partitioning::decide(*shared.routing->snapshot(), partitioning::Table::revenues,
                                      org, shared.routing->env_default());
  return {.path = partitioning::to_string(d.target),
          .cohort = d.reason == partitioning::Reason::pilot ? "pilot" : "fleet"};
}

asio::awaitable<Response> route_request(Worker& w, const Request& req, const RouteMatch& route,
                                        std::string_view query, DataPathLabels& labels) {
  if (route.id == RouteId::unmatched) not_found("no such route");
  if (!route.method_allowed) {
    auto res =
        error_response(405, code::kMethodNotAllowed,
                       std::string(req.method_string()) + " is not allowed here", std::nullopt);
    res.set(http::field::allow, route.allow);
    co_return res;
  }
  Call call{w, req, route, query, std::nullopt, 0};
  if (!needs_token(route.id)) co_return co_await handle_health(call);

  call.principal = co_await authenticate(w, req);
  if (is_admin_route(route.id)) {
    if (call.principal->scope != auth::Scope::admin) {
      throw Problem(403, code::kForbidden, "this endpoint needs an admin token");
    }
    co_return co_await handle_admin(call);
  }
  const auto org = parse_id(route.org);
  if (!org || !call.principal->may_act_on(*org)) not_found();
  call.org = *org;
  if (!w.shared.routing_loaded.load()) {
    auto res = error_response(503, code::kUnavailable,
                              "the server is starting: routing is not loaded yet", std::nullopt);
    res.set(http::field::retry_after, "1");
    co_return res;
  }
  labels = data_path_of(w.shared, call.org);
  if (route.id == RouteId::entries || route.id == RouteId::entry) {
    co_return co_await handle_entries(call);
  }
  co_return co_await handle_reports(call);
}

void access_log(Shared& shared, const Request& req, const RouteMatch& route, int status,
                double seconds) {
  const auto level = status >= 500 ? obs::Level::kError : obs::Level::kInfo;
  boost::json::object fields{{"method", HttpMetrics::method_label(req.method_string())},
                             {"route", route.route},
                             {"status", status},
                             {"duration_ms", std::round(seconds * 1e6) / 1000.0}};  // to 1 µs
  if (status >= 500) {
    shared.log.log(level, "request", std::move(fields));
  } else if (status >= 400) {
    shared.log.log_limited(shared.client_error_limiter, level, "request", std::move(fields));
  } else if (shared.access_sampler.sample()) {
    shared.log.log(level, "request", std::move(fields));
  }
}

}  // namespace

asio::awaitable<Response> dispatch(Worker& w, const Request& req) {
  const auto started = std::chrono::steady_clock::now();
  w.metrics.in_flight().inc();
  const auto [path, query] = split_target(req.target());
  const auto route = match_route(req.method(), path);
  Response res;
  DataPathLabels labels;
  std::exception_ptr error;
  try {
    res = co_await route_request(w, req, route, query, labels);
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    res = error_from_exception(error, w.shared.log, HttpMetrics::method_label(req.method_string()),
                               route.route);
  }
  w.metrics.in_flight().dec();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const int status = static_cast<int>(res.result_int());
  w.metrics.observe(req.method_string(), route.route, status, labels, seconds);
  access_log(w.shared, req, route, status, seconds);
  co_return res;
}

}  // namespace folio::api::detail
