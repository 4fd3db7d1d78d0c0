// Migrations against a fresh database on the real local stack.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "folio/db/errors.hpp"
#include "folio/db/migrator.hpp"
#include "support/async.hpp"
#include "support/scratch_database.hpp"
#include "support/stack_env.hpp"

namespace folio::db {
namespace {

using asio::awaitable;
using std::chrono::milliseconds;
using test::run_async;

// Each test gets an empty database of its own.
class MigratorTest : public ::testing::Test {
 protected:
  awaitable<std::unique_ptr<Connection>> open(asio::io_context& io) const {
    co_return co_await Connection::connect(io.get_executor(), db_.dsn(), milliseconds(5000));
  }

  test::ScratchDatabase db_{"folio_mig"};
};

TEST_F(MigratorTest, AppliesTheLegacySchemaOnceAndRecordsChecksums) {
  run_async([&](asio::io_context& io) -> awaitable<void> {
    auto conn = co_await open(io);
    const auto& all = embedded_migrations();
    const auto before = co_await migration_status(*conn, all);
    EXPECT_TRUE(before.applied.empty());
    EXPECT_EQ(before.pending.size(), all.size());

    const auto applied = co_await migrate(*conn, all);
    EXPECT_EQ(applied.size(), all.size());
    EXPECT_EQ(applied.front(), 1);
    const Result tables = co_await conn->query(
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
        "WHERE schemaname = 'public'");
    EXPECT_EQ(tables.scalar<std::string>(),
              "api_tokens,backfill_progress,balances,cutover_audit,expenses,expenses_locator,"
              "folio_job_runs,folio_jobs,organizations,partition_archive,partition_routing,"
              "revenues,revenues_locator,schema_migrations,sync_failures");
    const Result seq = co_await conn->query("SELECT to_regclass('folio_id_seq') IS NOT NULL");
    EXPECT_TRUE(seq.scalar<bool>());
    const Result recorded =
        co_await conn->query("SELECT checksum FROM schema_migrations WHERE version = 1");
    EXPECT_EQ(recorded.scalar<std::string>(), all.front().checksum);

    EXPECT_TRUE((co_await migrate(*conn, all)).empty());  // idempotent
    EXPECT_TRUE((co_await migration_status(*conn, all)).current());
  });
}

TEST_F(MigratorTest, AChangedAppliedFileIsRefused) {
  run_async([&](asio::io_context& io) -> awaitable<void> {
    auto conn = co_await open(io);
    std::vector<Migration> v1 = {make_migration("0001_a.sql", "CREATE TABLE a (x int);")};
    co_await migrate(*conn, v1);
    std::vector<Migration> edited = {make_migration("0001_a.sql", "CREATE TABLE a (x bigint);"),
                                     make_migration("0002_b.sql", "CREATE TABLE b (x int);")};
    try {
      co_await migrate(*conn, edited);
      ADD_FAILURE() << "an edited migration was accepted";
    } catch (const MigrationError& e) {
      EXPECT_NE(std::string(e.what()).find("0001_a.sql was changed after it was applied"),
                std::string::npos)
          << e.what();
    }
    // Nothing after the refusal ran, and no lock outlived the refusal.
    const Result b = co_await conn->query("SELECT to_regclass('b') IS NULL");
    EXPECT_TRUE(b.scalar<bool>());
    EXPECT_THROW(co_await migration_status(*conn, edited), MigrationError);
    const Result locks = co_await conn->query(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()");
    EXPECT_EQ(locks.scalar<std::int64_t>(), 0);
  });
}

TEST_F(MigratorTest, AFailingMigrationRollsBackWholly) {
  run_async([&](asio::io_context& io) -> awaitable<void> {
    auto conn = co_await open(io);
    std::vector<Migration> ms = {
        make_migration("0001_ok.sql", "CREATE TABLE ok (x int);"),
        make_migration("0002_bad.sql", "CREATE TABLE half (x int); SELECT 1/0;")};
    try {
      co_await migrate(*conn, ms);
      ADD_FAILURE() << "a failing migration passed";
    } catch (const MigrationError& e) {
      EXPECT_NE(std::string(e.what()).find("0002_bad.sql failed"), std::string::npos) << e.what();
    }
    const Result r = co_await conn->query(
        "SELECT to_regclass('ok') IS NOT NULL, to_regclass('half') IS NULL, "
        "(SELECT count(*) FROM schema_migrations)");
    EXPECT_TRUE(r[0].get<bool>(0));
    EXPECT_TRUE(r[0].get<bool>(1));
    EXPECT_EQ(r[0].get<std::int64_t>(2), 1);
  });
}

TEST_F(MigratorTest, ConcurrentMigratorsApplyEachVersionOnce) {
  run_async([&](asio::io_context& io) -> awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto a = co_await open(io);
    auto b = co_await open(io);
    const auto& all = embedded_migrations();
    const auto [ra, rb] = co_await (migrate(*a, all) && migrate(*b, all));
    EXPECT_EQ(ra.size() + rb.size(), all.size());
    const Result r = co_await a->query("SELECT count(*) FROM schema_migrations");
    EXPECT_EQ(r.scalar<std::int64_t>(), static_cast<std::int64_t>(all.size()));
  });
}

}  // namespace
}  // namespace folio::db
