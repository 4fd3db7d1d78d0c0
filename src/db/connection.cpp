#include "folio/db/connection.hpp"

#include <libpq-fe.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <atomic>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <climits>
#include <system_error>
#include <thread>
#include <utility>

#include "folio/db/errors.hpp"

namespace folio::db {

namespace {

using asio::use_awaitable;
using namespace asio::experimental::awaitable_operators;

std::string trim_message(const char* msg) {
  std::string s = msg == nullptr ? "" : msg;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Builds the exception for a failed result. Errors without a SQLSTATE come from libpq itself
// (lost connection, protocol trouble).
std::exception_ptr error_from_result(pg_conn* conn, const pg_result* res) {
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
  const char* constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
  std::string message = primary != nullptr ? primary : trim_message(PQresultErrorMessage(res));
  if (state == nullptr) {
    if (PQstatus(conn) == CONNECTION_BAD) {
      return std::make_exception_ptr(ConnectionError("", "connection lost: " + message));
    }
    return std::make_exception_ptr(ProtocolError("", message));
  }
  return make_error(state, message,
                    ErrorFields{.detail = detail != nullptr ? detail : "",
                                .constraint = constraint != nullptr ? constraint : ""});
}

void silence_notices(void* /*arg*/, const char* /*message*/) {}

// Cancel requests in flight at once, process-wide. libpq's PQcancel blocks (it opens a new
// connection to the server), so each runs on a thread of its own; against a server that went
// silent they can hang until TCP gives up, so their number is bounded: past the bound a
// statement is left to the server's statement_timeout.
constexpr int kMaxCancelsInFlight = 8;
std::atomic<int> cancels_in_flight{0};

void cancel_in_background(PGcancel* cancel) noexcept {
  if (cancel == nullptr) return;
  if (cancels_in_flight.fetch_add(1) >= kMaxCancelsInFlight) {
    cancels_in_flight.fetch_sub(1);
    PQfreeCancel(cancel);
    return;
  }
  try {
    std::thread([cancel] {
      char error[256];
      PQcancel(cancel, error, sizeof error);
      PQfreeCancel(cancel);
      cancels_in_flight.fetch_sub(1);
    }).detach();
  } catch (const std::system_error&) {
    cancels_in_flight.fetch_sub(1);
    PQfreeCancel(cancel);
  }
}

}  // namespace

class Connection::OperationDeadline {
 public:
  explicit OperationDeadline(Connection& conn)
      : conn_(conn), armed_(!conn.deadline_armed_ && conn.operation_timeout_.count() > 0) {
    if (!armed_) return;
    conn_.deadline_armed_ = true;
    conn_.deadline_.expires_after(conn_.operation_timeout_);
  }
  ~OperationDeadline() {
    if (armed_) conn_.deadline_armed_ = false;
  }
  OperationDeadline(const OperationDeadline&) = delete;
  OperationDeadline& operator=(const OperationDeadline&) = delete;

