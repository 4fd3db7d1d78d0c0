// The switch phases against the local stack: their safety checks, the routing they write,
// the audit rows they leave, finalize's criteria and what it leaves behind, and preflight.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "cutover/switch_support.hpp"
#include "folio/cutover/backfill.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/cutover/switchover.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/cutover/verify.hpp"
#include "folio/partitioning/routing_store.hpp"
#include "support/async.hpp"
#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using partitioning::RoutingStore;
using partitioning::Target;
using test::scalar;

using test::refusal;
using test::with_pool;

void prepare_sync_backfill(const std::string& dsn) {
  with_pool(dsn, [](db::Pool& pool) -> awaitable<void> {
    co_await prepare(pool, {});
    co_await sync_on(pool, {});
    co_await backfill(pool, {});
  });
}

partitioning::RoutingSnapshot routing(const std::string& dsn) {
  return with_pool(dsn, [](db::Pool& pool) { return RoutingStore::load(pool); });
}

std::int64_t audit_rows(const std::string& dsn, std::string_view phase, std::string_view status) {
  return scalar(dsn, "SELECT count(*) FROM cutover_audit WHERE phase = '" + std::string(phase) +
                         "' AND status = '" + std::string(status) + "'");
}

// A verify row as verify_phase records one; the default is a clean full verification.
void add_verify_row(const std::string& dsn, std::string_view status, std::string_view age,
                    std::string_view details = R"({"since": null, "clean": true, "repaired": 0,
                                                   "tables": {"revenues": {}, "expenses": {},
                                                              "balances": {}}})") {
  test::run_script(dsn,
                   "INSERT INTO cutover_audit (phase, status, started_at, finished_at, "
                   "details) VALUES ('verify', '" +
                       std::string(status) + "', now() - interval '" + std::string(age) +
                       "' - interval '1 minute', now() - interval '" + std::string(age) + "', '" +
                       std::string(details) + "')");
}

