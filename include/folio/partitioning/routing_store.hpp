// partition_routing (sql/migrations/0002_cutover_state.sql), the one model of where each
// organization's queries go, shared by the cutover commands that change it and by the
// services that follow it.
//
// The table holds at most one 'fleet' row (the fleet-wide target) and any number of 'pilot'
// rows (one organization each, overriding the fleet). No row means "the environment default"
// (USE_PARTITIONED_TABLES). Every row change is announced by a trigger on kRoutingChannel
// with a JSON payload {version, operation, scope, org_id, target}, whoever made it.
//
// Writes are idempotent upserts: a row whose target is already the requested one is not
// touched, so it is not announced either, and every write reports exactly what it changed.
//
// Arguments are taken by value: a coroutine may start after the caller's temporaries died.
//
// Thread-safety: RoutingStore is stateless (the table is the state); its functions may run
// concurrently on different connections. A Pool or Transaction passed in must be used from
// its own executor. resolve() is a pure function.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "folio/db/pool.hpp"
#include "folio/db/transaction.hpp"

namespace folio::partitioning {

// The LISTEN channel the partition_routing trigger notifies on.
inline constexpr std::string_view kRoutingChannel = "folio_partition_routing";

enum class Target { legacy, partitioned };

// "legacy" or "partitioned".
std::string_view to_string(Target target);
// "legacy" / "partitioned" (exactly); nullopt otherwise.
std::optional<Target> parse_target(std::string_view text);

struct RoutingSnapshot {
  std::optional<Target> fleet;            // nullopt: no fleet row, the environment decides
  std::map<std::int64_t, Target> pilots;  // org_id -> target
  // partition_routing_version's last value (0 before any change). A hint for pollers: it is
  // bumped inside the writing transaction, so a version can be seen shortly before its rows
  // commit; a poller that must not miss a change also compares the snapshot itself (the
  // table is small) or reloads once more after a version change.
  std::int64_t version = 0;

  bool operator==(const RoutingSnapshot& other) const {
    return fleet == other.fleet && pilots == other.pilots;
  }
};

// Where `org`'s queries go: its pilot row, else the fleet row, else `env_default`.
Target resolve(const RoutingSnapshot& snapshot, std::int64_t org, Target env_default);

// One row a write changed. scope "fleet" (org_id 0) or "pilot"; before/after nullopt when
// the row did not exist / was deleted.
struct RoutingChange {
  std::string scope;
  std::int64_t org_id = 0;
  std::optional<Target> before;
  std::optional<Target> after;
};

// {"fleet": "partitioned"|null, "pilots": n, "pilots_partitioned": n, "pilots_legacy": n,
//  "pilot_orgs": [up to `max_orgs` ids], "version": v} — for audit details and status.
boost::json::object to_json(const RoutingSnapshot& snapshot, std::size_t max_orgs = 20);
// [{"scope", "org_id", "before", "after"}...], at most `max_items` entries.
boost::json::array to_json(std::span<const RoutingChange> changes, std::size_t max_items = 100);

class RoutingStore {
 public:
  // The whole table and the version. Throws db::Error.
  static boost::asio::awaitable<RoutingSnapshot> load(db::Pool& pool);
  static boost::asio::awaitable<RoutingSnapshot> load(db::Transaction& tx);

  // Sets the fleet row. Returns the change (empty when the target was already `target`).
  static boost::asio::awaitable<std::vector<RoutingChange>> set_fleet(db::Pool& pool,
                                                                      Target target);
  static boost::asio::awaitable<std::vector<RoutingChange>> set_fleet(db::Transaction& tx,
                                                                      Target target);

  // Upserts a pilot row per organization (duplicates ignored). Returns the rows that changed.
  // Throws std::invalid_argument for an org id <= 0 (before touching the table).
  static boost::asio::awaitable<std::vector<RoutingChange>> add_pilots(
      db::Pool& pool, std::vector<std::int64_t> orgs, Target target = Target::partitioned);
  static boost::asio::awaitable<std::vector<RoutingChange>> add_pilots(
      db::Transaction& tx, std::vector<std::int64_t> orgs, Target target = Target::partitioned);

  // Deletes these organizations' pilot rows. Returns the rows deleted.
  static boost::asio::awaitable<std::vector<RoutingChange>> remove_pilots(
      db::Pool& pool, std::vector<std::int64_t> orgs);
  static boost::asio::awaitable<std::vector<RoutingChange>> remove_pilots(
      db::Transaction& tx, std::vector<std::int64_t> orgs);

  // Deletes every pilot row. Returns the rows deleted.
  static boost::asio::awaitable<std::vector<RoutingChange>> clear_pilots(db::Pool& pool);
  static boost::asio::awaitable<std::vector<RoutingChange>> clear_pilots(db::Transaction& tx);
};

}  // namespace folio::partitioning
