// folio::db::ReadRouter's guarded replica reads (and the ReadGuard itself) against the shared
// stack's primary and streaming replica: a read whose write position the router does not know the
// replica to have replayed goes to the replica with a ReadGuard, is served there when the replica
// has replayed it (and the router learns the replica's position), and is rerun on the primary when
// it has not. The health loop never runs on its own here (rounds by check_now() only), so the
// router's view of the replica stays as old as the test makes it.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "folio/db/connection.hpp"
#include "folio/db/lsn.hpp"
#include "folio/db/pool.hpp"
#include "folio/db/read_guard.hpp"
#include "folio/db/read_router.hpp"
#include "folio/db/replica_manager.hpp"
#include "folio/obs/metrics.hpp"
#include "support/async.hpp"
#include "support/metric_sample.hpp"
#include "support/stack_env.hpp"

namespace folio::db {
namespace {

using namespace std::chrono_literals;
using asio::awaitable;

// The value of one series in the global registry's exposition; 0 when absent.
double sample(const std::string& series) { return test::metric_sample(series, 0); }

struct Counters {
  double primary = sample(R"(folio_db_reads_total{target="primary"})");
  double replica = sample(R"(folio_db_reads_total{target="replica"})");
  double fallback = sample(R"(folio_db_reads_total{target="primary-fallback"})");
  double redirects = sample("folio_db_read_your_writes_redirects_total");
  double confirmed = sample(R"(folio_db_guarded_reads_total{result="confirmed"})");
  double rejected = sample(R"(folio_db_guarded_reads_total{result="rejected"})");

  Counters since(const Counters& before) const {
    Counters d = *this;
    d.primary -= before.primary;
    d.replica -= before.replica;
    d.fallback -= before.fallback;
    d.redirects -= before.redirects;
    d.confirmed -= before.confirmed;
    d.rejected -= before.rejected;
    return d;
  }
};

// The primary, the replica (through PgBouncer for reads, directly for health checks and the
// test's own queries), a manager whose rounds run on demand and a router over them, on one
// io_context.
class Fixture {
 public:
  explicit Fixture(asio::io_context& io)
      : env_(test::load_stack_env()),
        primary_(io.get_executor(), PoolOptions{.dsn = env_.at("DATABASE_URL"), .max_size = 2}),
        manager_(io.get_executor(), options(), make_round_robin_policy()) {
    std::vector<std::unique_ptr<Pool>> replicas;
    replicas.push_back(std::make_unique<Pool>(
        io.get_executor(),
        PoolOptions{.dsn = env_.at("REPLICA_URLS"), .name = "replica:test", .max_size = 2}));
    replica_pool_ = replicas.front().get();
    router_ = std::make_unique<ReadRouter>(primary_, std::move(replicas), &manager_, 10s);
  }

  ReplicaManager& manager() { return manager_; }
  ReadRouter& router() { return *router_; }
  Pool& primary() { return primary_; }
  Pool& replica() { return *replica_pool_; }

  // Runs `sql` on a fresh direct connection; the first value of the first row.
  awaitable<std::string> direct(const std::string& key, const std::string& sql) {
    auto conn =
        co_await Connection::connect(co_await asio::this_coro::executor, env_.at(key), 5000ms);
    const Result r = co_await conn->execute(sql);
    co_return r.empty() ? std::string() : std::string(r[0][0].raw());
  }

  // Inserts a row on the primary; returns its id and the primary's WAL position after the
  // commit (as folio's writes record it).
  awaitable<std::pair<std::int64_t, Lsn>> write() {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor,
                                             env_.at("DATABASE_DIRECT_URL"), 5000ms);
    co_await conn->execute(
        "CREATE TABLE IF NOT EXISTS read_router_probe (id bigserial PRIMARY KEY, note text)");
    const Result inserted = co_await conn->execute(
        "INSERT INTO read_router_probe (note) VALUES ('guarded') RETURNING id");
    const auto id = inserted.scalar<std::int64_t>();
    const Result position = co_await conn->execute("SELECT pg_current_wal_lsn()::text");
    co_return std::make_pair(id, parse_lsn(position.scalar<std::string>()).value());
  }

