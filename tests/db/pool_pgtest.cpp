// folio::db::Pool against the real local stack: exhaustion, replacement of killed
// connections, counts, and shutting a pool down while callers wait on it.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "folio/db/errors.hpp"
#include "folio/db/pool.hpp"
#include "support/async.hpp"
#include "support/stack_env.hpp"

namespace folio::db {
namespace {

using asio::awaitable;
using std::chrono::milliseconds;
using test::run_async;
using test::stack_value;

PoolOptions options(const std::string& key, std::size_t max_size) {
  PoolOptions o;
  o.dsn = stack_value(key);
  o.name = key;
  o.max_size = max_size;
  o.acquire_timeout = milliseconds(300);
  return o;
}

TEST(Pool, ExhaustionGivesTheAcquireTimeoutErrorAndRecovers) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options("DATABASE_URL", 2));
    auto a = co_await pool.acquire();
    auto b = co_await pool.acquire();
    EXPECT_EQ(pool.stats().in_use, 2u);
    const auto started = std::chrono::steady_clock::now();
    try {
      co_await pool.acquire();
      ADD_FAILURE() << "acquired a third connection from a pool of two";
    } catch (const PoolTimeout& e) {
      const auto waited = std::chrono::steady_clock::now() - started;
      EXPECT_GE(waited, milliseconds(290));
      EXPECT_LT(waited, milliseconds(3000));
      EXPECT_NE(std::string(e.what()).find("'DATABASE_URL' exhausted"), std::string::npos)
          << e.what();
    }
    EXPECT_EQ(pool.stats().acquire_timeouts, 1u);
    EXPECT_EQ(pool.stats().waiting, 0u);
    { auto released = std::move(a); }
    auto c = co_await pool.acquire();  // the released one, no new connection
    EXPECT_EQ(pool.stats().connections_opened, 2u);
    EXPECT_EQ(pool.stats().size, 2u);
  });
}

TEST(Pool, AWaiterGetsTheNextReleasedConnection) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    auto o = options("DATABASE_URL", 1);
    o.acquire_timeout = milliseconds(5000);
    Pool pool(io.get_executor(), o);
    auto held = std::make_unique<PooledConnection>(co_await pool.acquire());
    asio::steady_timer later(io, milliseconds(100));
    later.async_wait([&](auto) { held.reset(); });
    const auto started = std::chrono::steady_clock::now();
    auto next = co_await pool.acquire();
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(2000));
    const Result r = co_await next->query("SELECT 1");
    EXPECT_EQ(r.scalar<std::int32_t>(), 1);
    EXPECT_EQ(pool.stats().connections_opened, 1u);
  });
}

TEST(Pool, KilledConnectionIsReplacedAndTheNextQuerySucceeds) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options("DATABASE_DIRECT_URL", 1));
    const auto pid = (co_await pool.query("SELECT pg_backend_pid()")).scalar<std::int32_t>();
    {
      auto killer = co_await Connection::connect(
          io.get_executor(), stack_value("DATABASE_DIRECT_URL"), milliseconds(5000));
      // The timeout argument makes pg_terminate_backend wait until the backend has exited.
      const Result k = co_await killer->query("SELECT pg_terminate_backend($1, 5000)", pid);
      EXPECT_TRUE(k.scalar<bool>());
    }
    const auto pid2 = (co_await pool.query("SELECT pg_backend_pid()")).scalar<std::int32_t>();
    EXPECT_NE(pid, pid2);
    EXPECT_EQ(pool.stats().connections_dropped, 1u);
    EXPECT_EQ(pool.stats().connections_opened, 2u);
    EXPECT_EQ(pool.stats().size, 1u);
  });
}

TEST(Pool, ServerConnectionKilledBehindPgBouncerIsInvisibleToTheClient) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options("DATABASE_URL", 1));
    const auto before = (co_await pool.query("SELECT pg_backend_pid()")).scalar<std::int32_t>();
    auto killer = co_await Connection::connect(
        io.get_executor(), stack_value("DATABASE_DIRECT_URL"), milliseconds(5000));
    co_await killer->query("SELECT pg_terminate_backend($1, 5000)", before);
    // PgBouncer notices its server connection died and opens another one.
    std::int32_t after = before;
    for (int attempt = 0; attempt < 3 && after == before; ++attempt) {
      try {
        after = (co_await pool.query("SELECT pg_backend_pid()")).scalar<std::int32_t>();
      } catch (const ConnectionError&) {
        // PgBouncer may report the dead server connection once; a retry must succeed.
      }
    }
    EXPECT_NE(after, before);
  });
}