 private:
  Connection& conn_;
  bool armed_;
};

void Connection::deadline_passed() {
  timed_out_ = true;
  cancel_in_background(PQgetCancel(conn_));
  throw DeadlineExceeded("", "no answer within " + std::to_string(operation_timeout_.count()) +
                                 " ms (" + redacted_dsn_ +
                                 "); the statement was cancelled and the connection dropped");
}

Connection::Connection(PrivateTag /*tag*/, asio::any_io_executor executor, pg_conn* conn,
                       std::string redacted_dsn)
    : executor_(std::move(executor)),
      conn_(conn),
      socket_(executor_),
      redacted_dsn_(std::move(redacted_dsn)),
      deadline_(executor_) {
  PQsetNoticeProcessor(conn_, &silence_notices, nullptr);
}

Connection::~Connection() {
  // libpq owns the socket: detach it from Asio before PQfinish closes it.
  if (socket_.is_open()) socket_.release();
  PQfinish(conn_);
}

void Connection::attach_socket() {
  const int fd = PQsocket(conn_);
  if (socket_.is_open()) socket_.release();
  socket_fd_ = fd;
  if (fd >= 0) socket_.assign(fd);
}

void Connection::throw_connection_error(std::string_view what) {
  throw ConnectionError(
      "", std::string(what) + " (" + redacted_dsn_ + "): " + trim_message(PQerrorMessage(conn_)));
}

asio::awaitable<std::unique_ptr<Connection>> Connection::connect(
    asio::any_io_executor executor, std::string dsn, std::chrono::milliseconds timeout) {
  std::string redacted = redact_dsn(dsn);
  pg_conn* raw = PQconnectStart(dsn.c_str());
  if (raw == nullptr) throw ConnectionError("", "out of memory connecting to " + redacted);
  auto conn = std::make_unique<Connection>(PrivateTag{}, executor, raw, std::move(redacted));
  if (PQstatus(raw) == CONNECTION_BAD) conn->throw_connection_error("cannot connect");

  // connect_poll() reports failure as a value: `||` waits for the first operation to
  // *succeed*, so a throwing poll would leave the caller waiting for the timer.
  asio::steady_timer deadline(executor, timeout);
  const auto outcome = co_await (conn->connect_poll() || deadline.async_wait(use_awaitable));
  if (outcome.index() == 1) {
    throw ConnectionError("", "connecting to " + conn->redacted_dsn_ + " timed out after " +
                                  std::to_string(timeout.count()) + " ms");
  }
  if (const auto& failure = std::get<0>(outcome); !failure.empty()) {
    throw ConnectionError("", "cannot connect (" + conn->redacted_dsn_ + "): " + failure);
  }
  if (PQsetnonblocking(raw, 1) != 0) conn->throw_connection_error("cannot switch to non-blocking");
  co_return conn;
}

asio::awaitable<std::string> Connection::connect_poll() {
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (true) {
    // libpq may open a new socket while it tries hosts or SSL modes: re-attach every step.
    attach_socket();
    if (status == PGRES_POLLING_OK) co_return std::string();
    if (status == PGRES_POLLING_FAILED || socket_fd_ < 0) {
      std::string message = trim_message(PQerrorMessage(conn_));
      co_return message.empty() ? std::string("connection failed") : message;
    }
    co_await wait(status == PGRES_POLLING_READING ? Wait::kRead : Wait::kWrite);
    status = PQconnectPoll(conn_);
  }
}

bool Connection::ready_now(Wait what) const noexcept {
  // TLS may hold decrypted bytes while the socket itself has nothing to read.
  if (what != Wait::kWrite && PQsslInUse(conn_) == 1) {
    if (auto* ssl = static_cast<SSL*>(PQsslStruct(conn_, "OpenSSL")); ssl && SSL_pending(ssl) > 0) {
      return true;
    }
  }
  short events = 0;
  if (what != Wait::kWrite) events |= POLLIN;
  if (what != Wait::kRead) events |= POLLOUT;
  pollfd pfd{socket_fd_, events, 0};
  return ::poll(&pfd, 1, 0) > 0;
}

asio::awaitable<void> Connection::wait(Wait what) {
  // Asio registers sockets edge-triggered and an async_wait does not look at the current
  // state: data that arrived before the wait began (more than one PQconsumeInput reads, or
  // an error followed by EOF) would raise no new edge. Look first, wait only if idle.
  if (ready_now(what)) co_return;
  using D = asio::posix::stream_descriptor;
  if (deadline_armed_) {
    if (deadline_.expiry() <= asio::steady_timer::clock_type::now()) deadline_passed();
    auto readiness = [&]() -> asio::awaitable<void> {
      if (what == Wait::kRead) {
        co_await socket_.async_wait(D::wait_read, use_awaitable);
      } else if (what == Wait::kWrite) {
        co_await socket_.async_wait(D::wait_write, use_awaitable);
      } else {
        co_await (socket_.async_wait(D::wait_read, use_awaitable) ||
                  socket_.async_wait(D::wait_write, use_awaitable));
      }
    };
    const auto outcome = co_await (readiness() || deadline_.async_wait(use_awaitable));
    if (outcome.index() == 1) deadline_passed();
    co_return;
  }
  switch (what) {
    case Wait::kRead:
      co_await socket_.async_wait(D::wait_read, use_awaitable);
      break;
    case Wait::kWrite:
      co_await socket_.async_wait(D::wait_write, use_awaitable);
      break;
    case Wait::kReadOrWrite:
      co_await (socket_.async_wait(D::wait_read, use_awaitable) ||
                socket_.async_wait(D::wait_write, use_awaitable));
      break;
  }
}

asio::awaitable<void> Connection::flush() {
  while (true) {
    const int r = PQflush(conn_);
    if (r == 0) co_return;
    if (r < 0) throw_connection_error("sending to the server failed");
    // Wait for either direction: the server may be blocked writing results to us.
    co_await wait(Wait::kReadOrWrite);
    if (PQconsumeInput(conn_) == 0) throw_connection_error("reading from the server failed");
  }
}

asio::awaitable<pg_result*> Connection::next_result() {
  while (PQisBusy(conn_) != 0) {
    co_await wait(Wait::kRead);
    if (PQconsumeInput(conn_) == 0) throw_connection_error("reading from the server failed");
  }
  co_return PQgetResult(conn_);
}

void Connection::absorb_result(pg_result* res, Result& last, std::exception_ptr& error) {
  switch (PQresultStatus(res)) {
    case PGRES_FATAL_ERROR:
    case PGRES_BAD_RESPONSE:
      if (!error) error = error_from_result(conn_, res);
      PQclear(res);
      break;
    case PGRES_PIPELINE_ABORTED:  // skipped after an earlier error in the pipeline
      PQclear(res);
      break;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      PQclear(res);
      throw ProtocolError("", "a COPY statement must go through Connection::copy_in");
    default:
      last = Result(res);
      break;
  }
}

asio::awaitable<Result> Connection::collect_results() {
  Result last;
  std::exception_ptr error;
  while (pg_result* res = co_await next_result()) {
    const ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
      PQclear(res);
      // libpq keeps returning COPY results until the COPY ends; do not spin on them. The
      // connection stays busy, so its pool drops it.
      throw ProtocolError("", "a COPY statement must go through Connection::copy_in");
    }
    absorb_result(res, last, error);
  }
  if (error) std::rethrow_exception(error);
  co_return last;
}

namespace {

struct ParamArrays {
  std::vector<const char*> values;
  explicit ParamArrays(const Params& params) {
    values.reserve(params.size());
    for (const auto& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
  }
};

}  // namespace

void Connection::send_query(const std::string& sql, const Params& params) {
  if (params.size() > 65535) throw ProtocolError("", "more than 65535 parameters in one statement");
  const ParamArrays arrays(params);
  if (PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                        arrays.values.data(), nullptr, nullptr, 0) == 0) {
    if (PQstatus(conn_) == CONNECTION_BAD) throw_connection_error("cannot send the query");
    throw ProtocolError("", "cannot send the query: " + trim_message(PQerrorMessage(conn_)));
  }
}

asio::awaitable<Result> Connection::execute(std::string_view sql, const Params& params) {
  const OperationDeadline deadline(*this);
  send_query(std::string(sql), params);
  co_await flush();
  co_return co_await collect_results();
}

asio::awaitable<Result> Connection::execute_script(std::string_view sql) {
  const OperationDeadline deadline(*this);
  const std::string text(sql);
  if (PQsendQuery(conn_, text.c_str()) == 0) {
    if (PQstatus(conn_) == CONNECTION_BAD) throw_connection_error("cannot send the script");
    throw ProtocolError("", "cannot send the script: " + trim_message(PQerrorMessage(conn_)));
  }
  co_await flush();
  co_return co_await collect_results();
}

asio::awaitable<std::vector<Result>> Connection::pipeline(std::span<const Statement> statements) {
  std::vector<Result> results;
  if (statements.empty()) co_return results;
  for (const auto& st : statements) {
    if (st.params.size() > 65535) {
      throw ProtocolError("", "more than 65535 parameters in one statement");
    }
  }
  const OperationDeadline deadline(*this);
  if (PQenterPipelineMode(conn_) == 0) {
    throw ProtocolError("", "cannot enter pipeline mode: " + trim_message(PQerrorMessage(conn_)));
  }
  for (const auto& st : statements) send_query(st.sql, st.params);
  if (PQpipelineSync(conn_) == 0) throw_connection_error("cannot send the pipeline");
  co_await flush();

  results.reserve(statements.size());
  std::exception_ptr error;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    Result last;
    while (pg_result* res = co_await next_result()) absorb_result(res, last, error);
    results.push_back(std::move(last));
  }
  pg_result* sync = co_await next_result();
  const bool synced = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  PQclear(sync);
  if (!synced) {
    // A connection terminated mid-batch (a server restart, an administrator's
    // pg_terminate_backend) is a lost connection, not a protocol bug.
    if (PQstatus(conn_) == CONNECTION_BAD) throw_connection_error("the pipeline was cut off");
    throw ProtocolError("", "pipeline ended without its sync point");
  }
  if (PQexitPipelineMode(conn_) == 0) {
    throw ProtocolError("", "cannot leave pipeline mode: " + trim_message(PQerrorMessage(conn_)));
  }
  if (error) std::rethrow_exception(error);
  co_return results;
}

