// /metrics, /healthz and /readyz: no token needed.
#include "detail/handlers.hpp"
#include "detail/readiness.hpp"

namespace folio::api::detail {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

Response not_ready(const char* check, const std::string& message) {
  return json_response(
      503, json::object{{"status", "unavailable"}, {"failed_check", check}, {"message", message}});
}

// 200 only while serving, with the database answering on the direct endpoint, the schema
// at this binary's migrations, the request pool answering (readiness.hpp) and the routing
// snapshot loaded.
asio::awaitable<Response> readiness(Worker& w) {
  auto& shared = w.shared;
  if (shared.shutting_down.load()) co_return not_ready("shutdown", "the server is shutting down");
  if (!w.readiness) {
    w.readiness = std::make_unique<ReadinessChecks>(w.executor, shared.options, w.pool);
  }
  const auto database = co_await w.readiness->database();
  if (!database.ready()) co_return not_ready(database.failed_check.c_str(), database.message);
  if (!shared.routing_loaded.load()) {
    co_return not_ready("routing", "the routing snapshot is not loaded yet");
  }
  // Degraded but serving: replicas out of rotation read from the primary, an open breaker
  // serves from the database. Said here for operators, never a reason to be unready.
  std::size_t in_rotation = 0;
  for (const auto& replica : shared.replicas->status()) in_rotation += replica.in_rotation ? 1 : 0;
  json::object body{{"status", "ready"},
                    {"replicas_configured", shared.replicas->size()},
                    {"replicas_in_rotation", in_rotation}};
  if (!shared.breaker) {
    body["cache"] = "off";
  } else {
    body["cache"] = shared.breaker->state() == cache::BreakerState::closed ? "on" : "bypassed";
  }
  co_return json_response(200, body);
}

}  // namespace

asio::awaitable<Response> handle_health(Call& call) {
  switch (call.route.id) {
    case RouteId::metrics:
      co_return text_response(200, obs::Registry::global().expose(),
                              "text/plain; version=0.0.4; charset=utf-8");
    case RouteId::healthz:
      co_return json_response(200, json::object{{"status", "ok"}});
    default:
      co_return co_await readiness(call.worker);
  }
}

}  // namespace folio::api::detail
