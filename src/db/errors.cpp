#include "folio/db/errors.hpp"

#include <utility>

namespace folio::db {

Error::Error(std::string sqlstate, const std::string& message, std::string detail)
    : Error(std::move(sqlstate), message, ErrorFields{.detail = std::move(detail)}) {}

Error::Error(std::string sqlstate, const std::string& message, ErrorFields fields)
    : std::runtime_error(message), sqlstate_(std::move(sqlstate)), fields_(std::move(fields)) {}

namespace {

template <typename E>
std::exception_ptr make(std::string_view sqlstate, const std::string& message, ErrorFields fields) {
  return std::make_exception_ptr(E(std::string(sqlstate), message, std::move(fields)));
}

}  // namespace

std::exception_ptr make_error(std::string_view sqlstate, const std::string& message,
                              std::string detail) {
  return make_error(sqlstate, message, ErrorFields{.detail = std::move(detail)});
}

std::exception_ptr make_error(std::string_view sqlstate, const std::string& message,
                              ErrorFields fields) {
  const std::string_view cls = sqlstate.substr(0, 2);
  if (sqlstate == "40001") return make<SerializationFailure>(sqlstate, message, std::move(fields));
  if (sqlstate == "40P01") return make<DeadlockDetected>(sqlstate, message, std::move(fields));
  if (cls == "40") return make<TransactionRollback>(sqlstate, message, std::move(fields));
  if (sqlstate == "23505") return make<UniqueViolation>(sqlstate, message, std::move(fields));
  if (sqlstate == "23503") return make<ForeignKeyViolation>(sqlstate, message, std::move(fields));
  if (sqlstate == "23502") return make<NotNullViolation>(sqlstate, message, std::move(fields));
  if (sqlstate == "23514") return make<CheckViolation>(sqlstate, message, std::move(fields));
  if (cls == "23") return make<IntegrityViolation>(sqlstate, message, std::move(fields));
  if (cls == "22") return make<DataException>(sqlstate, message, std::move(fields));
  if (sqlstate == "57014") return make<QueryCanceled>(sqlstate, message, std::move(fields));
  if (cls == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
    return make<ConnectionError>(sqlstate, message, std::move(fields));
  }
  if (sqlstate == "55P03") return make<LockNotAvailable>(sqlstate, message, std::move(fields));
  if (sqlstate == "FS001") return make<SyncTriggerFailure>(sqlstate, message, std::move(fields));
  if (cls == "55") {
    return make<ObjectNotInPrerequisiteState>(sqlstate, message, std::move(fields));
  }
  if (sqlstate == "42501") return make<InsufficientPrivilege>(sqlstate, message, std::move(fields));
  if (sqlstate == "42P01") return make<UndefinedTable>(sqlstate, message, std::move(fields));
  if (cls == "42") return make<SyntaxOrAccessError>(sqlstate, message, std::move(fields));
  return make<Error>(sqlstate, message, std::move(fields));
}

void throw_error(std::string_view sqlstate, const std::string& message, std::string detail) {
  std::rethrow_exception(make_error(sqlstate, message, std::move(detail)));
}

bool is_retryable(const std::exception& e) noexcept {
  return dynamic_cast<const SerializationFailure*>(&e) != nullptr ||
         dynamic_cast<const DeadlockDetected*>(&e) != nullptr;
}

}  // namespace folio::db
