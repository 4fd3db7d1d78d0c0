#include "folio/cutover/sync_failure.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"

namespace folio::cutover {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string text_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

obs::Counter& sync_failures(const std::string& table, const std::string& operation) {
  return obs::Registry::global().counter(
      "folio_sync_failures_total", "Writes refused because a sync trigger could not mirror them",
      {{"table", table}, {"operation", operation}});
}

}  // namespace

void register_sync_failure_metrics() {
  for (const char* table : {"revenues", "expenses", "balances"}) {
    for (const char* operation : {"insert", "update", "delete"}) sync_failures(table, operation);
  }
}

std::optional<SyncFailure> parse_sync_failure(const db::Error& error) {
  if (error.sqlstate() != "FS001") return std::nullopt;
  SyncFailure f;
  f.message = error.what();
  boost::system::error_code ec;
  const auto detail = json::parse(error.detail(), ec);
  if (!ec && detail.is_object()) {
    const auto& o = detail.as_object();
    f.table = text_field(o, "table");
    f.operation = text_field(o, "operation");
    f.direction = text_field(o, "direction");
    f.sqlstate = text_field(o, "sqlstate");
    if (auto m = text_field(o, "message"); !m.empty()) f.message = std::move(m);
    if (const auto* key = o.if_contains("key")) f.key = *key;
  }
  if (f.table.empty()) f.table = "unknown";
  if (f.operation.empty()) f.operation = "unknown";
  return f;
}

asio::awaitable<void> report_sync_failure(db::Pool& pool, const SyncFailure& failure) {
  static const obs::Logger log("cutover.sync");
  sync_failures(failure.table, failure.operation).inc();
  log.error("sync trigger failed; the write was rolled back", {{"table", failure.table},
                                                               {"operation", failure.operation},
                                                               {"direction", failure.direction},
                                                               {"key", failure.key},
                                                               {"sqlstate", failure.sqlstate},
                                                               {"message", failure.message}});
  try {
    co_await pool.query(
        "INSERT INTO sync_failures (table_name, operation, direction, row_key, sqlstate, "
        "message) VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
        failure.table, failure.operation, failure.direction, json::serialize(failure.key),
        failure.sqlstate, failure.message);
  } catch (const std::exception& e) {
    log.error("could not record a sync failure", {{"error", e.what()}});
  }
}

asio::awaitable<bool> report_if_sync_failure(db::Pool& pool, std::exception_ptr error) {
  std::optional<SyncFailure> failure;
  try {
    if (error) std::rethrow_exception(error);
  } catch (const db::Error& e) {
    failure = parse_sync_failure(e);
  } catch (...) {
  }
  if (!failure) co_return false;
  co_await report_sync_failure(pool, *failure);
  co_return true;
}

}  // namespace folio::cutover