std::optional<Notification> Connection::take_notification() noexcept {
  PGnotify* n = PQnotifies(conn_);
  if (n == nullptr) return std::nullopt;
  Notification out{n->relname, n->extra != nullptr ? n->extra : "", n->be_pid};
  PQfreemem(n);
  return out;
}

asio::awaitable<std::optional<Notification>> Connection::wait_notification(
    std::chrono::milliseconds timeout) {
  if (auto n = take_notification()) co_return n;
  asio::steady_timer deadline(executor_, timeout);
  for (;;) {
    if (!ready_now(Wait::kRead)) {
      using D = asio::posix::stream_descriptor;
      const auto outcome = co_await (socket_.async_wait(D::wait_read, use_awaitable) ||
                                     deadline.async_wait(use_awaitable));
      if (outcome.index() == 1) co_return std::nullopt;
    }
    if (PQconsumeInput(conn_) == 0) throw_connection_error("reading from the server failed");
    if (auto n = take_notification()) co_return n;
    if (PQstatus(conn_) != CONNECTION_OK)
      throw_connection_error("the server closed the connection");
    if (deadline.expiry() <= asio::steady_timer::clock_type::now()) co_return std::nullopt;
  }
}

asio::awaitable<CopyIn> Connection::copy_in(std::string_view copy_sql) {
  const OperationDeadline deadline(*this);
  send_query(std::string(copy_sql), Params{});
  co_await flush();
  pg_result* res = co_await next_result();
  if (res != nullptr && PQresultStatus(res) == PGRES_COPY_IN) {
    PQclear(res);
    co_return CopyIn(*this);
  }
  if (res != nullptr && PQresultStatus(res) != PGRES_FATAL_ERROR) {
    PQclear(res);
    // COPY TO or another statement: the connection is mid-protocol; its pool drops it.
    throw ProtocolError("", "copy_in needs a COPY ... FROM STDIN statement");
  }
  std::exception_ptr error =
      res == nullptr ? std::make_exception_ptr(ProtocolError("", "COPY returned no result"))
      : PQresultStatus(res) == PGRES_FATAL_ERROR
          ? error_from_result(conn_, res)
          : std::make_exception_ptr(ProtocolError("", "not a COPY FROM STDIN statement"));
  PQclear(res);
  if (res != nullptr) {
    // Drain the rest of this query's results so the connection is idle again.
    while (pg_result* more = co_await next_result()) PQclear(more);
  }
  std::rethrow_exception(error);
}