TEST(Switchover, RefusesUntilReadyThenSwitchesRouting) {
  test::CutoverDatabase db("switch_routing", 4, 10, 3);
  const auto& dsn = db.dsn();
  const std::int64_t o1 = scalar(dsn, "SELECT min(id) FROM organizations");
  const std::vector<std::int64_t> both = {o1, o1 + 1};
  const std::vector<std::int64_t> second = {o1 + 1};
  const auto add = [&](db::Pool& pool) { return pilot_add(pool, both, StatsLevel::counts); };
  const auto cut = [](db::Pool& pool) { return cut_over(pool, StatsLevel::counts); };

  EXPECT_NE(refusal(dsn, add).find("switchover prepare"), std::string::npos) << refusal(dsn, add);
  EXPECT_NE(refusal(dsn, cut).find("switchover prepare"), std::string::npos);
  with_pool(dsn, [](db::Pool& pool) -> awaitable<void> { co_await prepare(pool, {}); });
  EXPECT_NE(refusal(dsn, add).find("sync-on"), std::string::npos) << refusal(dsn, add);
  with_pool(dsn, [](db::Pool& pool) -> awaitable<void> { co_await sync_on(pool, {}); });
  EXPECT_NE(refusal(dsn, add).find("switchover backfill"), std::string::npos) << refusal(dsn, add);
  EXPECT_NE(refusal(dsn, cut).find("switchover backfill"), std::string::npos);
  EXPECT_EQ(scalar(dsn, "SELECT count(*) FROM cutover_audit WHERE phase IN ('pilot', 'cutover')"),
            0);
  EXPECT_FALSE(routing(dsn).fleet.has_value());

  with_pool(dsn, [](db::Pool& pool) -> awaitable<void> { co_await backfill(pool, {}); });
  EXPECT_NE(refusal(dsn, add).find("switchover verify"), std::string::npos) << refusal(dsn, add);
  EXPECT_NE(refusal(dsn, cut).find("switchover verify"), std::string::npos);
  const auto verified = with_pool(dsn, [](db::Pool& pool) -> awaitable<VerifyPhase> {
    co_return co_await verify_phase(pool, {}, StatsLevel::none);  // the options outlive it
  });
  ASSERT_TRUE(verified.report.clean);
  auto phase = with_pool(dsn, add);
  EXPECT_EQ(phase.status, "ok");
  EXPECT_EQ(phase.details.at("changed").as_int64(), 2);
  EXPECT_EQ(phase.details.at("before").at("pilots").as_int64(), 0);
  EXPECT_EQ(phase.details.at("after").at("pilots").as_int64(), 2);
  EXPECT_EQ(phase.before.size(), 6u);  // counts of both sides of three tables
  EXPECT_EQ(scalar(dsn,
                   "SELECT count(*) FROM cutover_audit WHERE phase = 'pilot' AND status = "
                   "'ok' AND jsonb_array_length(before_stats) = 6 AND "
                   "jsonb_array_length(after_stats) = 6 AND (details->'after'->>'pilots')"
                   "::int = 2"),
            1);
  EXPECT_EQ(with_pool(dsn, add).status, "noop");
  const std::vector<std::int64_t> unknown = {o1 + 1000};
  EXPECT_NE(refusal(dsn, [&](db::Pool& pool) { return pilot_add(pool, unknown, StatsLevel::none); })
                .find("no such organization"),
            std::string::npos);

  phase = with_pool(dsn,
                    [&](db::Pool& pool) { return pilot_remove(pool, second, StatsLevel::counts); });
  EXPECT_EQ(phase.status, "ok");
  EXPECT_EQ(routing(dsn).pilots, (std::map<std::int64_t, Target>{{o1, Target::partitioned}}));

  phase = with_pool(dsn, cut);
  EXPECT_EQ(phase.status, "ok");
  EXPECT_EQ(phase.details.at("before").at("fleet"), nullptr);
  EXPECT_EQ(phase.details.at("after").at("fleet").as_string(), "partitioned");
  auto r = routing(dsn);
  EXPECT_EQ(r.fleet, Target::partitioned);
  EXPECT_EQ(r.pilots.size(), 1u);  // pilots are kept at cutover
  EXPECT_EQ(with_pool(dsn, cut).status, "noop");

  const auto status = with_pool(dsn, [](db::Pool& pool) { return status_report(pool); });
  EXPECT_NE(status.find("fleet partitioned"), std::string::npos) << status;
  EXPECT_NE(status.find("revenues on"), std::string::npos) << status;
  EXPECT_NE(status.find("revenues 100.0%"), std::string::npos) << status;
  EXPECT_NE(status.find("verify gate open — clean full verify #" +
                        std::to_string(verified.audit.audit_id)),
            std::string::npos)
      << status;
  EXPECT_NE(status.find("cutover    ok"), std::string::npos) << status;

  const auto back = [](db::Pool& pool) { return rollback(pool, StatsLevel::counts); };
  phase = with_pool(dsn, back);
  EXPECT_EQ(phase.status, "ok");
  EXPECT_EQ(phase.details.at("changed").as_int64(), 2);  // fleet row and one pilot row
  r = routing(dsn);
  EXPECT_EQ(r.fleet, Target::legacy);
  EXPECT_TRUE(r.pilots.empty());
  EXPECT_EQ(with_pool(dsn, back).status, "noop");
  EXPECT_EQ(audit_rows(dsn, "pilot", "ok"), 2);
  EXPECT_EQ(audit_rows(dsn, "pilot", "noop"), 1);
  EXPECT_EQ(audit_rows(dsn, "cutover", "ok"), 1);
  EXPECT_EQ(audit_rows(dsn, "rollback", "ok"), 1);
  EXPECT_EQ(audit_rows(dsn, "rollback", "noop"), 1);
}

TEST(Switchover, RollbackRefusedWhileTheSyncIsOff) {
  test::CutoverDatabase db("switch_rollback", 3, 10, 3);
  const auto& dsn = db.dsn();
  prepare_sync_backfill(dsn);
  // About rollback's own check: the cutover before it skips the verification gate.
  with_pool(
      dsn, [](db::Pool& pool) { return cut_over(pool, StatsLevel::none, VerifyGatePolicy::skip); });
  with_pool(dsn, [](db::Pool& pool) -> awaitable<void> { co_await sync_off(pool, {}); });
  const auto back = [](db::Pool& pool) { return rollback(pool, StatsLevel::none); };
  const auto why = refusal(dsn, back);
  EXPECT_NE(why.find("the sync is not on"), std::string::npos) << why;
  EXPECT_NE(why.find("verify --repair"), std::string::npos) << why;
  EXPECT_EQ(routing(dsn).fleet, Target::partitioned);
  with_pool(dsn, [](db::Pool& pool) -> awaitable<void> { co_await sync_on(pool, {}); });
  EXPECT_EQ(with_pool(dsn, back).status, "ok");
  EXPECT_EQ(routing(dsn).fleet, Target::legacy);
}