  // Waits until the replica has replayed `lsn` (polls it directly).
  awaitable<void> replayed(Lsn lsn) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor,
                                             env_.at("REPLICA_DIRECT_URLS"), 5000ms);
    const std::string sql = "SELECT pg_last_wal_replay_lsn() >= '" + format_lsn(lsn) + "'::pg_lsn";
    for (int i = 0; i < 10000; ++i) {
      if ((co_await conn->execute(sql)).scalar<bool>()) co_return;
      asio::steady_timer pause(co_await asio::this_coro::executor, 2ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
    throw std::runtime_error("the replica did not replay " + format_lsn(lsn));
  }

 private:
  ReplicaManagerOptions options() const {
    ReplicaManagerOptions o;
    o.primary_dsn = env_.at("DATABASE_DIRECT_URL");
    o.replicas = parse_replica_urls(env_.at("REPLICA_URLS"), env_.at("REPLICA_DIRECT_URLS"));
    o.health.interval = 1h;  // rounds run through check_now() only
    // Only the guards are under test: the check deadline and the lag limits are out of reach
    // of a busy machine and of other suites writing to the shared stack meanwhile.
    o.health.check_timeout = 10s;
    o.health.max_lag_bytes = Lsn{1} << 40;
    o.health.max_lag = 600s;
    return o;
  }

  std::map<std::string, std::string> env_;
  Pool primary_;
  Pool* replica_pool_ = nullptr;
  ReplicaManager manager_;
  std::unique_ptr<ReadRouter> router_;
};

// What one run of a read body saw.
struct BodyRun {
  Pool* pool;
  bool guard_required;
};

// A read body like the finance repositories': the guard (when required) in the read's own
// pipeline, before the statement that reads `id`; returns how many rows had that id.
auto count_rows(std::int64_t id, std::vector<BodyRun>& runs) {
  return [id, &runs](Pool& pool, ReadGuard& guard) -> awaitable<std::int64_t> {
    runs.push_back({&pool, guard.required()});
    std::vector<Statement> statements;
    if (guard.required()) statements.push_back(ReadGuard::statement());
    statements.push_back(Statement{"SELECT count(*) FROM read_router_probe WHERE id = $1",
                                   Params::of(std::to_string(id))});
    auto conn = co_await pool.acquire();
    auto results = co_await conn->pipeline(statements);
    if (guard.required()) guard.confirm(results.front());
    co_return results.back().scalar<std::int64_t>();
  };
}

TEST(ReadRouter, AnUnconfirmedReplicaServesTheReadOnceItsGuardConfirms) {
  test::run_async([](asio::io_context& io) -> awaitable<void> {
    Fixture f(io);
    co_await f.manager().start();
    EXPECT_TRUE(f.manager().any_in_rotation()) << f.manager().status()[0].last_error;
    // Written after the manager's last check, and replayed by the replica since.
    const auto [id, written] = co_await f.write();
    co_await f.replayed(written);
    EXPECT_LT(f.manager().status()[0].replay_lsn, written);
    EXPECT_EQ(f.manager().choose(written).reason, ReplicaChoiceReason::not_caught_up);
    const ReplicaChoice unconfirmed = f.manager().choose(written, Unconfirmed::allow);
    EXPECT_EQ(unconfirmed.reason, ReplicaChoiceReason::unconfirmed);
    EXPECT_EQ(unconfirmed.replica, std::optional<std::size_t>(0));

    const Counters before;
    std::vector<BodyRun> runs;
    const std::int64_t rows =
        co_await f.router().read(ReadPolicy{.min_lsn = written}, count_rows(id, runs));
    EXPECT_EQ(rows, 1) << "the replica served a read that misses the write";
    EXPECT_EQ(runs.size(), 1u);
    if (runs.size() != 1) co_return;
    EXPECT_EQ(runs[0].pool, &f.replica());
    EXPECT_TRUE(runs[0].guard_required);
    const Counters d = Counters().since(before);
    EXPECT_EQ(d.replica, 1);
    EXPECT_EQ(d.confirmed, 1);
    EXPECT_EQ(d.primary + d.fallback + d.redirects + d.rejected, 0);

    // The router learned the replica's position from the guard: no guard needed any more.
    EXPECT_EQ(f.manager().choose(written).reason, ReplicaChoiceReason::replica);
    runs.clear();
    const std::int64_t again =
        co_await f.router().read(ReadPolicy{.min_lsn = written}, count_rows(id, runs));
    EXPECT_EQ(again, 1);
    EXPECT_EQ(runs.size(), 1u);
    if (runs.size() != 1) co_return;
    EXPECT_EQ(runs[0].pool, &f.replica());
    EXPECT_FALSE(runs[0].guard_required);
    EXPECT_EQ(Counters().since(before).confirmed, 1);
    co_await f.manager().stop();
  });
}

TEST(ReadRouter, AGuardThatDoesNotConfirmSendsTheReadToThePrimary) {
  test::run_async([](asio::io_context& io) -> awaitable<void> {
    Fixture f(io);
    co_await f.manager().start();
    EXPECT_TRUE(f.manager().any_in_rotation()) << f.manager().status()[0].last_error;
    const auto [id, written] = co_await f.write();
    // A position the replica cannot have replayed (far past the primary's).
    const Lsn ahead = written + (Lsn{1} << 40);

    const Counters before;
    std::vector<BodyRun> runs;
    const std::int64_t rows =
        co_await f.router().read(ReadPolicy{.min_lsn = ahead}, count_rows(id, runs));
    EXPECT_EQ(rows, 1);
    EXPECT_EQ(runs.size(), 2u);
    if (runs.size() != 2) co_return;
    EXPECT_EQ(runs[0].pool, &f.replica());
    EXPECT_TRUE(runs[0].guard_required);
    EXPECT_EQ(runs[1].pool, &f.primary());
    EXPECT_FALSE(runs[1].guard_required);
    const Counters d = Counters().since(before);
    EXPECT_EQ(d.primary, 1);
    EXPECT_EQ(d.redirects, 1);
    EXPECT_EQ(d.rejected, 1);
    EXPECT_EQ(d.replica + d.fallback + d.confirmed, 0);

    // A body that ignores its guard is never served by the replica either.
    runs.clear();
    auto careless = [&runs](Pool& pool, ReadGuard& guard) -> awaitable<int> {
      runs.push_back({&pool, guard.required()});
      co_return 7;
    };
    const int careless_result = co_await f.router().read(ReadPolicy{.min_lsn = ahead}, careless);
    EXPECT_EQ(careless_result, 7);
    EXPECT_EQ(runs.size(), 2u);
    if (runs.size() != 2) co_return;
    EXPECT_EQ(runs[1].pool, &f.primary());
    EXPECT_EQ(Counters().since(before).rejected, 2);

    // Reads without a position, and reads of positions the replica is known to have, need no
    // guard.
    runs.clear();
    co_await f.router().read(ReadPolicy{}, count_rows(id, runs));
    co_await f.router().read(ReadPolicy{.min_lsn = Lsn{1}}, count_rows(id, runs));
    EXPECT_EQ(runs.size(), 2u);
    if (runs.size() != 2) co_return;
    for (const BodyRun& run : runs) {
      EXPECT_EQ(run.pool, &f.replica());
      EXPECT_FALSE(run.guard_required);
    }
    // The unknown position (the largest) and primary_only never leave the primary.
    runs.clear();
    const Counters before_unknown;
    const std::int64_t unknown = co_await f.router().read(
        ReadPolicy{.min_lsn = std::numeric_limits<Lsn>::max()}, count_rows(id, runs));
    const std::int64_t primary_only =
        co_await f.router().read(ReadPolicy{.primary_only = true}, count_rows(id, runs));
    EXPECT_EQ(unknown, 1);
    EXPECT_EQ(primary_only, 1);
    EXPECT_EQ(runs.size(), 2u);
    if (runs.size() != 2) co_return;
    for (const BodyRun& run : runs) EXPECT_EQ(run.pool, &f.primary());
    const Counters u = Counters().since(before_unknown);
    EXPECT_EQ(u.redirects, 1);
    EXPECT_EQ(u.rejected + u.replica, 0);
    co_await f.manager().stop();
  });
}

TEST(ReplicaManager, WhatGuardsObserveHoldsUntilTheNextHealthRound) {
  test::run_async([](asio::io_context& io) -> awaitable<void> {
    Fixture f(io);
    auto& m = f.manager();
    co_await m.start();
    EXPECT_TRUE(m.any_in_rotation()) << m.status()[0].last_error;
    const Lsn checked = m.status()[0].replay_lsn;
    const ReplicaChoice first = m.choose(checked + 100, Unconfirmed::allow);
    EXPECT_EQ(first.reason, ReplicaChoiceReason::unconfirmed);

    m.observe_replay(0, first.generation, checked + 100, false);
    EXPECT_EQ(m.choose(checked + 100).reason, ReplicaChoiceReason::replica);
    m.observe_replay(0, first.generation, checked + 50, false);  // never lowered
    EXPECT_EQ(m.choose(checked + 100).reason, ReplicaChoiceReason::replica);
    m.observe_replay(7, first.generation, checked + 900, true);  // not a replica: ignored
    EXPECT_EQ(m.choose(checked + 101, Unconfirmed::allow).reason, ReplicaChoiceReason::unconfirmed);

    // Replay seen paused: no more unconfirmed reads on it.
    m.observe_replay(0, first.generation, checked + 100, true);
    EXPECT_EQ(m.choose(checked + 101, Unconfirmed::allow).reason,
              ReplicaChoiceReason::not_caught_up);
    EXPECT_EQ(m.choose(checked + 100, Unconfirmed::allow).reason, ReplicaChoiceReason::replica);

    // A health round starts afresh from what it read; observations made on an older view are
    // ignored.
    co_await m.check_now();
    const ReplicaChoice next = m.choose(m.status()[0].replay_lsn + 1, Unconfirmed::allow);
    EXPECT_EQ(next.reason, ReplicaChoiceReason::unconfirmed);
    EXPECT_NE(next.generation, first.generation);
    const Lsn far = m.status()[0].replay_lsn + (Lsn{1} << 40);
    m.observe_replay(0, first.generation, far, true);
    EXPECT_EQ(m.choose(far, Unconfirmed::allow).reason, ReplicaChoiceReason::unconfirmed);
    co_await m.stop();
  });
}

// The guard statement as the finance repositories run it (after a scope statement that
// switches to a role that is not a superuser) confirms on a standby under READ COMMITTED only: not
// inside a REPEATABLE READ transaction, whose snapshot may predate it, and not on a primary.
TEST(ReadGuard, ConfirmsOnAStandbyUnderReadCommittedOnly) {
  test::run_async([](asio::io_context& io) -> awaitable<void> {
    const auto env = test::load_stack_env();
    auto replica =
        co_await Connection::connect(io.get_executor(), env.at("REPLICA_DIRECT_URLS"), 5000ms);
    const Statement scope{"SELECT set_config('role', 'pg_monitor', true)", Params{}};
    const std::vector<Statement> pipeline{scope, ReadGuard::statement()};

    ReadGuard guard(Lsn{1});
    guard.confirm((co_await replica->pipeline(pipeline)).back());
    EXPECT_TRUE(guard.passed());
    const std::optional<GuardAnswer> answer = guard.answer();
    EXPECT_TRUE(answer.has_value());
    if (!answer) co_return;
    EXPECT_TRUE(answer->in_recovery);
    EXPECT_TRUE(answer->read_committed);
    EXPECT_FALSE(answer->replay_paused);
    EXPECT_GT(answer->replay_lsn.value_or(0), Lsn{1});

    ReadGuard past(*answer->replay_lsn + (Lsn{1} << 40));
    past.confirm((co_await replica->pipeline(pipeline)).back());
    EXPECT_FALSE(past.passed());

    co_await replica->execute_script("BEGIN ISOLATION LEVEL REPEATABLE READ");
    ReadGuard repeatable(Lsn{1});
    repeatable.confirm(co_await replica->execute(ReadGuard::statement().sql));
    co_await replica->execute_script("ROLLBACK");
    EXPECT_FALSE(repeatable.passed());
    EXPECT_FALSE(repeatable.answer().value_or(GuardAnswer{}).read_committed);

    auto primary =
        co_await Connection::connect(io.get_executor(), env.at("DATABASE_DIRECT_URL"), 5000ms);
    ReadGuard on_primary(Lsn{1});
    on_primary.confirm((co_await primary->pipeline(pipeline)).back());
    EXPECT_FALSE(on_primary.passed());
    EXPECT_FALSE(on_primary.answer().value_or(GuardAnswer{.in_recovery = true}).in_recovery);
  });
}

}  // namespace
}  // namespace folio::db
