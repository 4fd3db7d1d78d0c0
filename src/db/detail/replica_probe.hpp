// One health check of a replica, and one read of the primary's WAL position, each over a
// persistent connection that is (re)opened on demand and dropped when it fails or overruns the
// client-side deadline (its protocol state is then unknown).
//
// Thread-safety: like a Connection: run on the executor the connection belongs to, one probe
// per connection at a time.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "folio/db/connection.hpp"
#include "folio/db/lsn.hpp"

namespace folio::db::detail {

struct ReplicaProbe {
  bool ok = false;    // connected and answered
  std::string error;  // why not, when !ok
  bool in_recovery = false;
  bool replay_paused = false;
  std::optional<Lsn> replay_lsn;  // NULL outside recovery
  bool behind = false;            // the receive position differs from the replay position
  std::optional<double> replay_age_seconds;  // since the last replayed commit; NULL when no
                                             // commit was replayed since the server started
  std::chrono::microseconds rtt{0};          // of the query alone, not the connect
};

struct PrimaryProbe {
  std::optional<Lsn> lsn;  // pg_current_wal_lsn(); nullopt when unreachable
  std::string error;
};

// Both never throw for server or network failures (they become `error`); `timeout` bounds
// connect and query together. `conn` is replaced when null or broken and reset on failure.
asio::awaitable<ReplicaProbe> probe_replica(asio::any_io_executor executor,
                                            std::unique_ptr<Connection>& conn,
                                            const std::string& dsn,
                                            std::chrono::milliseconds timeout);
asio::awaitable<PrimaryProbe> probe_primary(asio::any_io_executor executor,
                                            std::unique_ptr<Connection>& conn,
                                            const std::string& dsn,
                                            std::chrono::milliseconds timeout);

}  // namespace folio::db::detail
