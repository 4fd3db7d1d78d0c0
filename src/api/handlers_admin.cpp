// /v1/admin/routing[/pilots[/{org}]]: where organizations' queries go, and pilot changes
// through the audited cutover phases (the same as `folioctl switchover pilot`).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>

#include "detail/handlers.hpp"
#include "detail/input.hpp"
#include "detail/json_output.hpp"
#include "folio/cutover/switchover.hpp"

namespace folio::api::detail {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

// Reloads the shared routing snapshot on its own executor, so this server follows the
// change at once instead of at the next notification.
asio::awaitable<void> reload_routing(Shared& shared) {
  if (!shared.routing_loaded.load()) co_return;
  co_await asio::co_spawn(shared.routing_executor, shared.routing->reload(), asio::use_awaitable);
}

// A pilot change moves these organizations' reads to the other side: their cached values are
// retired (the keys also name the side, so other instances, which only reload routing, miss
// them too).
asio::awaitable<void> invalidate(Worker& w, const std::vector<std::int64_t>& orgs) {
  if (!w.cache) co_return;
  for (const auto org : orgs) co_await w.cache->invalidate(org, cache::InvalidationReason::routing);
}

asio::awaitable<Response> phase_response(Shared& shared, const cutover::AuditedPhase& phase) {
  co_await reload_routing(shared);
  json::object body{{"phase", phase.phase},
                    {"status", phase.status},
                    {"audit_id", phase.audit_id},
                    {"details", phase.details},
                    {"routing", routing_json(*shared.routing, shared.routing_loaded.load())}};
  co_return json_response(200, body);
}

}  // namespace

asio::awaitable<Response> handle_admin(Call& call) {
  auto& shared = call.worker.shared;
  parse_query(call.query, {});
  switch (call.route.id) {
    case RouteId::admin_routing:
      co_return json_response(200, routing_json(*shared.routing, shared.routing_loaded.load()));
    case RouteId::admin_pilots: {
      auto orgs = pilot_orgs(parse_json_object(call.req));
      const auto phase =
          co_await cutover::pilot_add(call.worker.pool, orgs, cutover::StatsLevel::none);
      co_await invalidate(call.worker, orgs);
      co_return co_await phase_response(shared, phase);
    }
    default: {
      const auto org = parse_id(call.route.org);
      if (!org) bad_request(code::kInvalidValue, "org", "org must be a positive integer");
      std::vector<std::int64_t> orgs{*org};
      const auto phase =
          co_await cutover::pilot_remove(call.worker.pool, orgs, cutover::StatsLevel::none);
      co_await invalidate(call.worker, orgs);
      co_return co_await phase_response(shared, phase);
    }
  }
}

}  // namespace folio::api::detail
