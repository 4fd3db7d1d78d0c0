// Acceptance: `folioctl switchover backfill` killed with SIGKILL at random moments, under
// concurrent legacy writes, resumes each time and ends with both sides identical and every
// range finished.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "folio/cutover/schema.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/db/connection.hpp"
#include "folio/db/pool.hpp"
#include "folio/db/retry.hpp"
#include "support/async.hpp"
#include "support/cutover_database.hpp"

extern char** environ;

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using test::scalar;

// A folioctl child process whose stdout and stderr go to a file.
class Child {
 public:
  Child(std::vector<std::string> args, std::string output_path)
      : output_path_(std::move(output_path)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn failed: " + std::to_string(rc));
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void kill() const { ::kill(pid_, SIGKILL); }
  // The raw waitpid status.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  std::string output() const {
    std::ifstream in(output_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  pid_t pid_ = -1;
  std::string output_path_;
};

struct Progress {
  std::int64_t ranges = 0;
  std::int64_t finished = 0;
  std::int64_t covered = 0;
};

Progress progress(const std::string& dsn) {
  return {scalar(dsn, "SELECT count(*) FROM backfill_progress"),
          scalar(dsn, "SELECT count(*) FROM backfill_progress WHERE next_start > range_end"),
          scalar(dsn,
                 "SELECT sum(least(next_start, range_end + 1) - range_start)::bigint "
                 "FROM backfill_progress")};
}

// Updates (amount and month), deletes and inserts on legacy until `stop`, retried after
// deadlocks and serialization failures; collects the ids it deleted.
void write_legacy(const std::string& dsn, const std::atomic<bool>& stop,
                  std::set<std::int64_t>& deleted, std::int64_t& operations) {
  test::run_async(
      [&](asio::io_context& io) -> awaitable<void> {
        auto conn =
            co_await db::Connection::connect(io.get_executor(), dsn, std::chrono::seconds(5));
        const auto lo =
            (co_await conn->query("SELECT min(id) FROM revenues")).scalar<std::int64_t>();
        const auto hi =
            (co_await conn->query("SELECT max(id) FROM expenses")).scalar<std::int64_t>();
        const auto org =
            (co_await conn->query("SELECT min(id) FROM organizations")).scalar<std::int64_t>();
        std::mt19937_64 rng(99);
        db::RetryPolicy retry;
        retry.max_attempts = 500;
        asio::steady_timer pace(io);
        while (!stop.load()) {
          const std::int64_t id = std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
          const std::string table = rng() % 2 ? "revenues" : "expenses";
          const int what = static_cast<int>(rng() % 3);
          co_await db::with_retry(
              [&]() -> awaitable<void> {
                if (what == 0) {
                  co_await conn->query("UPDATE " + table +
                                           " SET amount_cents = amount_cents + 1, occurred_at "
                                           "= timestamptz '2026-07-01 00:00+00' + random() * "
                                           "interval '80 days', updated_at = now() "
                                           "WHERE id = $1",
                                       id);
                } else if (what == 1) {
                  const auto r =
                      co_await conn->query("DELETE FROM " + table + " WHERE id = $1", id);
                  if (r.affected_rows() == 1) deleted.insert(id);
                } else {
                  co_await conn->query(
                      "INSERT INTO " + table +
                          " (org_id, category, amount_cents, currency, occurred_at) VALUES "
                          "($1, 'other', 99, 'EUR', timestamptz '2026-08-20 08:00+00')",
                      org + static_cast<std::int64_t>(rng() % 100));
                }
              },
              retry);
          ++operations;
          pace.expires_after(std::chrono::milliseconds(2));
          co_await pace.async_wait(asio::use_awaitable);
        }
      },
      std::chrono::seconds(900));
}

TEST(BackfillKillTest, SurvivesSigkillsAndConverges) {
  // ~650,000 rows: a debug build copies them in well over the four kills' 0-0.8 s each.
  test::CutoverDatabase db("folio_backfill_kill", 8000, 40, 6);
  test::run_async([&](asio::io_context& io) -> awaitable<void> {
    db::Pool pool(io.get_executor(), {.dsn = db.dsn(), .name = "test", .max_size = 2});
    co_await prepare(pool, {});
    co_await sync_on(pool, {});
  });

  std::atomic<bool> stop{false};
  std::set<std::int64_t> deleted;
  std::int64_t operations = 0;
  std::thread writer([&] { write_legacy(db.dsn(), stop, deleted, operations); });

  const std::string output = ::testing::TempDir() + "folio_backfill_kill.out";
  const std::vector<std::string> command = {
      FOLIOCTL_PATH, "switchover", "backfill", "--batch-size", "2000", "--database-url", db.dsn()};
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::cout << "kill delays seeded with " << seed << "\n";
  int partial = 0;
  std::int64_t last_covered = 0;
  for (int k = 0; k < 4; ++k) {
    auto args = command;
    args.insert(args.end(), {"--audit-stats", "none"});
    Child child(args, output);
    // The kill lands at a random moment of the copy: up to 0.8 s after this run's first
    // batch was checkpointed. (Timed from the process start instead, a busy machine could
    // still be starting the process when the kill comes.)
    const auto started = std::chrono::steady_clock::now();
    while (progress(db.dsn()).covered <= last_covered &&
           std::chrono::steady_clock::now() - started < std::chrono::seconds(120)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const int delay = std::uniform_int_distribution<int>(0, 800)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    child.kill();
    const int status = child.wait();
    const auto p = progress(db.dsn());
    std::cout << "kill " << k + 1 << " " << delay << " ms after the run's first batch: "
              << (WIFSIGNALED(status) ? "killed" : "had exited") << ", ranges " << p.finished << "/"
              << p.ranges << " finished, " << p.covered << " values covered\n";
    // A run that finished before its kill must have finished cleanly.
    EXPECT_TRUE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
                (WIFEXITED(status) && WEXITSTATUS(status) == 0))
        << child.output();
    EXPECT_GE(p.covered, last_covered);  // checkpoints never go back
    last_covered = p.covered;
    if (p.ranges > 0 && p.finished < p.ranges) ++partial;
  }
  EXPECT_GE(partial, 2) << "the kills should land while batches are being copied";

  Child final_run(command, output);
  const int status = final_run.wait();
  stop = true;
  writer.join();
  const std::string out = final_run.output();
  std::cout << out;
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  EXPECT_NE(out.find("backfill"), std::string::npos);
  EXPECT_GT(operations, 50);
  ASSERT_FALSE(deleted.empty());

  for (const std::string table : {"revenues", "expenses", "balances"}) {
    EXPECT_EQ(test::side_differences(db.dsn(), table), 0) << table;
    EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM " + table),
              scalar(db.dsn(), "SELECT count(*) FROM " + table + "_partitioned"))
        << table;
  }
  const auto p = progress(db.dsn());
  EXPECT_EQ(p.ranges, 3);
  EXPECT_EQ(p.finished, p.ranges);
  std::string ids;
  for (const auto id : deleted) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  EXPECT_EQ(
      scalar(db.dsn(), "SELECT (SELECT count(*) FROM revenues_partitioned WHERE id IN (" + ids +
                           ")) + (SELECT count(*) FROM expenses_partitioned WHERE "
                           "id IN (" +
                           ids + "))"),
      0);
}

}  // namespace
}  // namespace folio::cutover
