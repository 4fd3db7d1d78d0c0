#include "folio/cutover/switchover.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "detail/switch_state.hpp"
#include "folio/db/transaction.hpp"
#include "folio/obs/log.hpp"
#include "folio/partitioning/routing_store.hpp"

namespace folio::cutover {

namespace asio = boost::asio;
namespace json = boost::json;
using partitioning::RoutingChange;
using partitioning::RoutingSnapshot;
using partitioning::RoutingStore;
using partitioning::Target;

namespace {

const obs::Logger& switch_log() {
  static const obs::Logger logger("cutover.switchover");
  return logger;
}

void require_orgs(std::span<const std::int64_t> orgs) {
  if (orgs.empty()) throw std::invalid_argument("name at least one organization id");
  for (const std::int64_t org : orgs) {
    if (org <= 0) {
      throw std::invalid_argument("organization ids are positive, got " + std::to_string(org));
    }
  }
}

std::string bigint_array(std::span<const std::int64_t> values) {
  return fmt::format("{{{}}}", fmt::join(values, ","));
}

// Target the fleet row gives an organization without a pilot row; no row reads as legacy
// (what the platform ran on before the cutover).
Target fleet_target(const RoutingSnapshot& snapshot) {
  return snapshot.fleet.value_or(Target::legacy);
}

bool routes_anyone_to_partitioned(const RoutingSnapshot& snapshot) {
  return fleet_target(snapshot) == Target::partitioned ||
         std::any_of(snapshot.pilots.begin(), snapshot.pilots.end(),
                     [](const auto& p) { return p.second == Target::partitioned; });
}

// Refuses when finalize ran or a legacy table is missing: routing to legacy is impossible.
asio::awaitable<void> require_legacy_tables(db::Pool& pool, std::string_view phase) {
  const auto state = co_await detail::schema_state(pool);
  if (detail::finalized(state)) {
    throw SwitchRefused(fmt::format(
        "{}: finalize already ran ({}); the partitioned tables are the only copy now, so "
        "routing can no longer go back to legacy",
        phase, detail::finalized_text(state)));
  }
  for (const auto& t : state.tables) {
    if (!t.legacy) {
      throw SwitchRefused(
          fmt::format("{}: the legacy table {} does not exist", phase, t.spec->name));
    }
  }
}

// The organizations among `orgs` that have no row in organizations, "7, 9".
asio::awaitable<std::string> unknown_orgs(db::Pool& pool, std::span<const std::int64_t> orgs) {
  auto r = co_await pool.query(
      "SELECT coalesce(string_agg(o::text, ', ' ORDER BY o), '') FROM unnest($1::bigint[]) o"
      " WHERE NOT EXISTS (SELECT 1 FROM organizations WHERE id = o)",
      bigint_array(orgs));
  co_return r.scalar<std::string>();
}

// Runs `write` in one transaction between two reads of the routing, and describes it.
template <typename Write>
asio::awaitable<PhaseOutcome> change_routing(db::Pool& pool, std::string action, Write write) {
  auto tx = co_await db::Transaction::begin(co_await pool.acquire());
  const auto before = co_await RoutingStore::load(tx);
  const auto changes = co_await write(tx);
  const auto after = co_await RoutingStore::load(tx);
  co_await tx.commit();

  PhaseOutcome out;
  out.status = changes.empty() ? "noop" : "ok";
  out.details["action"] = action;
  out.details["changed"] = static_cast<std::int64_t>(changes.size());
  out.details["changes"] = partitioning::to_json(changes);
  out.details["before"] = partitioning::to_json(before);
  out.details["after"] = partitioning::to_json(after);
  if (!changes.empty()) {
    switch_log().info("routing changed", {{"action", action},
                                          {"changed", static_cast<std::int64_t>(changes.size())},
                                          {"before", out.details["before"]},
                                          {"after", out.details["after"]}});
  }
  co_return out;
}

}  // namespace

asio::awaitable<AuditedPhase> pilot_add(db::Pool& pool, std::vector<std::int64_t> orgs,
                                        StatsLevel stats, VerifyGatePolicy gate) {
  require_orgs(orgs);
  const std::vector<std::int64_t>& wanted = orgs;
  const auto before = co_await RoutingStore::load(pool);
  const bool changes = std::any_of(wanted.begin(), wanted.end(), [&](std::int64_t org) {
    const auto it = before.pilots.find(org);
    return it == before.pilots.end() || it->second != Target::partitioned;
  });
  json::object gate_details;
  if (changes) {
    if (detail::finalized(co_await detail::schema_state(pool))) {
      throw SwitchRefused(
          "pilot add: finalize already ran, every organization uses the partitioned tables");
    }
    if (auto problem = co_await detail::readiness_problem(pool)) {
      throw SwitchRefused("pilot add: " + *problem);
    }
    if (auto unknown = co_await unknown_orgs(pool, wanted); !unknown.empty()) {
      throw SwitchRefused("pilot add: no such organization: " + unknown);
    }
    gate_details = co_await pass_verify_gate(pool, "pilot add", gate);
  }
  co_return co_await run_audited(pool, "pilot", stats, [&]() -> asio::awaitable<PhaseOutcome> {
    auto out = co_await change_routing(pool, "add", [&](db::Transaction& tx) {
      return RoutingStore::add_pilots(tx, wanted, Target::partitioned);
    });
    if (!gate_details.empty()) out.details["verify_gate"] = gate_details;
    co_return out;
  });
}

asio::awaitable<AuditedPhase> pilot_remove(db::Pool& pool, std::vector<std::int64_t> orgs,
                                           StatsLevel stats, json::object reason) {
  require_orgs(orgs);
  const std::vector<std::int64_t>& wanted = orgs;
  const auto before = co_await RoutingStore::load(pool);
  // An organization whose pilot row differs from the fleet's target changes sides; if that
  // side missed writes while the sync was off, it would read stale data.
  const bool moves = std::any_of(wanted.begin(), wanted.end(), [&](std::int64_t org) {
    const auto it = before.pilots.find(org);
    return it != before.pilots.end() && it->second != fleet_target(before);
  });
  if (moves && !detail::finalized(co_await detail::schema_state(pool))) {
    if (auto problem = co_await detail::sync_problem(pool)) {
      throw SwitchRefused("pilot remove: " + *problem +
                          "; while the sync is off the side these organizations move to "
                          "misses their writes");
    }
  }
  co_return co_await run_audited(pool, "pilot", stats, [&]() -> asio::awaitable<PhaseOutcome> {
    auto out = co_await change_routing(pool, "remove", [&](db::Transaction& tx) {
      return RoutingStore::remove_pilots(tx, wanted);
    });
    if (!reason.empty()) out.details["reason"] = std::move(reason);
    co_return out;
  });
}

asio::awaitable<AuditedPhase> cut_over(db::Pool& pool, StatsLevel stats, VerifyGatePolicy gate) {
  const auto before = co_await RoutingStore::load(pool);
  json::object gate_details;
  if (before.fleet != Target::partitioned) {
    if (auto problem = co_await detail::readiness_problem(pool)) {
      throw SwitchRefused("cutover: " + *problem);
    }
    gate_details = co_await pass_verify_gate(pool, "cutover", gate);
  }
  co_return co_await run_audited(pool, "cutover", stats, [&]() -> asio::awaitable<PhaseOutcome> {
    auto out = co_await change_routing(pool, "cutover", [](db::Transaction& tx) {
      return RoutingStore::set_fleet(tx, Target::partitioned);
    });
    const auto& after = out.details["after"].as_object();
    if (after.at("pilots_legacy").as_int64() > 0) {
      out.details["note"] = fmt::format(
          "{} pilot rows keep organizations on legacy; finalize refuses until they are removed",
          after.at("pilots_legacy").as_int64());
    }
    if (!gate_details.empty()) out.details["verify_gate"] = gate_details;
    co_return out;
  });
}

asio::awaitable<AuditedPhase> rollback(db::Pool& pool, StatsLevel stats) {
  co_await require_legacy_tables(pool, "rollback");
  const auto before = co_await RoutingStore::load(pool);
  if (routes_anyone_to_partitioned(before)) {
    if (auto problem = co_await detail::sync_problem(pool)) {
      throw SwitchRefused(
          "rollback: " + *problem +
          "; while the sync is off, writes routed to the partitioned tables are missing on "
          "legacy: turn the sync on, run `folioctl switchover verify --repair`, then roll back");
    }
  }
  co_return co_await run_audited(pool, "rollback", stats, [&]() -> asio::awaitable<PhaseOutcome> {
    co_return co_await change_routing(
        pool, "rollback", [](db::Transaction& tx) -> asio::awaitable<std::vector<RoutingChange>> {
          auto changes = co_await RoutingStore::set_fleet(tx, Target::legacy);
          auto pilots = co_await RoutingStore::clear_pilots(tx);
          changes.insert(changes.end(), pilots.begin(), pilots.end());
          co_return changes;
        });
  });
}

std::string_view to_string(CheckLevel level) {
  switch (level) {
    case CheckLevel::ok:
      return "ok";
    case CheckLevel::warn:
      return "warn";
    case CheckLevel::fail:
      return "fail";
  }
  return "fail";
}

std::string format_checks(std::span<const PreflightCheck> checks) {
  std::size_t width = 0;
  for (const auto& c : checks) width = std::max(width, c.name.size());
  std::string out;
  for (const auto& c : checks) {
    const std::string_view level = c.level == CheckLevel::ok     ? "ok  "
                                   : c.level == CheckLevel::warn ? "WARN"
                                                                 : "FAIL";
    out += fmt::format("{}  {:<{}}  {}\n", level, c.name, width, c.message);
  }
  return out;
}

std::string format_checks(const json::array& checks) {
  std::vector<PreflightCheck> parsed;
  for (const auto& v : checks) {
    const auto* o = v.if_object();
    if (o == nullptr) continue;
    PreflightCheck c;
    if (const auto* n = o->if_contains("name"); n && n->is_string()) c.name = n->as_string();
    if (const auto* m = o->if_contains("message"); m && m->is_string()) {
      c.message = m->as_string();
    }
    const auto* l = o->if_contains("level");
    const std::string_view level = l && l->is_string() ? std::string_view(l->as_string()) : "";
    c.level = level == "ok"     ? CheckLevel::ok
              : level == "warn" ? CheckLevel::warn
                                : CheckLevel::fail;
    parsed.push_back(std::move(c));
  }
  return format_checks(parsed);
}

asio::awaitable<AuditedPhase> preflight(db::Pool& pool, PreflightOptions options) {
  std::int64_t failed = 0;
  std::string failures;
  auto phase = co_await run_audited(
      pool, "preflight", options.stats, [&]() -> asio::awaitable<PhaseOutcome> {
        const auto checks = co_await preflight_checks(pool, options);
        json::array list;
        std::int64_t warnings = 0;
        for (const auto& c : checks) {
          list.push_back(json::object{
              {"name", c.name}, {"level", to_string(c.level)}, {"message", c.message}});
          if (c.level == CheckLevel::warn) ++warnings;
          if (c.level == CheckLevel::fail) {
            ++failed;
            failures += fmt::format("{}{}: {}", failures.empty() ? "" : "; ", c.name, c.message);
          }
        }
        PhaseOutcome out;
        if (failed > 0) out.status = "failed";
        out.details["checks"] = std::move(list);
        out.details["failed"] = failed;
        out.details["warnings"] = warnings;
        co_return out;
      });
  if (failed > 0) {
    const std::string message =
        fmt::format("preflight: {} check{} failed: {}", failed, failed == 1 ? "" : "s", failures);
    // The row keeps the checks (details) and says why it failed.
    co_await pool.query(
        "UPDATE cutover_audit SET status = 'failed', error = $2 WHERE id = $1 AND phase = "
        "'preflight'",
        phase.audit_id, message);
    throw SwitchRefused(message, phase.details);
  }
  co_return phase;
}

}  // namespace folio::cutover
