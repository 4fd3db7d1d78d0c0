// folio::db::Transaction and with_retry against the real local stack.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "folio/db/errors.hpp"
#include "folio/db/retry.hpp"
#include "folio/db/transaction.hpp"
#include "support/async.hpp"
#include "support/stack_env.hpp"

namespace folio::db {
namespace {

using asio::awaitable;
using std::chrono::milliseconds;
using test::run_async;
using test::stack_value;

PoolOptions options(std::size_t max_size = 4) {
  PoolOptions o;
  o.dsn = stack_value("DATABASE_URL");
  o.max_size = max_size;
  return o;
}

// A table of its own per test, so tests may run in parallel.
awaitable<void> recreate(Pool& pool, const std::string& table) {
  auto conn = co_await pool.acquire();
  co_await conn->execute_script("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table +
                                " (id int PRIMARY KEY, v int NOT NULL)");
}

awaitable<std::int64_t> count(Pool& pool, const std::string& table) {
  co_return (co_await pool.query("SELECT count(*) FROM " + table)).scalar<std::int64_t>();
}

TEST(Transaction, CommitKeepsAndAThrowRollsBack) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options());
    co_await recreate(pool, "tx_rollback_t");
    {
      auto tx = co_await Transaction::begin(co_await pool.acquire());
      co_await tx.query("INSERT INTO tx_rollback_t VALUES ($1, $2)", 1, 10);
      co_await tx.commit();
    }
    bool thrown = false;
    try {
      auto tx = co_await Transaction::begin(co_await pool.acquire());
      co_await tx.query("INSERT INTO tx_rollback_t VALUES ($1, $2)", 2, 20);
      co_await tx.query("UPDATE tx_rollback_t SET v = 11 WHERE id = 1");
      throw std::runtime_error("application failure after two writes");
    } catch (const std::runtime_error&) {
      thrown = true;
    }
    EXPECT_TRUE(thrown);
    // Let the pool's rollback run, then look from another connection.
    const Result r = co_await pool.query("SELECT count(*), max(v) FROM tx_rollback_t");
    EXPECT_EQ(r[0].get<std::int64_t>(0), 1);
    EXPECT_EQ(r[0].get<std::int32_t>(1), 10);
  });
}

TEST(Transaction, CommitAfterAFailedStatementIsReportedAsRollback) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options());
    co_await recreate(pool, "tx_failed_t");
    auto tx = co_await Transaction::begin(co_await pool.acquire());
    co_await tx.query("INSERT INTO tx_failed_t VALUES (1, 1)");
    EXPECT_THROW(co_await tx.query("INSERT INTO tx_failed_t VALUES (1, 1)"), UniqueViolation);
    EXPECT_THROW(co_await tx.commit(), TransactionRollback);
    EXPECT_EQ(co_await count(pool, "tx_failed_t"), 0);
  });
}

TEST(Transaction, StatementTimeoutFiresAndIsReportedAsSuch) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options());
    auto tx = co_await Transaction::begin(co_await pool.acquire(),
                                          {.statement_timeout = milliseconds(200)});
    const auto started = std::chrono::steady_clock::now();
    try {
      co_await tx.query("SELECT pg_sleep(10)");
      ADD_FAILURE() << "pg_sleep(10) finished under a 200 ms statement_timeout";
    } catch (const StatementTimeout& e) {
      EXPECT_EQ(e.sqlstate(), "57014");
      EXPECT_NE(std::string(e.what()).find("statement_timeout 200 ms"), std::string::npos);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(5000));
    co_await tx.rollback();
    // SET LOCAL did not leak into the session: a new transaction has no timeout.
    auto tx2 = co_await Transaction::begin(co_await pool.acquire());
    const Result r = co_await tx2.query("SELECT current_setting('statement_timeout')");
    EXPECT_EQ(r.scalar<std::string>(), "0");
  });
}

TEST(Transaction, LockTimeoutGivesLockNotAvailable) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options());
    co_await recreate(pool, "tx_lock_t");
    co_await pool.query("INSERT INTO tx_lock_t VALUES (1, 1)");
    auto holder = co_await Transaction::begin(co_await pool.acquire());
    co_await holder.query("UPDATE tx_lock_t SET v = 2 WHERE id = 1");
    auto waiter =
        co_await Transaction::begin(co_await pool.acquire(), {.lock_timeout = milliseconds(100)});
    EXPECT_THROW(co_await waiter.query("UPDATE tx_lock_t SET v = 3 WHERE id = 1"),
                 LockNotAvailable);
    co_await holder.rollback();
  });
}

TEST(Retry, RaisedSerializationFailuresAreRetriedUntilSuccess) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options());
    int attempts = 0;
    std::vector<std::string> seen;
    RetryPolicy policy;
    policy.on_retry = [&](const Error& e, int) { seen.push_back(e.sqlstate()); };
    const int value = co_await with_retry(
        [&]() -> awaitable<int> {
          ++attempts;
          auto tx = co_await Transaction::begin(co_await pool.acquire());
          const std::string code = attempts == 1 ? "40001" : "40P01";
          if (attempts < 3) {
            co_await tx.execute("DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '" + code +
                                "'; END $$");
          }
          const Result r = co_await tx.query("SELECT 7");
          co_await tx.commit();
          co_return r.scalar<std::int32_t>();
        },
        policy);
    EXPECT_EQ(value, 7);
    EXPECT_EQ(attempts, 3);
    EXPECT_EQ(seen, (std::vector<std::string>{"40001", "40P01"}));
  });
}

