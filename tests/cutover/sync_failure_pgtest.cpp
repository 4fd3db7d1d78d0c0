// A sync trigger that cannot mirror a write (here: a constraint only the partitioned side has)
// makes the write fail, and folio records the failure in sync_failures, logs it as JSON and counts
// it in folio_sync_failures_total.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "folio/cutover/schema.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/cutover/sync_failure.hpp"
#include "folio/obs/log.hpp"
#include "folio/obs/metrics.hpp"
#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
using test::scalar;

double failures_metric(const std::string& table, const std::string& operation) {
  const std::string text = obs::Registry::global().expose();
  const std::string series =
      "folio_sync_failures_total{operation=\"" + operation + "\",table=\"" + table + "\"} ";
  const auto at = text.find(series);
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + series.size()));
}

TEST(SyncFailure, AMirrorThatFailsFailsTheWriteAndIsRecordedLoggedAndCounted) {
  test::CutoverDatabase db("sync_failure", 5, 4, 2);
  auto log_text = std::make_shared<std::ostringstream>();
  obs::set_log_sink_for_tests(std::make_shared<spdlog::sinks::ostream_sink_mt>(*log_text));
  const double before = failures_metric("revenues", "insert");

  std::string caught_state;
  test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    db::Pool pool(io.get_executor(), {.dsn = db.dsn(), .max_size = 2});
    co_await prepare(pool, {});
    co_await sync_on(pool, {});
    co_await pool.query(
        "ALTER TABLE revenues_partitioned ADD CONSTRAINT test_refuses_large "
        "CHECK (amount_cents < 1000000)");
    std::exception_ptr error;
    try {
      // The legacy insert itself is fine, its mirror is not.
      co_await pool.query(
          "INSERT INTO revenues (id, org_id, category, amount_cents, currency, occurred_at) "
          "VALUES (777001, 1, 'room', 2000000, 'EUR', '2026-09-01 00:00+00')");
    } catch (const db::SyncTriggerFailure& e) {
      caught_state = e.sqlstate();
      error = std::current_exception();
    }
    EXPECT_TRUE(co_await report_if_sync_failure(pool, error));
  });
  obs::set_log_sink_for_tests(nullptr);

  EXPECT_EQ(caught_state, "FS001");
  // The write failed: neither side has the row.
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM revenues WHERE id = 777001"), 0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM revenues_partitioned WHERE id = 777001"), 0);
  // Recorded with table, operation, key and the underlying SQLSTATE.
  EXPECT_EQ(scalar(db.dsn(),
                   "SELECT count(*) FROM sync_failures WHERE table_name = 'revenues' "
                   "AND operation = 'insert' AND direction = 'partitioned' AND "
                   "row_key = '{\"id\": 777001}' AND sqlstate = '23514' AND message "
                   "LIKE '%test_refuses_large%'"),
            1);
  // Logged as JSON, counted.
  EXPECT_NE(log_text->str().find("\"msg\":\"sync trigger failed; the write was rolled back\""),
            std::string::npos)
      << log_text->str();
  EXPECT_NE(log_text->str().find("\"key\":{\"id\":777001}"), std::string::npos);
  EXPECT_EQ(failures_metric("revenues", "insert"), before + 1);
}

TEST(SyncFailure, OtherErrorsAreNotSyncFailures) {
  const db::UniqueViolation unique("23505", "duplicate key");
  EXPECT_FALSE(parse_sync_failure(unique));
  const db::SyncTriggerFailure fs("FS001", "folio sync failed",
                                  R"({"table":"balances","operation":"update","direction":)"
                                  R"("legacy","key":{"org_id":1,"balance_date":"2026-01-01"},)"
                                  R"("sqlstate":"23502","message":"null value"})");
  const auto parsed = parse_sync_failure(fs);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->table, "balances");
  EXPECT_EQ(parsed->operation, "update");
  EXPECT_EQ(parsed->direction, "legacy");
  EXPECT_EQ(parsed->sqlstate, "23502");
  EXPECT_EQ(parsed->key.as_object().at("org_id").as_int64(), 1);
}

}  // namespace
}  // namespace folio::cutover
