// One PostgreSQL connection driven by Boost.Asio C++20 coroutines over libpq's non-blocking
// API. Every statement uses the extended protocol with an *unnamed* statement (or the simple
// protocol for parameterless scripts), so it works through PgBouncer in transaction mode,
// which cannot route named prepared statements or session state.
//
// Failures are thrown as the typed exceptions of errors.hpp. After a ConnectionError the
// connection is broken() and must be dropped (a Pool does that).
//
// Thread-safety: a Connection is bound to the executor it was created on and must be used
// from that executor only, by one coroutine at a time (libpq allows one query in flight).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "folio/db/params.hpp"
#include "folio/db/result.hpp"

struct pg_conn;

namespace folio::db {

namespace asio = boost::asio;

// One statement of a pipeline batch.
struct Statement {
  std::string sql;
  Params params;
};

// A NOTIFY received on a channel this connection LISTENs to.
struct Notification {
  std::string channel;
  std::string payload;
  int backend_pid = 0;  // the notifying session
};

enum class TxStatus { kIdle, kActive, kInTransaction, kInError, kUnknown };

class CopyIn;

class Connection {
 public:
  // Opens a connection. `dsn` is a libpq connection string or URI. Throws ConnectionError
  // (with the DSN's password redacted from the message) when the server cannot be reached,
  // refuses the login, or `timeout` passes first.
  static asio::awaitable<std::unique_ptr<Connection>> connect(asio::any_io_executor executor,
                                                              std::string dsn,
                                                              std::chrono::milliseconds timeout);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs one parameterized statement and returns its result.
  asio::awaitable<Result> execute(std::string_view sql, const Params& params = {});

  template <typename... Args>
  asio::awaitable<Result> query(std::string_view sql, const Args&... args) {
    co_return co_await execute(sql, Params::of(args...));
  }

  // Runs a parameterless script of one or more statements with the simple query protocol
  // (migrations, BEGIN/SET LOCAL preambles). Returns the last statement's result.
  asio::awaitable<Result> execute_script(std::string_view sql);

  // Sends all statements in libpq pipeline mode, followed by one Sync, and returns their
  // results in order: one network round trip for the batch. Outside an explicit transaction
  // the batch is one implicit transaction (all or nothing). If a statement fails, the
  // statements after it are skipped by the server and the first error is thrown.
  asio::awaitable<std::vector<Result>> pipeline(std::span<const Statement> statements);

  // Starts `COPY ... FROM STDIN`; stream rows into the returned CopyIn. The connection is
  // busy until CopyIn::finish() or abort().
  asio::awaitable<CopyIn> copy_in(std::string_view copy_sql);

  // Returns the next notification for a channel this session LISTENs to (after executing
  // `LISTEN channel`): one that arrived earlier (also during a query) or the first to arrive
  // within `timeout`; nullopt when none came. Throws ConnectionError when the connection
  // dies while waiting. Use a direct connection: PgBouncer in transaction mode does not keep
  // a session's LISTEN.
  asio::awaitable<std::optional<Notification>> wait_notification(std::chrono::milliseconds timeout);

  // A client-side deadline for every statement, script, pipeline and COPY from now on: one
  // that has not completed `timeout` after it was sent is cancelled on the server (a cancel
  // request, sent from a background thread because libpq's is blocking), the connection is
  // marked broken and DeadlineExceeded is thrown. It holds even when the server or the network
  // goes silent, where statement_timeout cannot help. Zero (the default): no deadline.
  // Notification waits have their own timeout and are not affected.
  void set_operation_timeout(std::chrono::milliseconds timeout) noexcept {
    operation_timeout_ = timeout;
  }

  bool broken() const noexcept;
  TxStatus tx_status() const noexcept;
  int backend_pid() const noexcept;
  // Reads whatever the server sent while the connection sat idle (an error before a forced
  // disconnect, EOF) without blocking; false when the connection turned out to be dead.
  bool check_alive() noexcept;
  const std::string& redacted_dsn() const noexcept { return redacted_dsn_; }
  const asio::any_io_executor& executor() const noexcept { return executor_; }

 private:
  struct PrivateTag {};

 public:
  // Use connect(); public only so that std::make_unique can reach it.
  Connection(PrivateTag tag, asio::any_io_executor executor, pg_conn* conn,
             std::string redacted_dsn);

 private:
  friend class CopyIn;

  enum class Wait { kRead, kWrite, kReadOrWrite };
  // Arms the deadline of one operation for its lifetime (nested operations keep the outer one).
  class OperationDeadline;
  // Sends a cancel request for the running statement, marks the connection broken and throws
  // DeadlineExceeded.
  [[noreturn]] void deadline_passed();
  bool ready_now(Wait what) const noexcept;
  asio::awaitable<void> wait(Wait what);
  asio::awaitable<void> flush();
  // Waits until libpq has a complete result; returns it, or nullptr at the end of a query.
  asio::awaitable<pg_result*> next_result();
  // Keeps a result as `last`, or records the first error (freeing what it does not keep).
  void absorb_result(pg_result* res, Result& last, std::exception_ptr& error);
  // Collects the results of one query until libpq returns NULL; throws the first error.
  asio::awaitable<Result> collect_results();
  // Drives PQconnectPoll; returns "" on success or libpq's error message.
  asio::awaitable<std::string> connect_poll();
  void send_query(const std::string& sql, const Params& params);
  void attach_socket();
  std::optional<Notification> take_notification() noexcept;
  [[noreturn]] void throw_connection_error(std::string_view what);

  asio::any_io_executor executor_;
  pg_conn* conn_;
  asio::posix::stream_descriptor socket_;
  int socket_fd_ = -1;
  std::string redacted_dsn_;
  std::chrono::milliseconds operation_timeout_{0};
  bool deadline_armed_ = false;
  bool timed_out_ = false;  // a deadline passed: the protocol state is unknown
  asio::steady_timer deadline_;
};

// A COPY FROM STDIN in progress. Move-only; if it is destroyed without finish(), the
// connection is left mid-COPY and is broken() for pooling purposes.
class CopyIn {
 public:
  CopyIn(CopyIn&& other) noexcept;
  CopyIn& operator=(CopyIn&&) = delete;
  ~CopyIn();

  // Sends rows in the format the COPY statement declared (text format: tab-separated fields,
  // one row per '\n'-terminated line). Data may split rows anywhere.
  asio::awaitable<void> write(std::string_view data);
  // Ends the COPY and returns the number of rows the server stored. Throws the server's
  // error (bad row, constraint violation) if the COPY failed.
  asio::awaitable<std::int64_t> finish();
  // Cancels the COPY: nothing it sent is kept.
  asio::awaitable<void> abort(std::string_view reason);

 private:
  friend class Connection;
  explicit CopyIn(Connection& conn) : conn_(&conn) {}
  Connection* conn_;
  bool done_ = false;
};

// Returns `dsn` with any password replaced by "***", for URIs
// (postgresql://user:secret@host/db) and key=value strings (password=secret) alike.
std::string redact_dsn(std::string_view dsn);

}  // namespace folio::db
