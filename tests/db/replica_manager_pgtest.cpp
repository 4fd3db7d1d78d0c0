// folio::db::ReplicaManager and the pool metrics against real servers. Cases that stop the
// replica or pause its replay run on a private stack (test::OwnStack): the shared fixture
// stack serves other tests at the same time.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include "folio/db/connection.hpp"
#include "folio/db/pool.hpp"
#include "folio/db/pool_metrics.hpp"
#include "folio/db/replica_manager.hpp"
#include "folio/obs/metrics.hpp"
#include "support/async.hpp"
#include "support/metric_sample.hpp"
#include "support/own_stack.hpp"
#include "support/stack_env.hpp"

namespace folio::db {
namespace {

using namespace std::chrono_literals;
using asio::awaitable;
using Clock = std::chrono::steady_clock;

// An io_context run by two threads of its own (the manager must keep its work on its strand),
// so the test thread can block (stop a server, poll status()) while the health loop runs, as
// a server's request threads would.
class IoThread {
 public:
  IoThread() : guard_(asio::make_work_guard(io_)) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~IoThread() {
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  asio::any_io_executor executor() { return io_.get_executor(); }

  // Runs make() -> awaitable<T> on the thread and returns its result (or rethrows).
  template <typename Make>
  auto run(Make make) {
    auto future = asio::co_spawn(io_, make(), asio::use_future);
    if (future.wait_for(60s) != std::future_status::ready) {
      throw std::runtime_error("coroutine did not finish in 60 s");
    }
    return future.get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

// Runs `sql` (one statement) on a fresh connection; returns the first value of the first row,
// "" when there is none.
std::string sql(IoThread& io, const std::string& dsn, const std::string& statement) {
  return io.run([&]() -> awaitable<std::string> {
    auto conn = co_await Connection::connect(io.executor(), dsn, 5000ms);
    const Result r = co_await conn->execute(statement);
    co_return r.empty() || r.columns() == 0 ? std::string() : std::string(r[0][0].raw());
  });
}

// The value of one series in the global registry's exposition; -1 when absent.
double sample(const std::string& series) { return test::metric_sample(series, -1); }

std::string replica_series(const std::string& metric, const std::string& replica) {
  return metric + "{replica=\"" + replica + "\"}";
}

// Polls `done` every 20 ms for at most `limit`; returns whether it became true.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// The stack's replica, with a check deadline and lag limits out of reach of a busy machine
// (and of the other suites writing to the shared stack): only what a test does to the
// replica takes it out of rotation. Tests of the deadline or a limit set their own.
ReplicaManagerOptions stack_options(const std::map<std::string, std::string>& env) {
  ReplicaManagerOptions o;
  o.primary_dsn = env.at("DATABASE_DIRECT_URL");
  o.replicas = parse_replica_urls(env.at("REPLICA_URLS"), env.at("REPLICA_DIRECT_URLS"));
  o.health.check_timeout = 10s;
  o.health.max_lag_bytes = 1ull << 40;
  o.health.max_lag = 600s;
  return o;
}

TEST(ReplicaManager, AHealthyReplicaJoinsAtStart) {
  const auto env = test::load_stack_env();
  IoThread io;
  auto o = stack_options(env);
  o.health.interval = 500ms;
  ReplicaManager manager(io.executor(), o, make_round_robin_policy());
  ASSERT_EQ(manager.size(), 1u);
  EXPECT_EQ(manager.choose().reason, ReplicaChoiceReason::none_in_rotation);  // not started
  io.run([&] { return manager.start(); });

  const ReplicaStatus s = manager.status().at(0);
  EXPECT_EQ(s.name, manager.replicas()[0].name);
  EXPECT_TRUE(s.reachable) << s.last_error;
  EXPECT_TRUE(s.in_recovery);
  EXPECT_FALSE(s.replay_paused);
  EXPECT_TRUE(s.in_rotation) << s.last_error;
  EXPECT_EQ(s.last_error, "");
  EXPECT_GT(s.replay_lsn, 0u);
  EXPECT_LT(s.lag_seconds, 5.0);  // the first round: the primary has been seen past it 0 s
  EXPECT_GT(s.rtt, 0us);
  EXPECT_LT(s.rtt, o.health.check_timeout);
  const auto primary_now =
      parse_lsn(sql(io, env.at("DATABASE_DIRECT_URL"), "SELECT pg_current_wal_lsn()::text"));
  ASSERT_TRUE(primary_now);
  EXPECT_LE(s.replay_lsn, *primary_now);
  // The primary's position at the check, minus the replay position: no more than the gap
  // to the primary's position now (other suites may be writing to the shared stack).
  EXPECT_LE(s.lag_bytes, *primary_now - s.replay_lsn);

  EXPECT_TRUE(manager.any_in_rotation());
  const ReplicaChoice any = manager.choose();
  EXPECT_EQ(any.reason, ReplicaChoiceReason::replica);
  EXPECT_EQ(any.replica, std::optional<std::size_t>(0));
  EXPECT_EQ(manager.choose(s.replay_lsn).replica, std::optional<std::size_t>(0));
  const ReplicaChoice ahead = manager.choose(*primary_now + (1ull << 40));
  EXPECT_EQ(ahead.reason, ReplicaChoiceReason::not_caught_up);
  EXPECT_EQ(ahead.replica, std::nullopt);

  EXPECT_EQ(sample(replica_series("folio_replica_in_rotation", s.name)), 1);
  EXPECT_EQ(sample(replica_series("folio_replica_up", s.name)), 1);
  EXPECT_GT(sample(replica_series("folio_replica_rtt_seconds", s.name)), 0);
  EXPECT_GE(
      sample("folio_replica_rotation_changes_total{direction=\"in\",replica=\"" + s.name + "\"}"),
      1);
  EXPECT_EQ(sample("folio_replicas_configured"), 1);
  EXPECT_EQ(sample("folio_replicas_in_rotation"), 1);
  io.run([&] { return manager.stop(); });
}

TEST(ReplicaManager, DestroyedWhileItsLoopRunsTheLoopEndsOnItsOwn) {
  IoThread io;
  auto o = stack_options(test::load_stack_env());
  o.health.interval = 20ms;
  auto manager = std::make_unique<ReplicaManager>(io.executor(), o, make_round_robin_policy());
  io.run([&] { return manager->start(); });
  std::this_thread::sleep_for(100ms);  // a few rounds
  EXPECT_TRUE(manager->any_in_rotation());
  manager.reset();                     // without stop(): the loop keeps its state alive
  std::this_thread::sleep_for(100ms);  // and ends at its next wake-up
}

TEST(ReplicaManager, AStoppedReplicaLeavesRotationAndRejoinsAfterRestart) {
  test::OwnStack stack;
  IoThread io;
  auto o = stack_options(stack.env());
  o.health.interval = 500ms;
  o.health.rejoin_after = 3;
  ReplicaManager manager(io.executor(), o, make_round_robin_policy());
  io.run([&] { return manager.start(); });
  ASSERT_TRUE(manager.status()[0].in_rotation) << manager.status()[0].last_error;

  // A stopped replica refuses the next check at once: out within a round (500 ms).
  stack.component("stop-replica");
  const auto stopped = Clock::now();
  ASSERT_TRUE(wait_until([&] { return !manager.status()[0].in_rotation; }, 10s));
  const auto took = Clock::now() - stopped;
  EXPECT_LT(took, 3s);
  std::cout << "left rotation "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms after the replica stopped\n";
  EXPECT_FALSE(manager.any_in_rotation());
  EXPECT_EQ(manager.choose().reason, ReplicaChoiceReason::none_in_rotation);
  const ReplicaStatus down = manager.status()[0];
  EXPECT_FALSE(down.reachable);
  EXPECT_NE(down.last_error.find("health check failed"), std::string::npos) << down.last_error;
  EXPECT_EQ(sample(replica_series("folio_replica_in_rotation", down.name)), 0);
  EXPECT_EQ(sample(replica_series("folio_replica_up", down.name)), 0);
  EXPECT_GE(sample(replica_series("folio_replica_check_failures_total", down.name)), 1);

  // Back, it rejoins only after 3 healthy rounds in a row: between the first that answered
  // and the third, a second in which it is reachable but still out, saying how far along.
  stack.component("start-replica");
  bool seen_rejoining = false;
  ASSERT_TRUE(wait_until(
      [&] {
        const ReplicaStatus now = manager.status()[0];
        if (now.reachable && !now.in_rotation &&
            now.last_error.find(" of 3 healthy checks") != std::string::npos) {
          seen_rejoining = true;
        }
        return now.in_rotation;
      },
      30s))
      << manager.status()[0].last_error;
  EXPECT_TRUE(seen_rejoining) << "back in rotation without being seen rejoining";
  EXPECT_EQ(manager.choose().replica, std::optional<std::size_t>(0));
  EXPECT_EQ(manager.status()[0].last_error, "");
  EXPECT_GE(sample("folio_replica_rotation_changes_total{direction=\"out\",replica=\"" + down.name +
                   "\"}"),
            1);
  io.run([&] { return manager.stop(); });
}

TEST(ReplicaManager, PausedReplayLeavesRotationOnLagAndRejoinsAfterResume) {
  test::OwnStack stack;
  const std::string primary = stack.value("DATABASE_DIRECT_URL");
  const std::string replica = stack.value("REPLICA_DIRECT_URLS");
  IoThread io;
  auto o = stack_options(stack.env());
  o.health.interval = 1h;  // rounds run through check_now() only
  o.health.max_lag = 1000ms;
  o.health.rejoin_after = 3;
  ReplicaManager manager(io.executor(), o, make_lowest_rtt_policy());
  io.run([&] { return manager.start(); });
  ASSERT_TRUE(manager.status()[0].in_rotation) << manager.status()[0].last_error;

  sql(io, replica, "SELECT pg_wal_replay_pause()");
  sql(io, primary, "CREATE TABLE replica_lag_probe (id bigserial PRIMARY KEY, note text)");
  sql(io, primary, "INSERT INTO replica_lag_probe (note) VALUES ('first')");
  const auto written = parse_lsn(sql(io, primary, "SELECT pg_current_wal_lsn()::text"));
  ASSERT_TRUE(written);
  // Still in rotation, but it has not replayed the write: read-your-writes must not use it.
  EXPECT_EQ(manager.choose().replica, std::optional<std::size_t>(0));
  EXPECT_EQ(manager.choose(*written).reason, ReplicaChoiceReason::not_caught_up);

  bool left = false;
  for (int i = 0; i < 32 && !left; ++i) {
    sql(io, primary, "INSERT INTO replica_lag_probe (note) SELECT repeat('x', 100)");
    std::this_thread::sleep_for(250ms);
    io.run([&] { return manager.check_now(); });
    left = !manager.status()[0].in_rotation;
    if (!left) {
      EXPECT_EQ(manager.choose(*written).reason, ReplicaChoiceReason::not_caught_up);
    }
  }
  ASSERT_TRUE(left);
  const ReplicaStatus lagging = manager.status()[0];
  EXPECT_TRUE(lagging.reachable);
  EXPECT_TRUE(lagging.replay_paused);
  EXPECT_GT(lagging.lag_seconds, 1.0);
  EXPECT_GT(lagging.lag_bytes, 0u);
  EXPECT_LT(lagging.replay_lsn, *written);
  EXPECT_NE(lagging.last_error.find("lag"), std::string::npos) << lagging.last_error;
  EXPECT_EQ(manager.choose(*written).reason, ReplicaChoiceReason::none_in_rotation);
  EXPECT_GT(sample(replica_series("folio_replica_lag_seconds", lagging.name)), 1.0);

  sql(io, replica, "SELECT pg_wal_replay_resume()");
  int rounds = 0;
  while (!manager.status()[0].in_rotation && rounds < 100) {
    std::this_thread::sleep_for(100ms);
    io.run([&] { return manager.check_now(); });
    ++rounds;
  }
  EXPECT_TRUE(manager.status()[0].in_rotation) << manager.status()[0].last_error;
  EXPECT_GE(rounds, 3);  // rejoin_after
  const ReplicaStatus back = manager.status()[0];
  EXPECT_FALSE(back.replay_paused);
  EXPECT_GE(back.replay_lsn, *written);
  EXPECT_EQ(manager.choose(*written).replica, std::optional<std::size_t>(0));
  io.run([&] { return manager.stop(); });
}

TEST(ReplicaManager, ZeroReplicasIsNormal) {
  IoThread io;
  ReplicaManagerOptions o;
  o.primary_dsn = test::stack_value("DATABASE_DIRECT_URL");
  ReplicaManager manager(io.executor(), o, make_round_robin_policy());
  io.run([&] { return manager.start(); });
  io.run([&] { return manager.check_now(); });
  EXPECT_EQ(manager.size(), 0u);
  EXPECT_TRUE(manager.status().empty());
  EXPECT_FALSE(manager.any_in_rotation());
  const ReplicaChoice c = manager.choose(Lsn{1});
  EXPECT_EQ(c.reason, ReplicaChoiceReason::no_replicas);
  EXPECT_EQ(c.replica, std::nullopt);
  EXPECT_EQ(manager.choose().reason, ReplicaChoiceReason::no_replicas);
  manager.report_failure(0, "ignored: there is no replica 0");
  EXPECT_EQ(sample("folio_replicas_configured"), 0);
  EXPECT_EQ(sample("folio_replicas_in_rotation"), 0);
  io.run([&] { return manager.stop(); });
}

TEST(ReplicaManager, AReportedFailureTakesTheReplicaOutAtOnce) {
  IoThread io;
  auto o = stack_options(test::load_stack_env());
  o.health.interval = 1h;
  o.health.rejoin_after = 2;
  ReplicaManager manager(io.executor(), o, make_round_robin_policy());
  io.run([&] { return manager.start(); });
  ASSERT_TRUE(manager.any_in_rotation()) << manager.status()[0].last_error;

  manager.report_failure(7, "out of range: ignored");
  EXPECT_TRUE(manager.any_in_rotation());
  manager.report_failure(0, "server closed the connection unexpectedly");
  EXPECT_FALSE(manager.any_in_rotation());
  EXPECT_EQ(manager.choose().reason, ReplicaChoiceReason::none_in_rotation);
  const ReplicaStatus s = manager.status()[0];
  EXPECT_FALSE(s.in_rotation);
  EXPECT_EQ(s.last_error, "read failed: server closed the connection unexpectedly");
  EXPECT_EQ(sample(replica_series("folio_replica_in_rotation", s.name)), 0);

  io.run([&] { return manager.check_now(); });
  EXPECT_FALSE(manager.any_in_rotation());  // 1 of 2 healthy rounds
  EXPECT_NE(manager.status()[0].last_error.find("1 of 2"), std::string::npos)
      << manager.status()[0].last_error;
  io.run([&] { return manager.check_now(); });
  EXPECT_TRUE(manager.any_in_rotation()) << manager.status()[0].last_error;
  EXPECT_EQ(manager.choose().replica, std::optional<std::size_t>(0));
  io.run([&] { return manager.stop(); });
}

// A loopback TCP port: closed (connections refused) or listening without ever answering.
class Port {
 public:
  explicit Port(bool listen) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        (listen && ::listen(fd_, 16) != 0)) {
      throw std::runtime_error("cannot set up a test port");
    }
    port_ = ntohs(addr.sin_port);
    if (!listen) {  // free the port again: nothing listens there
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Port() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string dsn() const {
    return "postgresql://folio:s3cret@127.0.0.1:" + std::to_string(port_) + "/folio";
  }

 private:
  int fd_;
  int port_ = 0;
};

TEST(ReplicaManager, UnreachableReplicasAreReportedWithinTheCheckTimeout) {
  IoThread io;
  const Port closed(false), silent(true);
  ReplicaManagerOptions o;
  o.primary_dsn = test::stack_value("DATABASE_DIRECT_URL");
  o.replicas = parse_replica_urls(closed.dsn() + "," + silent.dsn());
  o.health.check_timeout = 300ms;
  o.health.interval = 1h;
  ReplicaManager manager(io.executor(), o, make_round_robin_policy());
  const auto started = Clock::now();
  io.run([&] { return manager.start(); });
  const auto took = Clock::now() - started;
  // The silent one holds the round until its deadline, and no longer: a round without one
  // would wait forever (libpq has no timeout here), a busy machine adds a little.
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 3000ms);
  EXPECT_FALSE(manager.any_in_rotation());
  EXPECT_EQ(manager.choose().reason, ReplicaChoiceReason::none_in_rotation);

  const auto statuses = manager.status();
  ASSERT_EQ(statuses.size(), 2u);
  for (const auto& s : statuses) {
    EXPECT_FALSE(s.reachable);
    EXPECT_FALSE(s.in_rotation);
    EXPECT_EQ(s.last_error.find("s3cret"), std::string::npos) << s.last_error;
    EXPECT_EQ(s.name.find("s3cret"), std::string::npos) << s.name;
    EXPECT_EQ(sample(replica_series("folio_replica_check_failures_total", s.name)), 1);
    EXPECT_EQ(sample(replica_series("folio_replica_up", s.name)), 0);
  }
  EXPECT_NE(statuses[0].last_error.find("health check failed: cannot connect"), std::string::npos)
      << statuses[0].last_error;
  EXPECT_NE(statuses[1].last_error.find("timed out after 300 ms"), std::string::npos)
      << statuses[1].last_error;

  const auto again = Clock::now();
  io.run([&] { return manager.check_now(); });
  EXPECT_LT(Clock::now() - again, 3000ms);
  EXPECT_EQ(sample(replica_series("folio_replica_check_failures_total", statuses[1].name)), 2);
  io.run([&] { return manager.stop(); });
}

std::string pool_series(const std::string& metric, const std::string& extra_labels = "") {
  return metric + "{pool=\"primary\"" + extra_labels + "}";
}

TEST(PoolMetrics, SumLivePoolsPerNameAndForgetDestroyedOnes) {
  install_pool_metrics();
  install_pool_metrics();  // idempotent
  const std::string dsn = test::stack_value("DATABASE_URL");
  // Counters are per process and never go down: compare with what they read before.
  const std::string opened_series = pool_series("folio_db_pool_connections_opened_total");
  const std::string dropped_series = pool_series("folio_db_pool_connections_dropped_total");
  const std::string timeouts_series = pool_series("folio_db_pool_acquire_timeouts_total");
  const double opened_before = std::max(0.0, sample(opened_series));
  const double dropped_before = std::max(0.0, sample(dropped_series));
  const double timeouts_before = std::max(0.0, sample(timeouts_series));
  test::run_async([&](asio::io_context& io) -> awaitable<void> {
    PoolOptions o;
    o.dsn = dsn;
    o.name = "primary";
    o.max_size = 3;
    Pool a(io.get_executor(), o);
    o.max_size = 4;
    auto b = std::make_unique<Pool>(io.get_executor(), o);
    auto a1 = co_await a.acquire();
    auto a2 = co_await a.acquire();
    auto b1 = co_await b->acquire();
    co_await a1->execute("SELECT 1");
    const std::string in_use = pool_series("folio_db_pool_connections", ",state=\"in_use\"");
    const std::string idle = pool_series("folio_db_pool_connections", ",state=\"idle\"");
    EXPECT_EQ(sample(in_use), 3);
    EXPECT_EQ(sample(idle), 0);
    EXPECT_EQ(sample(pool_series("folio_db_pool_max_connections")), 7);
    EXPECT_EQ(sample(pool_series("folio_db_pool_waiting")), 0);
    EXPECT_EQ(sample(opened_series), opened_before + 3);
    EXPECT_EQ(sample(dropped_series), dropped_before);
    EXPECT_EQ(sample(timeouts_series), timeouts_before);

    { auto released = std::move(a2); }
    EXPECT_EQ(sample(in_use), 2);
    EXPECT_EQ(sample(idle), 1);

    { auto released = std::move(b1); }
    b.reset();  // its numbers leave the gauges; the counters keep what it counted
    EXPECT_EQ(sample(in_use), 1);
    EXPECT_EQ(sample(idle), 1);
    EXPECT_EQ(sample(pool_series("folio_db_pool_max_connections")), 3);
    EXPECT_EQ(sample(opened_series), opened_before + 3);
  });
  // Every pool of the name is gone: the gauges read 0.
  EXPECT_EQ(sample(pool_series("folio_db_pool_connections", ",state=\"in_use\"")), 0);
  EXPECT_EQ(sample(pool_series("folio_db_pool_max_connections")), 0);
  EXPECT_EQ(sample(opened_series), opened_before + 3);
}

}  // namespace
}  // namespace folio::db
