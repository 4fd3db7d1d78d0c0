// finalize (switchover.hpp): the one irreversible phase, so every criterion is checked
// before anything is recorded, and the routing ones once more inside the transaction that
// retires the legacy tables.
#include <fmt/format.h>

#include <algorithm>

#include "folio/cutover/switchover.hpp"
#include "folio/db/transaction.hpp"
#include "folio/obs/log.hpp"
#include "folio/partitioning/routing_store.hpp"
#include "switch_state.hpp"

namespace folio::cutover {

namespace asio = boost::asio;
namespace json = boost::json;
using partitioning::RoutingSnapshot;
using partitioning::RoutingStore;
using partitioning::Target;

namespace {

// Refuses unless the fleet row is partitioned and no pilot row routes to legacy.
void require_partitioned_routing(const RoutingSnapshot& routing) {
  if (routing.fleet != Target::partitioned) {
    throw SwitchRefused(
        "finalize: the fleet is not routed to the partitioned tables: run `folioctl switchover "
        "cutover`, let it soak, run `folioctl switchover verify`, then finalize");
  }
  std::vector<std::int64_t> legacy;
  for (const auto& [org, target] : routing.pilots) {
    if (target == Target::legacy) legacy.push_back(org);
  }
  if (!legacy.empty()) {
    if (legacy.size() > 20) legacy.resize(20);
    throw SwitchRefused(fmt::format(
        "finalize: pilot rows keep organizations on legacy ({}): remove them with `folioctl "
        "switchover pilot remove ORG...` first",
        fmt::join(legacy, ", ")));
  }
}

// Sync triggers on the six tables as DROP statements (names from the catalog, quoted by the
// server): the triggers that run folio's sync functions, and any named sync_*.
constexpr std::string_view kSyncTriggerDropsSql =
    "SELECT format('DROP TRIGGER %I ON %s', t.tgname, t.tgrelid::regclass)"
    "  FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
    " WHERE NOT t.tgisinternal AND t.tgparentid = 0"
    "   AND (p.proname LIKE 'folio\\_sync\\_%' OR t.tgname LIKE 'sync\\_%')"
    "   AND t.tgrelid = ANY ($1::regclass[])"
    " ORDER BY 1";

std::string six_tables_array() {
  std::vector<std::string> names;
  for (const auto& spec : all_tables()) {
    names.emplace_back(spec.name);
    names.emplace_back(spec.partitioned);
  }
  return fmt::format("{{{}}}", fmt::join(names, ","));
}

}  // namespace

asio::awaitable<AuditedPhase> finalize(db::Pool& pool, FinalizeOptions options) {
  if (!options.confirm) {
    throw SwitchRefused(
        "finalize is irreversible (it drops the sync triggers and archives the legacy tables, "
        "after which rollback is impossible): pass --confirm");
  }
  const auto state = co_await detail::schema_state(pool);
  if (detail::finalized(state)) {
    const std::string archives = detail::archive_names(state);
    co_return co_await run_audited(pool, "finalize", options.stats,
                                   [&]() -> asio::awaitable<PhaseOutcome> {
                                     PhaseOutcome out;
                                     out.status = "noop";
                                     out.details["archived"] = archives;
                                     out.details["note"] = "finalize already ran";
                                     co_return out;
                                   });
  }
  for (const auto& t : state.tables) {
    if (!t.partitioned) {
      throw SwitchRefused(fmt::format("finalize: {} does not exist", t.spec->partitioned));
    }
    if (!t.legacy) {
      throw SwitchRefused(fmt::format(
          "finalize: the legacy table {} is missing but not archived by finalize; restore it "
          "or archive the others by hand",
          t.spec->name));
    }
  }
  require_partitioned_routing(co_await RoutingStore::load(pool));

  // The routing and the tables are checked first: their refusals name an earlier phase.
  const auto gate_details = co_await pass_verify_gate(pool, "finalize", options.gate,
                                                      {.max_age = options.max_verify_age});

  co_return co_await run_audited(
      pool, "finalize", options.stats, [&]() -> asio::awaitable<PhaseOutcome> {
        json::object archived;
        std::int64_t dropped = 0;
        json::object routing;
        std::vector<std::string> lock_tables;
        for (const auto& spec : all_tables()) {
          lock_tables.emplace_back(spec.name);
          lock_tables.emplace_back(spec.partitioned);
        }
        lock_tables.emplace_back("partition_routing");
        co_await with_lock_retry(
            pool, "finalize", lock_tables, options.locks,
            [&](db::Transaction& tx) -> asio::awaitable<void> {
              archived.clear();
              dropped = 0;
              // Routing cannot change until this commits; check it again under that lock.
              co_await tx.execute("LOCK TABLE partition_routing IN SHARE MODE");
              const auto snapshot = co_await RoutingStore::load(tx);
              require_partitioned_routing(snapshot);
              routing = partitioning::to_json(snapshot);

              const auto date =
                  (co_await tx.execute("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                                       "'YYYYMMDD')"))
                      .scalar<std::string>();
              if (date.size() != 8 || !std::all_of(date.begin(), date.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; })) {
                throw std::runtime_error("finalize: unexpected server date '" + date + "'");
              }

              const std::string six = six_tables_array();
              auto drops = co_await tx.query(kSyncTriggerDropsSql, six);
              for (const auto& row : drops) {
                co_await tx.execute(row.get<std::string_view>(0));
                ++dropped;
              }
              auto left = co_await tx.query(kSyncTriggerDropsSql, six);
              if (!left.empty()) {
                throw std::runtime_error("finalize: sync triggers remain after dropping them");
              }
              // Nobody may own the shared sequence: an owner's DROP ... CASCADE would drop it and
              // the id default of every partition with it (CUTOVER_PITFALLS §5).
              co_await tx.execute("ALTER SEQUENCE folio_id_seq OWNED BY NONE");
              for (const auto& spec : all_tables()) {
                const std::string archive = fmt::format("{}_archived_{}", spec.name, date);
                co_await tx.execute(fmt::format("ALTER TABLE {} RENAME TO {}", spec.name, archive));
                archived[spec.name] = archive;
              }
            });
        obs::Logger("cutover.switchover")
            .info("finalized", {{"archived", archived}, {"triggers_dropped", dropped}});
        PhaseOutcome out;
        out.details["archived"] = archived;
        out.details["triggers_dropped"] = dropped;
        out.details["sequence"] = "folio_id_seq OWNED BY NONE";
        out.details["routing"] = routing;
        out.details["verify_gate"] = gate_details;
        co_return out;
      });
}

}  // namespace folio::cutover