bool Connection::broken() const noexcept {
  // A connection left in pipeline mode (an exception mid-batch) cannot serve plain queries;
  // one whose deadline passed may still be receiving the cancelled statement's answer.
  return timed_out_ || PQstatus(conn_) != CONNECTION_OK ||
         PQpipelineStatus(conn_) != PQ_PIPELINE_OFF;
}

TxStatus Connection::tx_status() const noexcept {
  switch (PQtransactionStatus(conn_)) {
    case PQTRANS_IDLE:
      return TxStatus::kIdle;
    case PQTRANS_ACTIVE:
      return TxStatus::kActive;
    case PQTRANS_INTRANS:
      return TxStatus::kInTransaction;
    case PQTRANS_INERROR:
      return TxStatus::kInError;
    default:
      return TxStatus::kUnknown;
  }
}

int Connection::backend_pid() const noexcept { return PQbackendPID(conn_); }

bool Connection::check_alive() noexcept {
  // A healthy idle connection has nothing to read. A terminated one has a FATAL error and
  // then EOF waiting; keep reading while the socket is readable so the EOF is seen now.
  for (int round = 0; round < 8; ++round) {
    if (PQstatus(conn_) != CONNECTION_OK) return false;
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    if (::poll(&pfd, 1, 0) <= 0) return true;
    if (PQconsumeInput(conn_) == 0) return false;
  }
  return PQstatus(conn_) == CONNECTION_OK;
}

