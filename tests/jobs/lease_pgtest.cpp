// The fenced job lease against a real database: one holder at a time, terms that only grow,
// a holder whose lease expired cannot write (its fence refuses) even before anyone else
// claims, a paused holder's run ends 'lost' with nothing written, and runners competing for
// a job run it once per period, never overlapping.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "folio/jobs/lease.hpp"
#include "folio/jobs/runner.hpp"
#include "support/cutover_database.hpp"

namespace folio::jobs {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using test::scalar;

asio::awaitable<void> sleep_for(milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

// A write on the job's behalf: fenced, then one probe row stamped with the term.
asio::awaitable<void> fenced_probe(db::Pool& pool, const Lease& lease) {
  auto tx = co_await db::Transaction::begin(co_await pool.acquire());
  co_await fence(tx, lease);
  co_await tx.query("INSERT INTO job_probe (term, instance) VALUES ($1, $2)", lease.term,
                    lease.instance);
  co_await tx.commit();
}

TEST(JobLease, OneHolderTermsGrowAndAnExpiredHolderIsFenced) {
  test::CutoverDatabase db("jobs_lease");
  test::run_script(db.dsn(), "CREATE TABLE job_probe (term bigint, instance text)");
  test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    db::Pool pool(io.get_executor(), {.dsn = db.dsn(), .max_size = 3});
    co_await register_job(pool, "probe");
    co_await register_job(pool, "probe");  // idempotent
    // a's lease lasts 3 s: the steps below that need it held have that long on a busy
    // machine; then a sleep that cannot end early lets it expire.
    constexpr milliseconds kTtl{3000};
    const auto a = co_await try_claim(pool, "probe", "a", kTtl, false);
    EXPECT_TRUE(a.has_value());
    if (!a) co_return;
    EXPECT_EQ(a->term, 1);
    EXPECT_GT(a->run_id, 0);
    // Held: nobody else gets it, forced or not.
    EXPECT_FALSE(co_await try_claim(pool, "probe", "b", kTtl, false));
    EXPECT_FALSE(co_await try_claim(pool, "probe", "b", kTtl, true));
    co_await fenced_probe(pool, *a);
    EXPECT_TRUE(co_await renew(pool, *a, kTtl));

    // a stops renewing. Once the expiry passes its writes are refused, although nobody has
    // claimed the job yet.
    co_await sleep_for(kTtl + milliseconds(200));
    bool refused = false;
    try {
      co_await fenced_probe(pool, *a);
    } catch (const LeaseLost&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
    EXPECT_FALSE(co_await renew(pool, *a, kTtl));

    const auto b = co_await try_claim(pool, "probe", "b", milliseconds(60000), true);
    EXPECT_TRUE(b.has_value());
    if (!b) co_return;
    EXPECT_EQ(b->term, 2);
    co_await fenced_probe(pool, *b);
    refused = false;
    try {
      co_await fenced_probe(pool, *a);
    } catch (const LeaseLost&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
    // a's late release changes nothing; b's does.
    EXPECT_FALSE(co_await release(pool, *a, "ok", milliseconds(0)));
    EXPECT_TRUE(co_await release(pool, *b, "ok", milliseconds(3600000)));
    // Not due for an hour: only a forced claim runs it now.
    EXPECT_FALSE(co_await try_claim(pool, "probe", "c", milliseconds(800), false));
    const auto c = co_await try_claim(pool, "probe", "c", milliseconds(800), true);
    EXPECT_TRUE(c.has_value() && c->term == 3);
  });
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM job_probe WHERE term = 1"), 1);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM job_probe WHERE term = 2"), 1);
  // a's run row, never finished by a, was closed as lost when b claimed.
  EXPECT_EQ(scalar(db.dsn(),
                   "SELECT count(*) FROM folio_job_runs WHERE term = 1 AND "
                   "outcome = 'lost'"),
            1);
}

