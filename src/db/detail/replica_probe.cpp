#include "detail/replica_probe.hpp"

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <variant>

#include "folio/obs/log.hpp"

namespace folio::db::detail {

namespace {

using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

// pg_is_wal_replay_paused() raises an error outside recovery, hence the CASE. A replica whose
// replay has reached its receive position has no lag, however long ago the last commit was
// replayed; otherwise the lag is the age of the last replayed commit, which is NULL until
// the server has replayed one (the caller then measures the stall itself).
constexpr std::string_view kReplicaCheckSql =
    "SELECT pg_is_in_recovery(),"
    " CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END,"
    " pg_last_wal_replay_lsn()::text,"
    " pg_is_in_recovery() AND"
    " pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn(),"
    " extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8";

constexpr std::string_view kPrimaryLsnSql = "SELECT pg_current_wal_lsn()::text";

// What with_deadline returns: the body's value, or why there is none.
template <typename T>
struct Attempt {
  std::optional<T> value;
  std::string error;
};

// Runs body(Connection&) -> awaitable<T> on `conn` (opened first when needed) within
// `timeout`. `conn` is dropped unless the body succeeded.
template <typename T, typename Body>
asio::awaitable<Attempt<T>> with_deadline(asio::any_io_executor executor,
                                          std::unique_ptr<Connection>& conn, const std::string& dsn,
                                          std::chrono::milliseconds timeout, Body& body) {
  // The attempt reports failure as a value: `||` waits for the first operation to succeed,
  // so a throwing attempt would keep the caller until the timer.
  auto attempt = [&]() -> asio::awaitable<Attempt<T>> {
    Attempt<T> out;
    std::exception_ptr error;
    try {
      if (conn == nullptr || conn->broken()) {
        conn.reset();
        conn = co_await Connection::connect(executor, dsn, timeout);
      }
      out.value = co_await body(*conn);
    } catch (...) {
      error = std::current_exception();
    }
    if (error) out.error = obs::describe_exception(error);
    co_return out;
  };
  asio::steady_timer deadline(executor, timeout);
  auto outcome = co_await (attempt() || deadline.async_wait(asio::use_awaitable));
  Attempt<T> result;
  if (outcome.index() == 0) {
    result = std::move(std::get<0>(outcome));
  } else {
    result.error = "health check timed out after " + std::to_string(timeout.count()) + " ms";
  }
  if (!result.value) conn.reset();
  co_return result;
}

}  // namespace

asio::awaitable<ReplicaProbe> probe_replica(asio::any_io_executor executor,
                                            std::unique_ptr<Connection>& conn,
                                            const std::string& dsn,
                                            std::chrono::milliseconds timeout) {
  auto body = [](Connection& c) -> asio::awaitable<ReplicaProbe> {
    const auto sent = Clock::now();
    const Result result = co_await c.execute(kReplicaCheckSql);
    ReplicaProbe probe;
    probe.rtt = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent);
    const Row row = result.front();
    probe.ok = true;
    probe.in_recovery = row.get<bool>(0);
    probe.replay_paused = row.get<bool>(1);
    if (const auto text = row.get<std::optional<std::string>>(2)) {
      probe.replay_lsn = parse_lsn(*text);
    }
    probe.behind = row.get<bool>(3);
    if (const auto age = row.get<std::optional<double>>(4)) {
      probe.replay_age_seconds = std::max(0.0, *age);
    }
    co_return probe;
  };
  auto outcome = co_await with_deadline<ReplicaProbe>(executor, conn, dsn, timeout, body);
  if (outcome.value) co_return std::move(*outcome.value);
  ReplicaProbe failed;
  failed.error = std::move(outcome.error);
  co_return failed;
}

asio::awaitable<PrimaryProbe> probe_primary(asio::any_io_executor executor,
                                            std::unique_ptr<Connection>& conn,
                                            const std::string& dsn,
                                            std::chrono::milliseconds timeout) {
  auto body = [](Connection& c) -> asio::awaitable<PrimaryProbe> {
    const Result result = co_await c.execute(kPrimaryLsnSql);
    PrimaryProbe probe;
    probe.lsn = parse_lsn(result.scalar<std::string>());
    if (!probe.lsn) probe.error = "the primary returned an unreadable WAL position";
    co_return probe;
  };
  auto outcome = co_await with_deadline<PrimaryProbe>(executor, conn, dsn, timeout, body);
  if (outcome.value) co_return std::move(*outcome.value);
  PrimaryProbe failed;
  failed.error = std::move(outcome.error);
  co_return failed;
}

}  // namespace folio::db::detail
