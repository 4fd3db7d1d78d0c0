#include "folio/partitioning/routing_store.hpp"

#include <boost/json/array.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace folio::partitioning {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Rows the write statements return: (scope, org_id, before target, after target).
std::vector<RoutingChange> read_changes(const db::Result& result) {
  std::vector<RoutingChange> changes;
  changes.reserve(result.size());
  for (const auto& row : result) {
    RoutingChange change;
    change.scope = row.get<std::string>(0);
    change.org_id = row.get<std::int64_t>(1);
    if (auto b = row.get<std::optional<std::string>>(2)) change.before = parse_target(*b);
    if (auto a = row.get<std::optional<std::string>>(3)) change.after = parse_target(*a);
    changes.push_back(std::move(change));
  }
  return changes;
}

// PostgreSQL's text form of a bigint[]: "{1,2,3}". Sent as a parameter value, never as SQL.
std::string bigint_array(std::span<const std::int64_t> orgs) {
  std::string out = "{";
  for (std::size_t i = 0; i < orgs.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(orgs[i]);
  }
  out += '}';
  return out;
}

void require_org_ids(std::span<const std::int64_t> orgs) {
  for (const std::int64_t org : orgs) {
    if (org <= 0) {
      throw std::invalid_argument("organization ids are positive, got " + std::to_string(org));
    }
  }
}

// Runs `write(tx)` in a transaction of its own and commits.
template <typename Write>
asio::awaitable<std::vector<RoutingChange>> in_transaction(db::Pool& pool, Write write) {
  auto tx = co_await db::Transaction::begin(co_await pool.acquire());
  auto changes = co_await write(tx);
  co_await tx.commit();
  co_return changes;
}

// Upserts that skip rows already at the requested target, so unchanged rows fire no trigger
// (and no NOTIFY). `before` is read in the statement's snapshot. Rows are inserted in org_id
// order so that concurrent writers lock them in the same order.
constexpr const char* kUpsertFleetSql =
    "WITH before AS (SELECT target FROM partition_routing WHERE scope = 'fleet' AND org_id = 0),"
    "     up AS (INSERT INTO partition_routing (scope, org_id, target) VALUES ('fleet', 0, $1)"
    "            ON CONFLICT (scope, org_id) DO UPDATE"
    "               SET target = EXCLUDED.target, updated_at = clock_timestamp(),"
    "                   updated_by = current_user"
    "             WHERE partition_routing.target <> EXCLUDED.target"
    "            RETURNING org_id, target)"
    " SELECT 'fleet', up.org_id, (SELECT target FROM before), up.target FROM up";

constexpr const char* kUpsertPilotsSql =
    "WITH input AS (SELECT DISTINCT unnest($1::bigint[]) AS org_id),"
    "     before AS (SELECT p.org_id, p.target FROM partition_routing p"
    "                 WHERE p.scope = 'pilot' AND p.org_id IN (SELECT org_id FROM input)),"
    "     up AS (INSERT INTO partition_routing (scope, org_id, target)"
    "            SELECT 'pilot', org_id, $2 FROM input ORDER BY org_id"
    "            ON CONFLICT (scope, org_id) DO UPDATE"
    "               SET target = EXCLUDED.target, updated_at = clock_timestamp(),"
    "                   updated_by = current_user"
    "             WHERE partition_routing.target <> EXCLUDED.target"
    "            RETURNING org_id, target)"
    " SELECT 'pilot', up.org_id, before.target, up.target"
    "   FROM up LEFT JOIN before USING (org_id) ORDER BY up.org_id";

constexpr const char* kRemovePilotsSql =
    "DELETE FROM partition_routing WHERE scope = 'pilot' AND org_id = ANY ($1::bigint[])"
    " RETURNING scope, org_id, target, NULL::text";

constexpr const char* kClearPilotsSql =
    "DELETE FROM partition_routing WHERE scope = 'pilot'"
    " RETURNING scope, org_id, target, NULL::text";

}  // namespace

std::string_view to_string(Target target) {
  return target == Target::legacy ? "legacy" : "partitioned";
}

std::optional<Target> parse_target(std::string_view text) {
  if (text == "legacy") return Target::legacy;
  if (text == "partitioned") return Target::partitioned;
  return std::nullopt;
}

Target resolve(const RoutingSnapshot& snapshot, std::int64_t org, Target env_default) {
  if (const auto it = snapshot.pilots.find(org); it != snapshot.pilots.end()) return it->second;
  return snapshot.fleet.value_or(env_default);
}