TEST(Switchover, FinalizeCriteriaAndWhatItLeaves) {
  test::CutoverDatabase db("switch_finalize", 3, 10, 3);
  const auto& dsn = db.dsn();
  prepare_sync_backfill(dsn);
  const std::int64_t o1 = scalar(dsn, "SELECT min(id) FROM organizations");
  FinalizeOptions options;
  const auto fin = [&](db::Pool& pool) { return finalize(pool, options); };

  EXPECT_NE(refusal(dsn, fin).find("--confirm"), std::string::npos);
  options.confirm = true;
  EXPECT_NE(refusal(dsn, fin).find("switchover cutover"), std::string::npos) << refusal(dsn, fin);
  // About finalize's criteria, whose verification rows are made by hand below: the cutover
  // skips the verification gate. (sync-on and backfill ran through the library, which records
  // no audit rows, so nothing here supersedes those verification rows.)
  with_pool(
      dsn, [](db::Pool& pool) { return cut_over(pool, StatsLevel::none, VerifyGatePolicy::skip); });

  const std::vector<std::int64_t> org = {o1};
  with_pool(dsn,
            [&](db::Pool& pool) { return RoutingStore::add_pilots(pool, org, Target::legacy); });
  EXPECT_NE(refusal(dsn, fin).find("pilot remove"), std::string::npos) << refusal(dsn, fin);
  with_pool(dsn, [&](db::Pool& pool) { return RoutingStore::remove_pilots(pool, org); });

  EXPECT_NE(refusal(dsn, fin).find("no clean full verification"), std::string::npos);
  add_verify_row(dsn, "ok", "1 hour", R"({"since": "2026-11-01", "clean": true})");
  add_verify_row(dsn, "ok", "40 hours", R"({"since": null, "clean": false})");
  add_verify_row(dsn, "ok", "1 hour",
                 R"({"since": null, "clean": true, "tables": {"revenues": {}, "expenses": {}}})");
  EXPECT_NE(refusal(dsn, fin).find("no clean full verification"), std::string::npos);
  add_verify_row(dsn, "ok", "30 hours");
  EXPECT_NE(refusal(dsn, fin).find("30.0 h old"), std::string::npos) << refusal(dsn, fin);
  add_verify_row(dsn, "ok", "2 hours");
  add_verify_row(dsn, "failed", "1 hour", R"({"since": "2026-11-01"})");
  EXPECT_NE(refusal(dsn, fin).find("failed (see its audit row)"), std::string::npos)
      << refusal(dsn, fin);
  add_verify_row(dsn, "ok", "10 minutes");
  const std::int64_t allowing = scalar(dsn, "SELECT max(id) FROM cutover_audit");
  EXPECT_EQ(scalar(dsn, "SELECT count(*) FROM cutover_audit WHERE phase = 'finalize'"), 0);

  const std::int64_t max_id = scalar(dsn, "SELECT max(id) FROM revenues");
  const auto phase = with_pool(dsn, fin);
  EXPECT_EQ(phase.status, "ok");
  EXPECT_EQ(phase.details.at("verify_gate").at("state").as_string(), "open");
  EXPECT_EQ(phase.details.at("verify_gate").at("audit_id").as_int64(), allowing);
  const std::string archive(phase.details.at("archived").at("revenues").as_string());
  EXPECT_EQ(archive.rfind("revenues_archived_", 0), 0u) << archive;
  EXPECT_EQ(archive.size(), std::string("revenues_archived_YYYYMMDD").size());
  EXPECT_EQ(phase.details.at("triggers_dropped").as_int64(), 18);  // 3 per side and table
  EXPECT_EQ(audit_rows(dsn, "finalize", "ok"), 1);

  EXPECT_EQ(scalar(dsn,
                   "SELECT count(*) FROM pg_class WHERE relname IN ('revenues', "
                   "'expenses', 'balances')"),
            0);
  EXPECT_EQ(scalar(dsn, "SELECT count(*) FROM pg_class WHERE relname = '" + archive + "'"), 1);
  EXPECT_EQ(scalar(dsn,
                   "SELECT count(*) FROM pg_class WHERE relname LIKE '%\\_archived\\_%' "
                   "AND relkind = 'r'"),
            3);
  EXPECT_EQ(scalar(dsn,
                   "SELECT count(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
                   "WHERE p.proname LIKE 'folio\\_sync\\_%'"),
            0);
  EXPECT_EQ(scalar(dsn,
                   "SELECT count(*) FROM pg_depend WHERE classid = 'pg_class'::regclass "
                   "AND objid = 'folio_id_seq'::regclass AND deptype IN ('a', 'i')"),
            0);
  // The shared sequence still gives ids to the partitioned tables, even once the archive is
  // dropped with CASCADE (CUTOVER_PITFALLS §5).
  const std::string insert =
      "INSERT INTO revenues_partitioned (org_id, category, amount_cents, currency, occurred_at) "
      "VALUES (" +
      std::to_string(o1) + ", 'room', 100, 'EUR', now()) RETURNING id";
  EXPECT_GT(scalar(dsn, insert), max_id);
  EXPECT_EQ(with_pool(dsn, fin).status, "noop");
  test::run_script(dsn, "DROP TABLE " + archive + " CASCADE");
  EXPECT_GT(scalar(dsn, insert), max_id + 1);

  // Still finalized once an archive is dropped after its retention period.
  EXPECT_EQ(with_pool(dsn, fin).status, "noop");
  EXPECT_EQ(audit_rows(dsn, "finalize", "noop"), 2);
  EXPECT_NE(refusal(dsn, [](db::Pool& pool) { return rollback(pool, StatsLevel::none); })
                .find("finalize already ran"),
            std::string::npos);
  EXPECT_NE(refusal(dsn, [&](db::Pool& pool) { return pilot_add(pool, org, StatsLevel::none); })
                .find("finalize already ran"),
            std::string::npos);
  EXPECT_EQ(routing(dsn).fleet, Target::partitioned);
}