TEST(Pool, AbandonedTransactionIsRolledBackBeforeReuse) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    Pool pool(io.get_executor(), options("DATABASE_DIRECT_URL", 1));
    {
      auto conn = co_await pool.acquire();
      co_await conn->execute_script("BEGIN; CREATE TEMP TABLE abandoned (x int)");
      EXPECT_EQ(conn->tx_status(), TxStatus::kInTransaction);
    }
    auto conn = co_await pool.acquire();
    EXPECT_EQ(conn->tx_status(), TxStatus::kIdle);
    const Result r = co_await conn->query("SELECT to_regclass('pg_temp.abandoned') IS NULL");
    EXPECT_TRUE(r.scalar<bool>());
    EXPECT_EQ(pool.stats().connections_opened, 1u);
  });
}

TEST(Pool, ConcurrentUsersNeverExceedMaxSize) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    auto o = options("DATABASE_URL", 3);
    o.acquire_timeout = milliseconds(10000);
    Pool pool(io.get_executor(), o);
    int done = 0;
    std::size_t peak = 0;
    for (int i = 0; i < 20; ++i) {
      asio::co_spawn(
          io,
          [&]() -> awaitable<void> {
            const Result r = co_await pool.query("SELECT pg_sleep(0.02), 1");
            peak = std::max(peak, pool.stats().size);
            done += r[0].get<std::int32_t>(1);
          },
          asio::detached);
    }
    asio::steady_timer t(io);
    while (done < 20) {
      t.expires_after(milliseconds(20));
      co_await t.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(done, 20);
    EXPECT_LE(peak, 3u);
    EXPECT_EQ(pool.stats().connections_opened, 3u);
    EXPECT_EQ(pool.stats().in_use, 0u);
  });
}

// A caller first in line gets the next released connection before the callers already
// waiting, and a deadline of its own, shorter than the pool's acquire timeout.
TEST(Pool, FirstInLineIsServedBeforeWaitingCallersWithinItsOwnDeadline) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    auto o = options("DATABASE_URL", 1);
    o.acquire_timeout = milliseconds(10000);
    Pool pool(io.get_executor(), o);
    auto held = std::make_unique<PooledConnection>(co_await pool.acquire());

    const auto started = std::chrono::steady_clock::now();
    try {
      co_await pool.acquire(AcquireOptions{.timeout = milliseconds(200), .first_in_line = true});
      ADD_FAILURE() << "acquired a second connection from a pool of one";
    } catch (const PoolTimeout& e) {
      const auto waited = std::chrono::steady_clock::now() - started;
      EXPECT_GE(waited, milliseconds(190));
      EXPECT_LT(waited, milliseconds(3000));
      EXPECT_NE(std::string(e.what()).find("200 ms"), std::string::npos) << e.what();
    }

    std::vector<std::string> order;
    int finished = 0;
    const auto take = [&](std::string who, bool first) -> awaitable<void> {
      auto conn = co_await pool.acquire(
          AcquireOptions{.timeout = milliseconds(10000), .first_in_line = first});
      order.push_back(who);
      ++finished;
    };
    asio::co_spawn(io, take("regular-1", false), asio::detached);
    asio::co_spawn(io, take("regular-2", false), asio::detached);
    asio::co_spawn(io, take("first-1", true), asio::detached);
    asio::co_spawn(io, take("first-2", true), asio::detached);
    asio::steady_timer t(io);
    while (pool.stats().waiting < 4) {
      t.expires_after(milliseconds(5));
      co_await t.async_wait(asio::use_awaitable);
    }
    held.reset();
    while (finished < 4) {
      t.expires_after(milliseconds(5));
      co_await t.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(order, (std::vector<std::string>{"first-1", "first-2", "regular-1", "regular-2"}));
    EXPECT_EQ(pool.stats().connections_opened, 1u);
  });
}

// Opening a connection counts against the caller's deadline: a server that accepts the TCP
// connection and then never answers (a paused PgBouncer, say) fails it within that deadline,
// not within the pool's longer connect timeout.
TEST(Pool, DeadlineBoundsOpeningAConnection) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    // Listening, never accepting: the kernel completes the handshake, nobody reads.
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
    PoolOptions o;
    o.dsn = "postgresql://folio@127.0.0.1:" + std::to_string(silent.local_endpoint().port()) +
            "/folio?sslmode=disable";
    o.name = "silent";
    o.connect_timeout = milliseconds(20000);
    Pool pool(io.get_executor(), o);
    const auto started = std::chrono::steady_clock::now();
    EXPECT_THROW(co_await pool.acquire(AcquireOptions{.timeout = milliseconds(300)}),
                 ConnectionError);
    const auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_GE(waited, milliseconds(250));
    EXPECT_LT(waited, milliseconds(3000));
    EXPECT_EQ(pool.stats().size, 0u);
  });
}

