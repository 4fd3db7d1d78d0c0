// PartitioningManager against PostgreSQL: a running manager follows partition_routing
// changes within a second over LISTEN, keeps following them by polling while the LISTEN
// connection is down or killed, and counts every decision by table, target and reason.
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "folio/db/pool.hpp"
#include "folio/obs/metrics.hpp"
#include "folio/partitioning/partitioning_manager.hpp"
#include "support/cutover_database.hpp"

namespace folio::partitioning {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

asio::awaitable<void> pause(milliseconds period) {
  asio::steady_timer t(co_await asio::this_coro::executor, period);
  co_await t.async_wait(asio::use_awaitable);
}

// How long a change may take to reach a running manager, counted from its commit (the store
// call's return): the product's "within about a second", plus a second for a busy machine.
// What these tests guard against is far beyond: a lost notification waits for the 60 s
// safety poll, a dead poller forever.
constexpr milliseconds kFollowLimit{2000};

// Waits until `org`'s revenues route to `want`; returns how long that took (or `limit`).
asio::awaitable<milliseconds> time_until(PartitioningManager& mgr, std::int64_t org, Target want,
                                         Clock::time_point since,
                                         milliseconds limit = milliseconds(5000)) {
  while (Clock::now() - since < limit) {
    if (mgr.route_query(Table::revenues, org) == want) break;
    co_await pause(milliseconds(10));
  }
  co_return std::chrono::duration_cast<milliseconds>(Clock::now() - since);
}

// (g++ 12 cannot take a braced list inside a co_await expression.)
std::vector<std::int64_t> orgs(std::int64_t org) { return std::vector<std::int64_t>{org}; }

db::PoolOptions pool_options(const std::string& dsn) {
  db::PoolOptions o;
  o.dsn = dsn;
  o.max_size = 2;
  return o;
}

TEST(PartitioningManager, FollowsChangesOverListenWithinASecond) {
  test::CutoverDatabase db("pm_listen");
  obs::Registry registry;
  test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    db::Pool pool(io.get_executor(), pool_options(db.dsn()));
    PartitioningOptions options;
    options.listen_dsn = db.dsn();
    options.safety_poll_interval = milliseconds(60000);  // only LISTEN can be this fast
    options.registry = &registry;
    PartitioningManager mgr(io.get_executor(), pool, options);
    co_await mgr.start();
    for (int i = 0; i < 500 && !mgr.listening(); ++i) co_await pause(milliseconds(20));
    EXPECT_TRUE(mgr.listening());
    EXPECT_EQ(mgr.route_query(Table::revenues, 7), Target::legacy);

    co_await RoutingStore::add_pilots(pool, orgs(7));
    auto since = Clock::now();
    EXPECT_LT((co_await time_until(mgr, 7, Target::partitioned, since)).count(),
              kFollowLimit.count());
    EXPECT_EQ(mgr.route(Table::balances, 7).table_name, "balances_partitioned");
    EXPECT_EQ(mgr.route(Table::balances, 7).reason, Reason::pilot);
    EXPECT_EQ(mgr.route_query(Table::revenues, 8), Target::legacy);

    co_await RoutingStore::set_fleet(pool, Target::partitioned);
    co_await RoutingStore::add_pilots(pool, orgs(9), Target::legacy);
    since = Clock::now();
    EXPECT_LT((co_await time_until(mgr, 8, Target::partitioned, since)).count(),
              kFollowLimit.count());
    EXPECT_EQ(mgr.route(Table::expenses, 8).reason, Reason::fleet);
    EXPECT_LT((co_await time_until(mgr, 9, Target::legacy, since)).count(), kFollowLimit.count());
    EXPECT_EQ(mgr.route(Table::expenses, 9).reason, Reason::pilot);

    co_await RoutingStore::clear_pilots(pool);
    co_await RoutingStore::set_fleet(pool, Target::legacy);
    since = Clock::now();
    EXPECT_LT((co_await time_until(mgr, 7, Target::legacy, since)).count(), kFollowLimit.count());
    EXPECT_EQ(mgr.snapshot()->pilots.size(), 0u);
    co_await mgr.stop();
  });
  const std::string text = registry.expose();
  EXPECT_NE(text.find("folio_routing_listener_up 0"), std::string::npos) << text;
  EXPECT_NE(text.find("folio_routing_reloads_total{source=\"listen\"}"), std::string::npos);
}

TEST(PartitioningManager, PollsWhileTheListenConnectionIsDownAndReconnects) {
  test::CutoverDatabase db("pm_poll");
  obs::Registry registry;
  test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    db::Pool pool(io.get_executor(), pool_options(db.dsn()));
    PartitioningOptions options;
    options.listen_dsn = db.dsn() + "?application_name=folio_routing_listener_test";
    options.poll_interval = milliseconds(200);
    options.safety_poll_interval = milliseconds(60000);
    options.registry = &registry;
    PartitioningManager mgr(io.get_executor(), pool, options);
    co_await mgr.start();
    for (int i = 0; i < 500 && !mgr.listening(); ++i) co_await pause(milliseconds(20));
    EXPECT_TRUE(mgr.listening());

    // Kill the LISTEN session: the manager notices, polls, and reconnects.
    auto killed = co_await pool.query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = 'folio_routing_listener_test'");
    EXPECT_EQ(killed.scalar<std::int64_t>(), 1);
    co_await RoutingStore::add_pilots(pool, orgs(3));
    auto since = Clock::now();
    EXPECT_LT((co_await time_until(mgr, 3, Target::partitioned, since)).count(),
              kFollowLimit.count());
    for (int i = 0; i < 500 && !mgr.listening(); ++i) co_await pause(milliseconds(20));
    EXPECT_TRUE(mgr.listening()) << "the listener reconnects";
    co_await RoutingStore::remove_pilots(pool, orgs(3));
    since = Clock::now();
    EXPECT_LT((co_await time_until(mgr, 3, Target::legacy, since)).count(), kFollowLimit.count());
    co_await mgr.stop();
  });
}

TEST(PartitioningManager, PollsAloneWhenListenIsUnreachable) {
  test::CutoverDatabase db("pm_nolisten");
  obs::Registry registry;
  test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    db::Pool pool(io.get_executor(), pool_options(db.dsn()));
    PartitioningOptions options;
    options.listen_dsn = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1";
    options.poll_interval = milliseconds(300);
    options.env_default = Target::partitioned;
    options.registry = &registry;
    PartitioningManager mgr(io.get_executor(), pool, options);
    co_await mgr.start();
    EXPECT_EQ(mgr.route(Table::revenues, 5).reason, Reason::default_);
    EXPECT_EQ(mgr.route_query(Table::revenues, 5), Target::partitioned);
    co_await RoutingStore::add_pilots(pool, orgs(5), Target::legacy);
    const auto since = Clock::now();
    EXPECT_LT((co_await time_until(mgr, 5, Target::legacy, since)).count(), kFollowLimit.count());
    EXPECT_FALSE(mgr.listening());
    co_await mgr.stop();
  });
  // Counted per decision: the first route() above and the polling loop's checks.
  const std::string text = registry.expose();
  const std::string series =
      "folio_routing_decisions_total{reason=\"default\",table=\"revenues\",target=\"partitioned\"}"
      " ";
  const auto at = text.find(series);
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_GE(std::stod(text.substr(at + series.size())), 2.0);
}

}  // namespace
}  // namespace folio::partitioning
