// scripts/switchover_to_partitioned.sh driving the real folioctl: the plan, a full run on a
// small database, and a failure that stops with the resume hint.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "folio/db/pool.hpp"
#include "folio/partitioning/routing_store.hpp"
#include "support/async.hpp"
#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

std::string quote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

Run run_script(const std::string& args) {
  const std::string command =
      quote(std::string(FOLIO_SOURCE_DIR) + "/scripts/switchover_to_partitioned.sh") +
      " --folioctl " + quote(FOLIOCTL_PATH) + " " + args + " </dev/null 2>&1";
  Run run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
    run.output.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// Positions of the plan's step lines " N. phase " in order; npos when one is missing.
std::vector<std::size_t> step_positions(const std::string& out,
                                        const std::vector<std::string>& phases) {
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < phases.size(); ++i) {
    const std::string number = std::to_string(i + 1);
    const std::string prefix = (number.size() < 2 ? " " : "") + number + ". ";
    at.push_back(out.find(prefix + phases[i] + " "));
  }
  return at;
}

TEST(SwitchoverScript, DryRunPrintsThePlanInOrder) {
  const auto run = run_script(
      "--dry-run --database-url postgresql://ops:secret@db.example/folio --pilot-orgs '1 2 3'");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const std::vector<std::string> phases = {"preflight",    "prepare", "sync-on",
                                           "backfill",     "verify",  "pilot",
                                           "verify-pilot", "cutover", "verify-cutover"};
  const auto at = step_positions(run.output, phases);
  for (std::size_t i = 0; i < at.size(); ++i) {
    ASSERT_NE(at[i], std::string::npos) << phases[i] << "\n" << run.output;
    if (i > 0) {
      EXPECT_GT(at[i], at[i - 1]) << phases[i];
    }
  }
  EXPECT_NE(run.output.find("switchover pilot add 1 2 3"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("switchover verify --since "), std::string::npos);
  EXPECT_NE(run.output.find("finalize        skipped"), std::string::npos);
  EXPECT_EQ(run.output.find("secret"), std::string::npos) << "password shown";
  EXPECT_NE(run.output.find("[asks: type yes]"), std::string::npos);

  const auto resumed = run_script("--dry-run --from cutover --finalize --yes");
  EXPECT_EQ(resumed.exit_code, 0);
  const auto steps = step_positions(resumed.output, {"cutover", "verify-cutover", "finalize"});
  for (const auto pos : steps) EXPECT_NE(pos, std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("finalize --confirm"), std::string::npos);
  EXPECT_EQ(resumed.output.find("preflight  "), std::string::npos);
  EXPECT_EQ(resumed.output.find("[asks"), std::string::npos);

  EXPECT_EQ(run_script("--dry-run --from nowhere").exit_code, 2);
}

TEST(SwitchoverScript, FullRunEndsOnThePartitionedTables) {
  test::CutoverDatabase db("switch_script", 3, 10, 3);
  const std::int64_t o1 = test::scalar(db.dsn(), "SELECT min(id) FROM organizations");
  const auto run = run_script("--yes --database-url " + quote(db.dsn()) + " --pilot-orgs '" +
                              std::to_string(o1) + "'");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto routing = test::run_async(
      [&](boost::asio::io_context& io) -> boost::asio::awaitable<partitioning::RoutingSnapshot> {
        db::Pool pool(io.get_executor(), {.dsn = db.dsn(), .name = "test", .max_size = 1});
        co_return co_await partitioning::RoutingStore::load(pool);
      });
  EXPECT_EQ(routing.fleet, partitioning::Target::partitioned);
  EXPECT_EQ(routing.pilots.count(o1), 1u);
  for (const char* table : {"revenues", "expenses", "balances"}) {
    EXPECT_EQ(test::side_differences(db.dsn(), table), 0) << table;
    EXPECT_GT(test::scalar(db.dsn(), std::string("SELECT count(*) FROM ") + table + "_partitioned"),
              0)
        << table;
  }
  for (const char* phase :
       {"preflight", "prepare", "sync-on", "backfill", "verify", "pilot", "cutover"}) {
    EXPECT_GE(test::scalar(db.dsn(), std::string("SELECT count(*) FROM cutover_audit WHERE "
                                                 "status IN ('ok', 'noop') AND phase = '") +
                                         phase + "'"),
              1)
        << phase;
  }
  EXPECT_EQ(test::scalar(db.dsn(), "SELECT count(*) FROM cutover_audit WHERE phase = 'verify'"), 3);
  // pilot and cutover each passed the verification gate on the full verify after the backfill.
  EXPECT_EQ(test::scalar(db.dsn(),
                         "SELECT count(*) FROM cutover_audit WHERE phase IN ('pilot', 'cutover') "
                         "AND status = 'ok' AND details->'verify_gate'->>'state' = 'open' AND "
                         "(details->'verify_gate'->>'audit_id')::bigint = (SELECT min(id) FROM "
                         "cutover_audit WHERE phase = 'verify')"),
            2);
  EXPECT_EQ(test::scalar(db.dsn(), "SELECT count(*) FROM cutover_audit WHERE phase = 'finalize'"),
            0);
  EXPECT_NE(run.output.find("switchover done up to cutover"), std::string::npos) << run.output;
}

TEST(SwitchoverScript, StopsAtTheFirstFailureWithTheResumeHint) {
  const auto run = run_script("--yes --database-url postgresql://nobody@127.0.0.1:1/nothing");
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("failed at preflight"), std::string::npos) << run.output;
  const auto hint = run.output.find("resume with: ");
  ASSERT_NE(hint, std::string::npos) << run.output;
  const auto resume = run.output.substr(hint);
  EXPECT_NE(resume.find("switchover_to_partitioned.sh --from preflight "), std::string::npos)
      << resume;
  EXPECT_NE(resume.find(" --yes --database-url postgresql://nobody@127.0.0.1:1/nothing"),
            std::string::npos)
      << resume;
  EXPECT_EQ(run.output.find("==> [2/"), std::string::npos) << "ran past the failure";

  // Without --yes and without a terminal, a traffic-changing step is not confirmed.
  const auto unconfirmed =
      run_script("--from sync-on --database-url postgresql://nobody@127.0.0.1:1/nothing");
  EXPECT_EQ(unconfirmed.exit_code, 1);
  EXPECT_NE(unconfirmed.output.find("stopped before sync-on"), std::string::npos)
      << unconfirmed.output;
}

}  // namespace
}  // namespace folio::cutover
