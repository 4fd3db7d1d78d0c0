// Knows which read replicas may serve reads right now.
//
// A health loop checks every replica once per interval (the primary's WAL position over one
// persistent direct connection, then every replica concurrently, each over its own persistent
// connection and under a client-side deadline) and keeps a rotation: a replica leaves at its
// first unhealthy check (unreachable, not in recovery, or lagging past either limit) and
// rejoins after `rejoin_after` consecutive healthy checks with little lag. choose() picks
// among the replicas in rotation with a SelectionPolicy, optionally only among those that
// have replayed a given WAL position (read-your-writes) or, when none is known to have, among
// those a read may try if it confirms the position itself (ReadGuard, read_guard.hpp).
//
// A replica's known replay position is the one its last health check read, raised between
// checks by what reads' guards saw on it (observe_replay()); the next check starts afresh.
//
// Metrics (obs::Registry::global(), label replica=<name>): folio_replica_up,
// folio_replica_in_rotation, folio_replica_lag_bytes, folio_replica_lag_seconds,
// folio_replica_rtt_seconds, folio_replica_rotation_changes_total{direction},
// folio_replica_check_failures_total, folio_replicas_configured, folio_replicas_in_rotation.
//
// Thread-safety: choose(), any_in_rotation(), observe_replay(), report_failure(), status(),
// size() and replicas() may be called from any thread at any time. start(), stop() and
// check_now() are coroutines that may be awaited from any executor (the manager runs its own
// work on a strand of the executor it was given); await them one at a time.
// The destructor may run while the loop runs (it asks the loop to end; the loop's state lives
// until the loop has), but stop() first is the orderly way: it closes the connections.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "folio/db/lsn.hpp"
#include "folio/db/selection_policy.hpp"

namespace folio::db {

namespace asio = boost::asio;

struct ReplicaEndpoint {
  std::string name;        // metrics label and log name: "host:port/dbname" from the URL (never
                           // the password)
  std::string dsn;         // reads go here (usually PgBouncer's replica database)
  std::string health_dsn;  // health checks go here (the replica itself); empty: dsn
};

// Parses REPLICA_URLS (comma separated postgresql:// URLs or key=value DSNs; whitespace
// around items ignored; empty or blank -> empty vector) and optionally REPLICA_HEALTH_URLS
// (same count and order, or empty). Throws std::invalid_argument (no password in the
// message) when the counts differ or an item is empty/unparseable. Duplicate names get a "#2"
// suffix ("#3" for the third...). Multi-host URLs (host1,host2) cannot be listed: the comma
// separates replicas.
std::vector<ReplicaEndpoint> parse_replica_urls(std::string_view urls,
                                                std::string_view health_urls = {});

struct ReplicaHealthOptions {
  std::chrono::milliseconds interval{1000};       // between health rounds
  std::chrono::milliseconds check_timeout{1000};  // connect + query of one check, client-side
  std::uint64_t max_lag_bytes = 16ull << 20;      // over either limit: leaves rotation
  std::chrono::milliseconds max_lag{5000};
  int rejoin_after = 3;              // consecutive healthy checks before returning to rotation
  double rejoin_lag_fraction = 0.5;  // ... each with lag under this fraction of both limits
};

struct ReplicaManagerOptions {
  std::string primary_dsn;  // where pg_current_wal_lsn() is read (direct primary preferred);
                            // empty: lag is judged by lag_seconds only
  std::vector<ReplicaEndpoint> replicas;  // may be empty: zero replicas is normal
  ReplicaHealthOptions health;
};

struct ReplicaStatus {
  std::string name;
  bool reachable = false;      // the last check connected and answered
  bool in_recovery = false;    // pg_is_in_recovery()
  bool replay_paused = false;  // pg_is_wal_replay_paused()
  bool in_rotation = false;
  Lsn replay_lsn = 0;           // pg_last_wal_replay_lsn() at the last successful check
  std::uint64_t lag_bytes = 0;  // primary's pg_current_wal_lsn() minus replay_lsn (0 if negative)
  // How long ago the primary (sampled once per round) first stood past replay_lsn; 0 when
  // the replica has replayed every sample. Without primary samples (no primary_dsn, or it is
  // unreachable): 0 when receive == replay LSN, else now() - pg_last_xact_replay_timestamp(),
  // or, when that is NULL, how long checks have seen replay stand still at one position.
  double lag_seconds = 0;
  std::chrono::microseconds rtt{0};  // round trip of the check query
  std::string last_error;            // why it is out of rotation / last failure; empty when healthy
};

enum class ReplicaChoiceReason {
  replica,           // in rotation and, when a position was asked for, known to have replayed it
  unconfirmed,       // in rotation, not known to have replayed the position: the read must
                     // confirm it in its own transaction (ReadGuard) or not use the replica
  no_replicas,       // none configured
  none_in_rotation,  // none in rotation
  not_caught_up,     // some in rotation, none known to have replayed the position (and none
                     // to try: unconfirmed choices not allowed, or every such replica's
                     // replay is paused)
};

// Whether choose() may return a replica not known to have replayed the position asked for.
enum class Unconfirmed { exclude, allow };

struct ReplicaChoice {
  std::optional<std::size_t> replica;  // index into replicas()
  ReplicaChoiceReason reason;
  std::uint64_t generation = 0;  // the rotation view the choice was made on (observe_replay())
};

class ReplicaManager {
 public:
  // REQUIRES: policy is not null. Registers the metric series; opens no connection yet.
  ReplicaManager(asio::any_io_executor executor, ReplicaManagerOptions options,
                 std::unique_ptr<SelectionPolicy> policy);
  ReplicaManager(const ReplicaManager&) = delete;
  ReplicaManager& operator=(const ReplicaManager&) = delete;
  ~ReplicaManager();

