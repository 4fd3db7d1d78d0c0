// The one place where failures become HTTP error responses (docs/api.md, "Errors"):
//   Problem                       its own status and code
//   finance::InvalidValue         400 invalid_value, the field named
//   finance::OrgNotFound          404 not_found
//   cutover::SwitchRefused        409 conflict
//   db::CheckViolation, db::DataException
//                                 400 invalid_value (the database refused a value)
//   db::SyncTriggerFailure        400 when the mirror refused the row's month, else 500
//   db::ConnectionError, PoolTimeout, QueryCanceled, TransactionRollback, LockNotAvailable
//                                 503 unavailable (with Retry-After)
//   anything else                 500 internal, logged with its message (never sent)
//
// Only the first four carry a message meant for the client. Any other exception text is
// internal (a library's std::invalid_argument, a database message naming tables) and stays
// in the log: input the API refuses is refused by validation, with a Problem, before it can
// surface as some deeper exception.
//
// Thread-safety: safe from any thread (the logger is).
#pragma once

#include <exception>

#include "detail/http.hpp"
#include "folio/obs/log.hpp"

namespace folio::api::detail {

Response error_from_exception(std::exception_ptr error, const obs::Logger& log,
                              std::string_view method, std::string_view route);

}  // namespace folio::api::detail
