// sync-on under a long-running transaction gives up with a clear message (naming the
// blocker) instead of queueing writers behind its lock request, and writers keep going.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "folio/cutover/schema.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/db/errors.hpp"
#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(SyncOnLock, GivesUpInsteadOfQueueingWritersBehindALongTransaction) {
  test::CutoverDatabase db("sync_lock", 5, 4, 2);
  std::string message;
  std::chrono::milliseconds worst_write{0};
  int writes = 0;
  std::string writer_failure;  // a write that waited too long for a lock
  test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    const auto ex = io.get_executor();
    db::Pool pool(ex, {.dsn = db.dsn(), .max_size = 3});
    co_await prepare(pool, {});

    // The long transaction: an uncommitted write holds ROW EXCLUSIVE on revenues.
    auto blocker = co_await db::Connection::connect(ex, db.dsn(), 5s);
    co_await blocker->execute_script(
        "BEGIN; UPDATE revenues SET amount_cents = amount_cents WHERE id = (SELECT min(id) FROM "
        "revenues)");
    const auto blocker_pid = blocker->backend_pid();

    // A writer that inserts while sync-on tries. Its own lock_timeout is what judges how
    // long it may wait for a lock: 1 s, ten of sync-on's lock_timeouts, while the long
    // transaction lasts until sync-on has given up. The database measures only the lock
    // wait, which a busy machine barely stretches; the wall time of each insert (fsync,
    // scheduling) is reported.
    bool stop = false;
    bool writer_done = false;
    auto writer = [&]() -> asio::awaitable<void> {
      auto c = co_await db::Connection::connect(ex, db.dsn(), 5s);
      co_await c->execute("SET lock_timeout = '1s'");
      while (!stop) {
        const auto t0 = std::chrono::steady_clock::now();
        try {
          co_await c->execute(
              "INSERT INTO revenues (org_id, category, amount_cents, currency, occurred_at) "
              "VALUES (2, 'room', 1, 'EUR', now())");
          ++writes;
        } catch (const db::LockNotAvailable& e) {
          if (writer_failure.empty()) writer_failure = e.what();
        }
        worst_write = std::max(worst_write, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - t0));
        asio::steady_timer t(ex, 20ms);
        co_await t.async_wait(asio::use_awaitable);
      }
    };
    asio::co_spawn(ex, writer(), [&](std::exception_ptr e) {
      if (e) writer_failure = "the writer failed";
      writer_done = true;
    });

    LockRetryOptions locks;
    locks.lock_timeout = 100ms;
    locks.attempts = 3;
    locks.backoff = 100ms;
    std::exception_ptr failure;
    try {
      co_await sync_on(pool, locks);
    } catch (const db::LockNotAvailable&) {
      failure = std::current_exception();
    }
    EXPECT_TRUE(failure) << "sync-on did not give up";
    try {
      if (failure) std::rethrow_exception(failure);
    } catch (const db::LockNotAvailable& e) {
      message = e.what();
    }
    EXPECT_NE(message.find("pid " + std::to_string(blocker_pid)), std::string::npos) << message;

    // The writer goes on: at least 6 inserts, each within its lock_timeout (waited for,
    // however slowly a busy machine runs them); then it stops, before the long transaction
    // ends and sync-on takes its locks for good.
    asio::steady_timer t(ex);
    for (int i = 0; i < 3000 && writes <= 5; ++i) {
      t.expires_after(20ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    stop = true;
    while (!writer_done) {
      t.expires_after(20ms);
      co_await t.async_wait(asio::use_awaitable);
    }

    // Once the long transaction ends, sync-on goes through.
    co_await blocker->execute("COMMIT");
    EXPECT_EQ(co_await sync_on(pool, locks), 3);
  });
  EXPECT_NE(message.find("gave up after 3 attempts"), std::string::npos) << message;
  EXPECT_GT(writes, 5);
  // A writer waits at most about one lock_timeout, never for the long transaction.
  EXPECT_EQ(writer_failure, "") << "an insert waited 1 s for a lock";
  std::printf("slowest insert while sync-on tried: %lld ms\n",
              static_cast<long long>(worst_write.count()));
}

}  // namespace
}  // namespace folio::cutover