json::object to_json(const RoutingSnapshot& snapshot, std::size_t max_orgs) {
  json::object out;
  out["fleet"] = snapshot.fleet ? json::value(to_string(*snapshot.fleet)) : json::value(nullptr);
  std::int64_t to_partitioned = 0;
  json::array orgs;
  for (const auto& [org, target] : snapshot.pilots) {
    if (target == Target::partitioned) ++to_partitioned;
    if (orgs.size() < max_orgs) orgs.emplace_back(org);
  }
  const auto pilots = static_cast<std::int64_t>(snapshot.pilots.size());
  out["pilots"] = pilots;
  out["pilots_partitioned"] = to_partitioned;
  out["pilots_legacy"] = pilots - to_partitioned;
  out["pilot_orgs"] = std::move(orgs);
  out["version"] = snapshot.version;
  return out;
}

json::array to_json(std::span<const RoutingChange> changes, std::size_t max_items) {
  json::array out;
  for (const auto& c : changes) {
    if (out.size() >= max_items) break;
    out.push_back(json::object{
        {"scope", c.scope},
        {"org_id", c.org_id},
        {"before", c.before ? json::value(to_string(*c.before)) : json::value(nullptr)},
        {"after", c.after ? json::value(to_string(*c.after)) : json::value(nullptr)}});
  }
  return out;
}

asio::awaitable<RoutingSnapshot> RoutingStore::load(db::Transaction& tx) {
  RoutingSnapshot snapshot;
  // The version first: a change that lands between the two reads then shows up as a newer
  // version on the next look, never as rows newer than the version.
  auto version = co_await tx.execute(
      "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM partition_routing_version");
  snapshot.version = version.scalar<std::int64_t>();
  auto rows = co_await tx.execute("SELECT scope, org_id, target FROM partition_routing");
  for (const auto& row : rows) {
    const auto target = parse_target(row.get<std::string_view>(2));
    if (!target) continue;  // the CHECK constraint makes this unreachable
    if (row.get<std::string_view>(0) == "fleet") {
      snapshot.fleet = *target;
    } else {
      snapshot.pilots.emplace(row.get<std::int64_t>(1), *target);
    }
  }
  co_return snapshot;
}

asio::awaitable<RoutingSnapshot> RoutingStore::load(db::Pool& pool) {
  auto tx = co_await db::Transaction::begin(co_await pool.acquire(), {.read_only = true});
  auto snapshot = co_await load(tx);
  co_await tx.commit();
  co_return snapshot;
}

asio::awaitable<std::vector<RoutingChange>> RoutingStore::set_fleet(db::Transaction& tx,
                                                                    Target target) {
  co_return read_changes(co_await tx.query(kUpsertFleetSql, to_string(target)));
}

asio::awaitable<std::vector<RoutingChange>> RoutingStore::set_fleet(db::Pool& pool, Target target) {
  co_return co_await in_transaction(
      pool, [target](db::Transaction& tx) { return set_fleet(tx, target); });
}

asio::awaitable<std::vector<RoutingChange>> RoutingStore::add_pilots(db::Transaction& tx,
                                                                     std::vector<std::int64_t> orgs,
                                                                     Target target) {
  require_org_ids(orgs);
  if (orgs.empty()) co_return std::vector<RoutingChange>{};
  co_return read_changes(
      co_await tx.query(kUpsertPilotsSql, bigint_array(orgs), to_string(target)));
}

asio::awaitable<std::vector<RoutingChange>> RoutingStore::add_pilots(db::Pool& pool,
                                                                     std::vector<std::int64_t> orgs,
                                                                     Target target) {
  require_org_ids(orgs);
  co_return co_await in_transaction(
      pool, [&orgs, target](db::Transaction& tx) { return add_pilots(tx, orgs, target); });
}

asio::awaitable<std::vector<RoutingChange>> RoutingStore::remove_pilots(
    db::Transaction& tx, std::vector<std::int64_t> orgs) {
  if (orgs.empty()) co_return std::vector<RoutingChange>{};
  co_return read_changes(co_await tx.query(kRemovePilotsSql, bigint_array(orgs)));
}

asio::awaitable<std::vector<RoutingChange>> RoutingStore::remove_pilots(
    db::Pool& pool, std::vector<std::int64_t> orgs) {
  co_return co_await in_transaction(
      pool, [&orgs](db::Transaction& tx) { return remove_pilots(tx, orgs); });
}

asio::awaitable<std::vector<RoutingChange>> RoutingStore::clear_pilots(db::Transaction& tx) {
  co_return read_changes(co_await tx.execute(kClearPilotsSql));
}

asio::awaitable<std::vector<RoutingChange>> RoutingStore::clear_pilots(db::Pool& pool) {
  co_return co_await in_transaction(pool, [](db::Transaction& tx) { return clear_pilots(tx); });
}

}  // namespace folio::partitioning
