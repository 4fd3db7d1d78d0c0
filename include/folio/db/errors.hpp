// Typed database errors: one exception class per SQLSTATE family, so callers branch on the
// type (SerializationFailure, UniqueViolation, ...) and never on message text.
//
// Every class derives from folio::db::Error, which carries the SQLSTATE (empty for errors
// raised on the client side, such as a lost connection or a pool timeout) and the fields
// PostgreSQL sent beside the message: the detail and the name of the constraint an integrity
// error is about. The message is for people and follows the server's lc_messages; code that
// needs to know which constraint failed asks constraint_name(), never the message. The
// hierarchy follows PostgreSQL's classes (Appendix A of its manual); `make_error` picks the
// most specific class for a SQLSTATE.
//
// Thread-safety: immutable values; safe to share.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

namespace folio::db {

// The error fields of a server error besides its SQLSTATE and message (libpq's PG_DIAG_*).
struct ErrorFields {
  std::string detail;      // PG_DIAG_MESSAGE_DETAIL
  std::string constraint;  // PG_DIAG_CONSTRAINT_NAME: set by CHECK, UNIQUE, FOREIGN KEY,
                           // NOT NULL-on-domain and EXCLUDE failures; empty otherwise (a
                           // partition bound is not a named constraint)
};

class Error : public std::runtime_error {
 public:
  Error(std::string sqlstate, const std::string& message, std::string detail = {});
  Error(std::string sqlstate, const std::string& message, ErrorFields fields);
  // Five-character SQLSTATE, or "" for client-side errors.
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  const std::string& detail() const noexcept { return fields_.detail; }
  // The constraint the server named, or "" (see ErrorFields::constraint).
  const std::string& constraint_name() const noexcept { return fields_.constraint; }

 private:
  std::string sqlstate_;
  ErrorFields fields_;
};

// Class 08 and the shutdown codes 57P01..57P03, plus connections lost or refused on the
// client side. The connection that raised it is unusable; a pool replaces it.
class ConnectionError : public Error {
  using Error::Error;
};
// A statement outlived the connection's client-side deadline (Connection::
// set_operation_timeout): it was cancelled on the server and the connection is broken, so a
// pool drops it instead of handing out a connection whose protocol state is unknown.
class DeadlineExceeded : public ConnectionError {
  using ConnectionError::ConnectionError;
};
// No connection became free within the pool's acquire timeout.
class PoolTimeout : public Error {
  using Error::Error;
};
// The pool was shut down (closed or destroyed) before it could hand the caller a connection,
// so nothing of the caller's ran; usually the process is stopping.
class PoolClosed : public ConnectionError {
  using ConnectionError::ConnectionError;
};
// The client used the API wrongly or the server answered unexpectedly (a bug, not bad data).
class ProtocolError : public Error {
  using Error::Error;
};
// A value could not be decoded into the requested C++ type.
class DecodeError : public Error {
  using Error::Error;
};

// Class 40: the transaction was rolled back by the server.
class TransactionRollback : public Error {
  using Error::Error;
};
class SerializationFailure : public TransactionRollback {  // 40001
  using TransactionRollback::TransactionRollback;
};
class DeadlockDetected : public TransactionRollback {  // 40P01
  using TransactionRollback::TransactionRollback;
};

// Class 23.
class IntegrityViolation : public Error {
  using Error::Error;
};
class UniqueViolation : public IntegrityViolation {  // 23505
  using IntegrityViolation::IntegrityViolation;
};
class ForeignKeyViolation : public IntegrityViolation {  // 23503
  using IntegrityViolation::IntegrityViolation;
};
class NotNullViolation : public IntegrityViolation {  // 23502
  using IntegrityViolation::IntegrityViolation;
};
class CheckViolation : public IntegrityViolation {  // 23514
  using IntegrityViolation::IntegrityViolation;
};

// Class 22: bad data (overflow, invalid datetime, division by zero...).
class DataException : public Error {
  using Error::Error;
};

// 57014: the statement was cancelled.
class QueryCanceled : public Error {
  using Error::Error;
};
// 57014 raised because the statement outlived the transaction's statement_timeout.
class StatementTimeout : public QueryCanceled {
  using QueryCanceled::QueryCanceled;
};

// Class 55: object not in prerequisite state; 55P03 is a lock_timeout or NOWAIT failure.
class ObjectNotInPrerequisiteState : public Error {
  using Error::Error;
};
class LockNotAvailable : public ObjectNotInPrerequisiteState {  // 55P03
  using ObjectNotInPrerequisiteState::ObjectNotInPrerequisiteState;
};

// FS001, folio's own: a cutover sync trigger could not mirror a write, so the write was
// rolled back. detail() is JSON naming the table, operation, key and underlying error
// (sql/migrations/0003_sync_functions.sql); folio::cutover::parse_sync_failure reads it.
class SyncTriggerFailure : public Error {
  using Error::Error;
};

// Class 42: syntax error or access rule violation.
class SyntaxOrAccessError : public Error {
  using Error::Error;
};
class InsufficientPrivilege : public SyntaxOrAccessError {  // 42501
  using SyntaxOrAccessError::SyntaxOrAccessError;
};
class UndefinedTable : public SyntaxOrAccessError {  // 42P01
  using SyntaxOrAccessError::SyntaxOrAccessError;
};

// Class 0A and the raise_exception of PL/pgSQL (P0001) are reported as plain Error.

// Builds the most specific exception for a SQLSTATE, as an exception_ptr ready to rethrow.
std::exception_ptr make_error(std::string_view sqlstate, const std::string& message,
                              ErrorFields fields);
std::exception_ptr make_error(std::string_view sqlstate, const std::string& message,
                              std::string detail = {});
[[noreturn]] void throw_error(std::string_view sqlstate, const std::string& message,
                              std::string detail = {});

// True for the failures a whole transaction may be retried after: 40001 and 40P01.
bool is_retryable(const std::exception& e) noexcept;

}  // namespace folio::db
