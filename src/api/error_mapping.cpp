#include "detail/error_mapping.hpp"

#include "folio/cutover/switchover.hpp"
#include "folio/cutover/sync_failure.hpp"
#include "folio/db/errors.hpp"
#include "folio/finance/model.hpp"

namespace folio::api::detail {

namespace {

Response unavailable(const std::string& message) {
  auto res = error_response(503, code::kUnavailable, message, std::nullopt);
  res.set(http::field::retry_after, "1");
  return res;
}

}  // namespace

Response error_from_exception(std::exception_ptr error, const obs::Logger& log,
                              std::string_view method, std::string_view route) {
  try {
    std::rethrow_exception(error);
  } catch (const Problem& p) {
    return problem_response(p);
  } catch (const finance::InvalidValue& e) {
    return error_response(400, code::kInvalidValue, e.what(),
                          e.field().empty() ? std::nullopt : std::optional(e.field()));
  } catch (const finance::OrgNotFound&) {
    return error_response(404, code::kNotFound, "not found", std::nullopt);
  } catch (const cutover::SwitchRefused& e) {
    return error_response(409, code::kConflict, e.what(), std::nullopt);
  } catch (const db::SyncTriggerFailure& e) {
    const auto failure = cutover::parse_sync_failure(e);
    if (failure && failure->sqlstate == "23514") {
      return error_response(400, code::kInvalidValue,
                            "occurred_at is outside the months the partitioned tables cover",
                            "occurred_at");
    }
    log.error("request failed", {{"method", method}, {"route", route}, {"error", e.what()}});
    return error_response(500, code::kInternal, "internal error", std::nullopt);
  } catch (const db::CheckViolation& e) {
    log.warn("database refused a value",
             {{"method", method}, {"route", route}, {"error", e.what()}});
    return error_response(400, code::kInvalidValue, "the database refused a value of this request",
                          std::nullopt);
  } catch (const db::DataException& e) {
    log.warn("database refused a value",
             {{"method", method}, {"route", route}, {"error", e.what()}});
    return error_response(400, code::kInvalidValue, "the database refused a value of this request",
                          std::nullopt);
  } catch (const db::ConnectionError& e) {
    log.warn("database unavailable", {{"route", route}, {"error", e.what()}});
    return unavailable("the database is unavailable; retry later");
  } catch (const db::PoolTimeout& e) {
    log.warn("database pool exhausted", {{"route", route}, {"error", e.what()}});
    return unavailable("the database is busy; retry later");
  } catch (const db::QueryCanceled& e) {
    log.warn("statement timed out", {{"route", route}, {"error", e.what()}});
    return unavailable("the database did not answer in time; retry later");
  } catch (const db::TransactionRollback& e) {
    log.warn("transaction kept conflicting", {{"route", route}, {"error", e.what()}});
    return unavailable("the change conflicted with concurrent ones; retry");
  } catch (const db::LockNotAvailable& e) {
    log.warn("lock not available", {{"route", route}, {"error", e.what()}});
    return unavailable("the data is locked by a maintenance step; retry");
  } catch (const std::exception& e) {
    log.error("request failed", {{"method", method}, {"route", route}, {"error", e.what()}});
  } catch (...) {
    log.error("request failed", {{"method", method}, {"route", route}, {"error", "unknown"}});
  }
  return error_response(500, code::kInternal, "internal error", std::nullopt);
}

}  // namespace folio::api::detail