TEST(JobLease, APausedHolderResumesFencedAndItsRunEndsLost) {
  test::CutoverDatabase db("jobs_pause");
  test::run_script(db.dsn(), "CREATE TABLE job_probe (term bigint, instance text)");
  RunnerOptions options;
  options.lease_ttl = milliseconds(600);
  // The body writes once, then its whole thread stops (as SIGSTOP would stop the process:
  // no renewals either) until another instance has taken the job over, then tries to write
  // again.
  std::atomic<bool> taken_over{false};
  JobDefinition job;
  job.name = "probe";
  job.period = milliseconds(3600000);
  job.body = [&](JobContext& context) -> asio::awaitable<JobResult> {
    // The pool is this body's own, on the runner's executor.
    // (Executor first: g++ 12 mishandles a braced temporary beside co_await.)
    const auto executor = co_await asio::this_coro::executor;
    db::Pool pool(executor, {.dsn = db.dsn(), .max_size = 1});
    co_await fenced_probe(pool, context.lease());
    for (int i = 0; i < 3000 && !taken_over; ++i) std::this_thread::sleep_for(milliseconds(10));
    auto tx = co_await db::Transaction::begin(co_await pool.acquire());
    co_await context.fence(tx);  // refused: another instance holds the job meanwhile
    co_await tx.query("INSERT INTO job_probe (term, instance) VALUES ($1, 'after pause')",
                      context.lease().term);
    co_await tx.commit();
    co_return JobResult{};
  };
  RunRecord paused;
  std::thread holder([&] {
    paused = test::run_async([&](asio::io_context& io) -> asio::awaitable<RunRecord> {
      db::Pool pool(io.get_executor(), {.dsn = db.dsn(), .max_size = 2});
      co_await register_job(pool, "probe");
      RunnerOptions mine = options;
      mine.instance = "paused";
      co_return co_await run_once(pool, job, mine, true);
    });
  });
  // While the holder is stopped, its lease expires and another instance takes the job.
  const auto other = test::run_async([&](asio::io_context& io) -> asio::awaitable<bool> {
    db::Pool pool(io.get_executor(), {.dsn = db.dsn(), .max_size = 2});
    std::optional<Lease> lease;
    for (int i = 0; i < 300 && !lease; ++i) {
      co_await sleep_for(milliseconds(100));
      // Once the paused holder has written (so it holds the lease), wait for the expiry.
      if (scalar(db.dsn(), "SELECT count(*) FROM job_probe") == 0) continue;
      lease = co_await try_claim(pool, "probe", "other", milliseconds(60000), true);
    }
    taken_over = true;
    if (!lease) co_return false;
    co_await fenced_probe(pool, *lease);
    co_return co_await release(pool, *lease, "ok", milliseconds(3600000));
  });
  holder.join();
  EXPECT_TRUE(other);
  EXPECT_TRUE(paused.ran);
  EXPECT_EQ(paused.outcome, "lost") << paused.error;
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM job_probe WHERE instance = 'after pause'"), 0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM job_probe"), 2);  // one per term
  EXPECT_EQ(scalar(db.dsn(),
                   "SELECT count(*) FROM folio_job_runs WHERE outcome = 'lost' AND "
                   "instance = 'paused'"),
            1);
}

TEST(JobRunner, CompetingRunnersRunAJobOncePerPeriodWithoutOverlap) {
  test::CutoverDatabase db("jobs_runner");
  test::run_script(db.dsn(), "CREATE TABLE job_probe (term bigint, instance text)");
  constexpr milliseconds kPeriod{700};
  std::atomic<int> running{0};
  std::atomic<int> overlaps{0};
  const auto make_job = [&] {
    JobDefinition job;
    job.name = "probe";
    job.period = kPeriod;
    job.body = [&](JobContext& context) -> asio::awaitable<JobResult> {
      if (running.fetch_add(1) != 0) ++overlaps;
      // (Executor first: g++ 12 mishandles a braced temporary beside co_await.)
      const auto executor = co_await asio::this_coro::executor;
      db::Pool pool(executor, {.dsn = db.dsn(), .max_size = 1});
      co_await fenced_probe(pool, context.lease());
      co_await sleep_for(milliseconds(100));
      running.fetch_sub(1);
      co_return JobResult{};
    };
    return job;
  };
  // Destroyed in reverse: runners and pools before their io_contexts.
  std::vector<std::unique_ptr<asio::io_context>> ios;
  for (int i = 0; i < 3; ++i) ios.push_back(std::make_unique<asio::io_context>());
  std::vector<std::unique_ptr<db::Pool>> pools;
  std::vector<std::unique_ptr<Runner>> runners(3);
  std::vector<std::thread> instances;
  for (int i = 0; i < 3; ++i) {
    pools.push_back(std::make_unique<db::Pool>(ios[i]->get_executor(),
                                               db::PoolOptions{.dsn = db.dsn(), .max_size = 2}));
    RunnerOptions options;
    options.instance = "runner-" + std::to_string(i);
    options.lease_ttl = milliseconds(5000);
    options.tick = milliseconds(50);
    runners[i] = std::make_unique<Runner>(*pools[i], options, std::vector{make_job()});
    asio::co_spawn(*ios[i], runners[i]->run(), asio::detached);
    instances.emplace_back([&io = *ios[i]] { io.run(); });
  }
  std::this_thread::sleep_for(milliseconds(4000));
  for (auto& r : runners) r->stop();
  for (auto& t : instances) t.join();

  EXPECT_EQ(overlaps.load(), 0);
  const auto runs = scalar(db.dsn(), "SELECT count(*) FROM folio_job_runs WHERE job = 'probe'");
  EXPECT_GE(runs, 2);
  // At most one run per period: consecutive claims are a period apart or more (the database
  // clock decides, so a loaded machine cannot break it), and each run ended before the next.
  EXPECT_EQ(scalar(db.dsn(),
                   "SELECT count(*) FROM (SELECT started_at, finished_at, lead(started_at) OVER "
                   "(ORDER BY term) AS next FROM folio_job_runs WHERE job = 'probe') r "
                   "WHERE next IS NOT NULL AND (next - started_at < interval '700 ms' "
                   "OR finished_at > next)"),
            0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM folio_job_runs WHERE outcome <> 'ok'"), 0);
  // Every run wrote exactly once, under its own term.
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(DISTINCT term) FROM job_probe"), runs);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM job_probe"), runs);
}

}  // namespace
}  // namespace folio::jobs
