// /metrics, /healthz and /readyz: no token needed.
#include "detail/handlers.hpp"
#include "folio/db/errors.hpp"
#include "folio/db/migrator.hpp"

namespace folio::api::detail {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

Response not_ready(const char* check, const std::string& message) {
  return json_response(
      503, json::object{{"status", "unavailable"}, {"failed_check", check}, {"message", message}});
}

// 200 only while serving, with the database answering on the direct endpoint, the schema
// at this binary's migrations and the routing snapshot loaded.
asio::awaitable<Response> readiness(Worker& w) {
  auto& shared = w.shared;
  if (shared.shutting_down.load()) co_return not_ready("shutdown", "the server is shutting down");
  if (!w.direct_pool) {
    const auto& o = shared.options;
    w.direct_pool.emplace(
        w.executor, db::PoolOptions{.dsn = o.direct_database_url.empty() ? o.database_url
                                                                         : o.direct_database_url,
                                    .name = "readiness",
                                    .max_size = 1,
                                    .acquire_timeout = std::chrono::milliseconds(2000),
                                    .connect_timeout = std::chrono::milliseconds(2000)});
  }
  std::string failure;
  std::string database_error;
  bool schema_current = false;
  try {
    auto conn = co_await w.direct_pool->acquire();
    co_await conn->execute("SELECT 1");
    const auto status = co_await db::migration_status(*conn, db::embedded_migrations());
    schema_current = status.current();
    if (!schema_current) {
      failure = std::to_string(status.pending.size()) + " migration(s) pending";
    }
  } catch (const db::MigrationError& e) {
    schema_current = false;
    failure = e.what();
  } catch (const std::exception& e) {
    database_error = e.what();
  }
  if (!database_error.empty()) co_return not_ready("database", database_error);
  if (!schema_current) co_return not_ready("migrations", failure);
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
