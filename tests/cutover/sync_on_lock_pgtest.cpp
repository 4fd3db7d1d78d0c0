// sync-on under a long-running transaction gives up with a clear message (naming the
// blocker) instead of queueing writers behind its lock request, and writers keep going.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

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

    // A writer that measures how long each of its inserts waits while sync-on tries.
    bool stop = false;
    auto writer = [&]() -> asio::awaitable<void> {
      auto c = co_await db::Connection::connect(ex, db.dsn(), 5s);
      while (!stop) {
        const auto t0 = std::chrono::steady_clock::now();
        co_await c->execute(
            "INSERT INTO revenues (org_id, category, amount_cents, currency, occurred_at) "
            "VALUES (2, 'room', 1, 'EUR', now())");
        worst_write = std::max(worst_write, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - t0));
        ++writes;
        asio::steady_timer t(ex, 20ms);
        co_await t.async_wait(asio::use_awaitable);
      }
    };
    asio::co_spawn(ex, writer(), asio::detached);

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

    // Once the long transaction ends, sync-on goes through.
    co_await blocker->execute("COMMIT");
    EXPECT_EQ(co_await sync_on(pool, locks), 3);
    stop = true;
    asio::steady_timer t(ex, 100ms);
    co_await t.async_wait(asio::use_awaitable);
  });
  EXPECT_NE(message.find("gave up after 3 attempts"), std::string::npos) << message;
  EXPECT_GT(writes, 5);
  // A writer waits at most about one lock_timeout, never for the long transaction.
  EXPECT_LT(worst_write, 1000ms);
}

}  // namespace
}  // namespace folio::cutover