  // Runs the first health round (so rotation is known when start() returns; a replica
  // healthy in that first round joins at once, without waiting rejoin_after rounds), then
  // loops every interval until stop(). With zero replicas it only logs once "no replicas
  // configured; reads go to the primary" and sets the gauges. Never throws for unreachable
  // servers (they are reported as such). A second start() while running does nothing.
  asio::awaitable<void> start();
  // Ends the loop, closes connections; waits for the loop (and a round in progress) to finish.
  asio::awaitable<void> stop();
  // One health round now (tests); waits for a round in progress first.
  asio::awaitable<void> check_now();

  std::size_t size() const noexcept;  // configured replicas
  const std::vector<ReplicaEndpoint>& replicas() const noexcept;

  // Thread-safe, lock-free apart from the snapshot load, and allocation-free for up to 16
  // replicas in rotation: a replica in rotation whose known replay position >= *min_lsn (when
  // given), picked by the policy among those (reason replica). When none is known to have
  // replayed min_lsn and `unconfirmed` is allow: one in rotation whose replay is not known to
  // be paused, picked by the policy among those (reason unconfirmed; never for the largest
  // position, which stands for "unknown": no replica reaches it). Else nullopt with the
  // reason (no_replicas, none_in_rotation, not_caught_up).
  ReplicaChoice choose(std::optional<Lsn> min_lsn = std::nullopt,
                       Unconfirmed unconfirmed = Unconfirmed::exclude) const;
  bool any_in_rotation() const noexcept;

  // Thread-safe, lock-free. A read's guard saw replica `index` (chosen on view `generation`,
  // ReplicaChoice::generation) at `replay_lsn`, with replay paused or not: raises the
  // replica's known replay position (never lowers it) and, when paused, keeps unconfirmed
  // reads off it, both until the next health check or rotation change. Ignored when the view
  // has changed since the choice (the replica may have left rotation and come back since,
  // e.g. restarted from an older position) or `index` is not in rotation.
  void observe_replay(std::size_t index, std::uint64_t generation, Lsn replay_lsn,
                      bool replay_paused) noexcept;

  // Thread-safe. A read on replica `index` failed (connection lost, pool timeout): take it out
  // of rotation now with `error`; the health loop brings it back after rejoin_after healthy
  // rounds. An index >= size() is ignored.
  void report_failure(std::size_t index, std::string_view error);

  std::vector<ReplicaStatus> status() const;  // thread-safe copy

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the health loop, which may outlive *this
};

}  // namespace folio::db