TEST(Switchover, PreflightReportsAndRefusesOnFailures) {
  test::CutoverDatabase db("switch_preflight", 3, 10, 3);
  const auto& dsn = db.dsn();
  const auto checks = with_pool(dsn, [](db::Pool& pool) { return preflight_checks(pool, {}); });
  std::map<std::string, PreflightCheck> by_name;
  for (const auto& c : checks) by_name[c.name] = c;
  for (const auto* name :
       {"server version", "legacy tables", "id sequence", "free disk", "replica lag",
        "long transactions", "lock waits", "partitioned tables", "sync triggers", "archived tables",
        "routing", "max_locks_per_transaction"}) {
    EXPECT_EQ(by_name.count(name), 1u) << name << "\n" << format_checks(checks);
  }
  EXPECT_EQ(by_name["server version"].level, CheckLevel::ok);
  EXPECT_EQ(by_name["legacy tables"].level, CheckLevel::ok);
  EXPECT_EQ(by_name["archived tables"].level, CheckLevel::ok);
  EXPECT_NE(by_name["partitioned tables"].message.find("prepare will create"), std::string::npos);
  EXPECT_NE(by_name["max_locks_per_transaction"].message.find("modulus 16"), std::string::npos)
      << by_name["max_locks_per_transaction"].message;

  test::run_script(dsn, "CREATE TABLE revenues_archived_20000101 (LIKE revenues)");
  std::string why;
  boost::json::object details;
  try {
    with_pool(dsn, [](db::Pool& pool) { return preflight(pool, {}); });
  } catch (const SwitchRefused& e) {
    why = e.what();
    details = e.details();
  }
  EXPECT_NE(why.find("archived tables"), std::string::npos) << why;
  ASSERT_TRUE(details.contains("checks"));
  EXPECT_EQ(details.at("checks").as_array().size(), checks.size());
  EXPECT_GE(details.at("failed").as_int64(), 1);
  EXPECT_EQ(scalar(dsn,
                   "SELECT count(*) FROM cutover_audit WHERE phase = 'preflight' AND status "
                   "= 'failed' AND error LIKE '%archived tables%' AND "
                   "jsonb_array_length(details->'checks') = " +
                       std::to_string(checks.size())),
            1);
  EXPECT_NE(format_checks(details.at("checks").as_array()).find("FAIL  archived tables"),
            std::string::npos);
}

}  // namespace
}  // namespace folio::cutover