TEST(Retry, AlsoRetryAdmitsTheErrorsItNamesAndNoOthers) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options());
    RetryPolicy policy;
    policy.also_retry = [](const Error& e) {
      return std::string_view(e.what()).find("partition constraint") != std::string_view::npos;
    };
    int attempts = 0;
    co_await with_retry(
        [&]() -> awaitable<void> {
          if (++attempts == 1) {
            co_await pool.query(
                "DO $$ BEGIN RAISE EXCEPTION 'violates partition constraint' "
                "USING ERRCODE = '23514'; END $$");
          }
        },
        policy);
    EXPECT_EQ(attempts, 2);
    attempts = 0;
    EXPECT_THROW(co_await with_retry(
                     [&]() -> awaitable<void> {
                       ++attempts;
                       co_await pool.query(
                           "DO $$ BEGIN RAISE EXCEPTION 'another check' USING ERRCODE = '23514'; "
                           "END $$");
                     },
                     policy),
                 CheckViolation);
    EXPECT_EQ(attempts, 1);
  });
}

TEST(Retry, GivesUpAfterMaxAttemptsAndNeverRetriesOtherErrors) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options());
    int attempts = 0;
    RetryPolicy policy;
    policy.max_attempts = 3;
    EXPECT_THROW(co_await with_retry(
                     [&]() -> awaitable<void> {
                       ++attempts;
                       co_await pool.query(
                           "DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40001'; END $$");
                     },
                     policy),
                 SerializationFailure);
    EXPECT_EQ(attempts, 3);
    attempts = 0;
    EXPECT_THROW(co_await with_retry([&]() -> awaitable<void> {
                   ++attempts;
                   co_await pool.query("SELECT 1/0");
                 }),
                 DataException);
    EXPECT_EQ(attempts, 1);
  });
}

TEST(Retry, RealRepeatableReadConflictIsRetried) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options());
    co_await recreate(pool, "tx_rr_t");
    co_await pool.query("INSERT INTO tx_rr_t VALUES (1, 0)");
    int attempts = 0;
    co_await with_retry([&]() -> awaitable<void> {
      ++attempts;
      auto tx = co_await Transaction::begin(co_await pool.acquire(),
                                            {.isolation = Isolation::kRepeatableRead});
      co_await tx.query("SELECT v FROM tx_rr_t WHERE id = 1");  // takes the snapshot
      if (attempts == 1) {
        // A concurrent writer commits a change to the same row after our snapshot.
        co_await pool.query("UPDATE tx_rr_t SET v = v + 100 WHERE id = 1");
      }
      co_await tx.query("UPDATE tx_rr_t SET v = v + 1 WHERE id = 1");
      co_await tx.commit();
    });
    EXPECT_EQ(attempts, 2);
    const Result r = co_await pool.query("SELECT v FROM tx_rr_t WHERE id = 1");
    EXPECT_EQ(r.scalar<std::int32_t>(), 101);
  });
}

TEST(Retry, RealDeadlockIsRetriedAndBothWritersFinish) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options(6));
    co_await recreate(pool, "tx_deadlock_t");
    co_await pool.query("INSERT INTO tx_deadlock_t VALUES (1, 0), (2, 0)");
    int deadlocks = 0;
    int finished = 0;
    int holding = 0;  // writers that hold their first row (first attempts only)
    auto writer = [&](int first, int second) -> awaitable<void> {
      RetryPolicy policy;
      policy.on_retry = [&](const Error& e, int) {
        if (e.sqlstate() == "40P01") ++deadlocks;
      };
      bool first_attempt = true;
      co_await with_retry(
          [&, first, second]() -> awaitable<void> {
            auto tx = co_await Transaction::begin(co_await pool.acquire());
            co_await tx.query("UPDATE tx_deadlock_t SET v = v + 1 WHERE id = $1", first);
            if (first_attempt) {
              // Both hold their first row before either asks for its second: the deadlock is
              // certain, however unevenly a busy machine runs the two (at most 60 s).
              first_attempt = false;
              ++holding;
              asio::steady_timer t(io);
              for (int i = 0; i < 6000 && holding < 2; ++i) {
                t.expires_after(milliseconds(10));
                co_await t.async_wait(asio::use_awaitable);
              }
            }
            co_await tx.query("UPDATE tx_deadlock_t SET v = v + 1 WHERE id = $1", second);
            co_await tx.commit();
          },
          policy);
      ++finished;
    };
    asio::co_spawn(io, writer(1, 2), asio::detached);
    asio::co_spawn(io, writer(2, 1), asio::detached);
    asio::steady_timer t(io);
    for (int i = 0; i < 300 && finished < 2; ++i) {
      t.expires_after(milliseconds(50));
      co_await t.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(finished, 2);
    EXPECT_GE(deadlocks, 1);
    const Result r = co_await pool.query("SELECT sum(v) FROM tx_deadlock_t");
    EXPECT_EQ(r.scalar<std::int64_t>(), 4);
  });
}

}  // namespace
}  // namespace folio::db