CopyIn::CopyIn(CopyIn&& other) noexcept : conn_(other.conn_), done_(other.done_) {
  other.done_ = true;
}

CopyIn::~CopyIn() = default;

asio::awaitable<void> CopyIn::write(std::string_view data) {
  if (done_) throw ProtocolError("", "this COPY was already finished or aborted");
  const Connection::OperationDeadline deadline(*conn_);
  while (!data.empty()) {
    const auto n = static_cast<int>(std::min<std::size_t>(data.size(), INT_MAX / 2));
    const int r = PQputCopyData(conn_->conn_, data.data(), n);
    if (r < 0) conn_->throw_connection_error("COPY data could not be sent");
    if (r == 0) {
      co_await conn_->flush();
      continue;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  co_await conn_->flush();
}

asio::awaitable<std::int64_t> CopyIn::finish() {
  if (done_) throw ProtocolError("", "this COPY was already finished or aborted");
  const Connection::OperationDeadline deadline(*conn_);
  int r = 0;
  while ((r = PQputCopyEnd(conn_->conn_, nullptr)) == 0) co_await conn_->flush();
  if (r < 0) conn_->throw_connection_error("COPY could not be ended");
  co_await conn_->flush();
  done_ = true;
  const Result result = co_await conn_->collect_results();
  co_return result.affected_rows();
}

asio::awaitable<void> CopyIn::abort(std::string_view reason) {
  if (done_) throw ProtocolError("", "this COPY was already finished or aborted");
  const Connection::OperationDeadline deadline(*conn_);
  const std::string why(reason);
  int r = 0;
  while ((r = PQputCopyEnd(conn_->conn_, why.c_str())) == 0) co_await conn_->flush();
  if (r < 0) conn_->throw_connection_error("COPY could not be aborted");
  co_await conn_->flush();
  done_ = true;
  try {
    co_await conn_->collect_results();
  } catch (const QueryCanceled&) {
    // The server reports the abort as 57014; that is the expected outcome.
  }
}

}  // namespace folio::db