asio::awaitable<void> sleep_for(milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

// One acquire() on `pool`, its outcome as text: "acquired" or "<exception type>: <message>".
awaitable<void> acquire_into(Pool& pool, std::string& outcome, int& finished) {
  try {
    auto conn = co_await pool.acquire();
    outcome = "acquired";
  } catch (const PoolClosed& e) {
    outcome = std::string("PoolClosed: ") + e.what();
  } catch (const std::exception& e) {
    outcome = std::string("other: ") + e.what();
  }
  ++finished;
}

// Callers waiting for the only connection when the pool is destroyed all fail at once with
// PoolClosed; the connection lent out before is given back afterwards and just closes.
TEST(Pool, DestroyedWhileCallersWaitEveryWaiterGetsPoolClosed) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    auto o = options("DATABASE_URL", 1);
    o.acquire_timeout = milliseconds(60000);  // the waiters must end by the shutdown, not this
    auto pool = std::make_unique<Pool>(io.get_executor(), o);
    auto held = co_await pool->acquire();
    constexpr int kWaiters = 4;
    std::vector<std::string> outcomes(kWaiters);
    int finished = 0;
    for (auto& outcome : outcomes) {
      asio::co_spawn(io, acquire_into(*pool, outcome, finished), asio::detached);
    }
    while (pool->stats().waiting < kWaiters) co_await sleep_for(milliseconds(5));
    const auto started = std::chrono::steady_clock::now();
    pool.reset();
    while (finished < kWaiters) co_await sleep_for(milliseconds(5));
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(30000));
    EXPECT_EQ(outcomes,
              std::vector<std::string>(kWaiters,
                                       "PoolClosed: connection pool 'DATABASE_URL' was shut down "
                                       "while waiting for a connection"));
    // The lent connection still works, and giving it back to the destroyed pool closes it.
    EXPECT_EQ((co_await held->query("SELECT 1")).scalar<std::int32_t>(), 1);
    { auto given_back = std::move(held); }
  });
}

TEST(Pool, CloseFailsWaitersAndLaterCallsAndClosesReturnedConnections) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    auto o = options("DATABASE_URL", 2);
    o.acquire_timeout = milliseconds(60000);
    Pool pool(io.get_executor(), o);
    auto held = co_await pool.acquire();
    { auto idle = co_await pool.acquire(); }  // one idle connection
    auto held2 = co_await pool.acquire();
    EXPECT_EQ(pool.stats().size, 2u);
    std::vector<std::string> outcomes(3);
    int finished = 0;
    for (auto& outcome : outcomes) {
      asio::co_spawn(io, acquire_into(pool, outcome, finished), asio::detached);
    }
    while (pool.stats().waiting < 3) co_await sleep_for(milliseconds(5));
    pool.close();
    EXPECT_TRUE(pool.closed());
    EXPECT_EQ(pool.stats().waiting, 0u);
    while (finished < 3) co_await sleep_for(milliseconds(5));
    EXPECT_EQ(outcomes,
              std::vector<std::string>(3,
                                       "PoolClosed: connection pool 'DATABASE_URL' was shut down "
                                       "while waiting for a connection"));
    std::string later;
    co_await acquire_into(pool, later, finished);
    EXPECT_EQ(later, "PoolClosed: connection pool 'DATABASE_URL' was shut down before this call");
    // Connections given back after the close are closed, not kept.
    { auto given_back = std::move(held); }
    { auto given_back = std::move(held2); }
    EXPECT_EQ(pool.stats().size, 0u);
    EXPECT_EQ(pool.stats().idle, 0u);
    EXPECT_EQ(pool.stats().in_use, 0u);
    pool.close();  // idempotent
  });
}

// A caller whose connection is still being opened when the pool goes away gets PoolClosed
// when the attempt ends, not a pool that no longer exists.
TEST(Pool, DestroyedWhileOpeningAConnectionTheCallerGetsPoolClosed) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    // Listening, never accepting: the attempt hangs until connect_timeout.
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
    PoolOptions o;
    o.dsn = "postgresql://folio@127.0.0.1:" + std::to_string(silent.local_endpoint().port()) +
            "/folio?sslmode=disable";
    o.name = "silent";
    o.connect_timeout = milliseconds(300);
    auto pool = std::make_unique<Pool>(io.get_executor(), o);
    std::string outcome;
    int finished = 0;
    asio::co_spawn(io, acquire_into(*pool, outcome, finished), asio::detached);
    while (pool->stats().size < 1) co_await sleep_for(milliseconds(5));
    pool.reset();
    while (finished < 1) co_await sleep_for(milliseconds(5));
    EXPECT_EQ(outcome,
              "PoolClosed: connection pool 'silent' was shut down while opening a connection");
  });
}

}  // namespace
}  // namespace folio::db
