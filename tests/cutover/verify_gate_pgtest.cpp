// The verification gate (verify_gate.hpp) through a real cutover: pilot add, cutover and
// finalize wait for a clean full verification after the last backfill, sync-on and repair,
// and after any verification that found differences; an incremental or partial one does not
// count; --skip-verify-gate goes ahead and says so in the audit row; a noop is never refused.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <thread>

#include "cutover/switch_support.hpp"
#include "folio/cutover/backfill.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/cutover/switchover.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/cutover/verify.hpp"
#include "folio/cutover/verify_gate.hpp"
#include "support/async.hpp"
#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using test::scalar;

using test::refusal;
using test::with_pool;

VerifyGate gate(const std::string& dsn) {
  return with_pool(dsn, [](db::Pool& pool) { return verify_gate(pool); });
}

VerifyPhase run_verify(const std::string& dsn, VerifyOptions options = {}) {
  return with_pool(dsn,
                   [&](db::Pool& pool) { return verify_phase(pool, options, StatsLevel::none); });
}

std::int64_t run_backfill(const std::string& dsn) {
  return with_pool(
             dsn, [](db::Pool& pool) { return run_backfill_phase(pool, {}, StatsLevel::none, {}); })
      .audit_id;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult folioctl(const std::string& args) {
  const std::string command = std::string(FOLIOCTL_PATH) + " " + args + " </dev/null 2>&1";
  CommandResult r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  while (const std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) {
    r.output.append(buf.data(), n);
  }
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

constexpr std::string_view kRunVerify = "run `folioctl switchover verify` first";

TEST(VerifyGate, OpensOnlyOnACleanFullVerificationAfterEverythingThatChangedTheSides) {
  test::CutoverDatabase db("verify_gate", 20, 10, 3);
  const auto& dsn = db.dsn();
  const std::string url = " --database-url '" + dsn + "'";
  const std::int64_t o1 = scalar(dsn, "SELECT min(id) FROM organizations");
  const std::vector<std::int64_t> pilots = {o1, o1 + 1};
  const auto add = [&](db::Pool& pool) { return pilot_add(pool, pilots, StatsLevel::none); };
  const auto cut = [](db::Pool& pool) { return cut_over(pool, StatsLevel::none); };
  const auto gated_rows = [&] {
    return scalar(dsn, "SELECT count(*) FROM cutover_audit WHERE phase IN ('pilot', 'cutover')");
  };

  with_pool(dsn, [](db::Pool& pool) -> awaitable<void> {
    co_await prepare(pool, {});
    co_await sync_on(pool, {});
  });
  const std::int64_t backfill1 = run_backfill(dsn);

  // Ready for traffic but never verified: refused, nothing recorded.
  auto g = gate(dsn);
  EXPECT_EQ(g.state, VerifyGateState::closed);
  EXPECT_FALSE(g.verification.has_value());
  EXPECT_TRUE(contains(g.reason, "no clean full verification is recorded")) << g.reason;
  EXPECT_EQ(refusal(dsn, add), "pilot add: " + g.reason);
  EXPECT_EQ(refusal(dsn, cut), "cutover: " + g.reason);
  EXPECT_EQ(gated_rows(), 0);
  const auto status = with_pool(dsn, [](db::Pool& pool) { return status_report(pool); });
  EXPECT_TRUE(contains(status, "verify gate closed — " + g.reason)) << status;

  // A clean full verification after the backfill opens it.
  const auto v1 = run_verify(dsn);
  ASSERT_TRUE(v1.report.clean);
  g = gate(dsn);
  EXPECT_EQ(g.state, VerifyGateState::open) << g.reason;
  ASSERT_TRUE(g.verification.has_value());
  EXPECT_EQ(g.verification->audit_id, v1.audit.audit_id);
  EXPECT_TRUE(g.reason.empty());
  EXPECT_EQ(
      format_gate(g).rfind(fmt::format("open — clean full verify #{} at ", v1.audit.audit_id), 0),
      0u)
      << format_gate(g);
  EXPECT_TRUE(
      contains(with_pool(dsn, [](db::Pool& pool) { return status_report(pool); }),
               fmt::format("verify gate open — clean full verify #{} at ", v1.audit.audit_id)));

  // sync-off and sync-on again (through folioctl, which records them): closed, and folioctl
  // refuses with exit 5 and the command to run.
  ASSERT_EQ(folioctl("switchover sync-off" + url).exit_code, 0);
  ASSERT_EQ(folioctl("switchover sync-on" + url).exit_code, 0);
  const std::int64_t sync_on_id =
      scalar(dsn, "SELECT max(id) FROM cutover_audit WHERE phase = 'sync-on' AND status = 'ok'");
  g = gate(dsn);
  EXPECT_EQ(g.state, VerifyGateState::closed);
  EXPECT_EQ(g.verification->audit_id, v1.audit.audit_id);
  EXPECT_EQ(g.reason.rfind(kRunVerify, 0), 0u) << g.reason;
  EXPECT_TRUE(contains(g.reason, fmt::format("the last clean full verification (#{}, finished {})",
                                             v1.audit.audit_id, g.verification->finished_at)))
      << g.reason;
  EXPECT_TRUE(contains(g.reason, "is older than the sync-on that finished at ")) << g.reason;
  EXPECT_TRUE(contains(g.reason, fmt::format("(#{})", sync_on_id))) << g.reason;
  const auto cli = folioctl(fmt::format("switchover pilot add {}", o1) + url);
  EXPECT_EQ(cli.exit_code, 5) << cli.output;
  EXPECT_TRUE(contains(cli.output, kRunVerify)) << cli.output;
  EXPECT_EQ(gated_rows(), 0);

  const auto v2 = run_verify(dsn);
  ASSERT_TRUE(v2.report.clean);
  EXPECT_TRUE(gate(dsn).open());

  // A backfill run that did something (its checkpoints forgotten, so it copies again): closed.
  test::run_script(dsn, "DELETE FROM backfill_progress");
  const std::int64_t backfill2 = run_backfill(dsn);
  EXPECT_GT(backfill2, backfill1);
  EXPECT_EQ(scalar(dsn, fmt::format("SELECT count(*) FROM cutover_audit WHERE id = {} AND status = "
                                    "'ok'",
                                    backfill2)),
            1);
  g = gate(dsn);
  EXPECT_EQ(g.state, VerifyGateState::closed);
  EXPECT_TRUE(contains(g.reason, "is older than the backfill that finished at ")) << g.reason;
  EXPECT_TRUE(contains(g.reason, fmt::format("(#{})", backfill2))) << g.reason;
  const std::string backfill_reason = g.reason;
  EXPECT_EQ(refusal(dsn, add), "pilot add: " + backfill_reason);

  // Neither an incremental nor a partial verification counts as a full one.
  VerifyOptions since;
  since.since = std::chrono::sys_days{std::chrono::year{2026} / 9 / 1};
  const auto incremental = run_verify(dsn, since);
  ASSERT_TRUE(incremental.report.clean);
  EXPECT_EQ(incremental.audit.status, "ok");
  VerifyOptions partial;
  partial.tables = {"revenues"};
  ASSERT_TRUE(run_verify(dsn, partial).report.clean);
  g = gate(dsn);
  EXPECT_EQ(g.state, VerifyGateState::closed);
  EXPECT_EQ(g.verification->audit_id, v2.audit.audit_id);
  EXPECT_EQ(g.reason, backfill_reason);

  // A full one does; the pilot's audit row names it.
  const auto v3 = run_verify(dsn);
  ASSERT_TRUE(v3.report.clean);
  g = gate(dsn);
  ASSERT_TRUE(g.open()) << g.reason;
  auto phase = with_pool(dsn, add);
  EXPECT_EQ(phase.status, "ok");
  const auto& allowed = phase.details.at("verify_gate").as_object();
  EXPECT_EQ(allowed.at("state").as_string(), "open");
  EXPECT_EQ(allowed.at("audit_id").as_int64(), v3.audit.audit_id);
  EXPECT_EQ(allowed.at("finished_at").as_string(), g.verification->finished_at);
  EXPECT_EQ(scalar(dsn, fmt::format("SELECT count(*) FROM cutover_audit WHERE id = {} AND "
                                    "(details->'verify_gate'->>'audit_id')::bigint = {}",
                                    phase.audit_id, v3.audit.audit_id)),
            1);

  // A difference made behind the triggers' back: the verification that finds it closes the
  // gate until a repair and a clean full verification after it.
  const std::int64_t changed =
      scalar(dsn, fmt::format("SELECT min(id) FROM revenues WHERE org_id = {}", o1 + 5));
  test::run_script(dsn, fmt::format("BEGIN; ALTER TABLE revenues DISABLE TRIGGER USER; "
                                    "UPDATE revenues SET amount_cents = amount_cents + 1 WHERE id "
                                    "= {}; ALTER TABLE revenues ENABLE TRIGGER USER; COMMIT",
                                    changed));
  const auto v4 = run_verify(dsn);
  ASSERT_FALSE(v4.report.clean);
  EXPECT_EQ(v4.report.differences, 1);
  g = gate(dsn);
  EXPECT_EQ(g.state, VerifyGateState::closed);
  EXPECT_EQ(g.verification->audit_id, v3.audit.audit_id);
  EXPECT_EQ(g.reason.rfind("run `folioctl switchover verify --repair`, then `folioctl switchover "
                           "verify` first: ",
                           0),
            0u)
      << g.reason;
  EXPECT_TRUE(
      contains(g.reason, fmt::format("verification #{} found 1 difference at ", v4.audit.audit_id)))
      << g.reason;
  EXPECT_EQ(refusal(dsn, cut), "cutover: " + g.reason);

  VerifyOptions repair;
  repair.repair = true;
  const auto v5 = run_verify(dsn, repair);
  ASSERT_TRUE(v5.report.clean);
  EXPECT_EQ(v5.report.repaired, 1);
  EXPECT_EQ(v5.audit.status, "ok");
  g = gate(dsn);
  EXPECT_EQ(g.state, VerifyGateState::closed);  // the repairing run does not vouch for itself
  EXPECT_EQ(g.verification->audit_id, v3.audit.audit_id);
  EXPECT_TRUE(contains(g.reason, fmt::format("is older than the repair of 1 row by verification "
                                             "#{} at ",
                                             v5.audit.audit_id)))
      << g.reason;

  const auto v6 = run_verify(dsn);
  ASSERT_TRUE(v6.report.clean);
  EXPECT_EQ(gate(dsn).verification->audit_id, v6.audit.audit_id);
  EXPECT_TRUE(gate(dsn).open());

  // --skip-verify-gate: closed again by a backfill, folioctl cuts over anyway, and the audit
  // row records who skipped what.
  test::run_script(dsn, "DELETE FROM backfill_progress");
  run_backfill(dsn);
  g = gate(dsn);
  ASSERT_FALSE(g.open());
  const auto refused = folioctl("switchover cutover" + url);
  EXPECT_EQ(refused.exit_code, 5) << refused.output;
  const auto skipped = folioctl("switchover cutover --skip-verify-gate" + url);
  ASSERT_EQ(skipped.exit_code, 0) << skipped.output;
  const std::int64_t cutover_id =
      scalar(dsn, "SELECT max(id) FROM cutover_audit WHERE phase = 'cutover' AND status = 'ok'");
  EXPECT_EQ(scalar(dsn, fmt::format("SELECT count(*) FROM cutover_audit WHERE id = {} AND "
                                    "details->'verify_gate'->>'state' = 'skipped' AND "
                                    "details->'verify_gate'->>'by' = current_user AND "
                                    "details->'verify_gate'->>'at' LIKE '____-__-__ __:__:__ UTC' "
                                    "AND details->'verify_gate'->>'reason' = $gate${}$gate$",
                                    cutover_id, g.reason)),
            1)
      << skipped.output;

  // Nothing to do is never refused, gate or not.
  EXPECT_EQ(with_pool(dsn, cut).status, "noop");
  EXPECT_EQ(with_pool(dsn, add).status, "noop");

  // finalize: the same gate, plus its age limit.
  FinalizeOptions fin;
  fin.confirm = true;
  const auto finalize_with = [&](db::Pool& pool) { return finalize(pool, fin); };
  EXPECT_EQ(refusal(dsn, finalize_with), "finalize: " + gate(dsn).reason);
  const auto v7 = run_verify(dsn);
  ASSERT_TRUE(v7.report.clean);
  fin.max_verify_age = std::chrono::seconds(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const auto too_old = refusal(dsn, finalize_with);
  EXPECT_EQ(too_old.rfind("finalize: run `folioctl switchover verify` again first: ", 0), 0u)
      << too_old;
  EXPECT_TRUE(contains(too_old, "more than the allowed 1 s")) << too_old;
  EXPECT_TRUE(gate(dsn).open());  // the age limit is finalize's alone
  fin.max_verify_age = std::chrono::hours(1);
  phase = with_pool(dsn, finalize_with);
  EXPECT_EQ(phase.status, "ok");
  EXPECT_EQ(phase.details.at("verify_gate").at("state").as_string(), "open");
  EXPECT_EQ(phase.details.at("verify_gate").at("audit_id").as_int64(), v7.audit.audit_id);
}

}  // namespace
}  // namespace folio::cutover
