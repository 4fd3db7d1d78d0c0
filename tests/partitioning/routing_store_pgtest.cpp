// RoutingStore against PostgreSQL: idempotent upserts that report exactly what changed, and
// the NOTIFY every real change (and no unchanged row) sends on folio_partition_routing.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/select.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <stdexcept>

#include "folio/db/pool.hpp"
#include "folio/partitioning/routing_store.hpp"
#include "support/cutover_database.hpp"

namespace folio::partitioning {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// A plain libpq connection that LISTENs on the routing channel.
class Listener {
 public:
  explicit Listener(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_));
    PGresult* r = PQexec(conn_, ("LISTEN " + std::string(kRoutingChannel)).c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) throw std::runtime_error(PQerrorMessage(conn_));
  }
  ~Listener() { PQfinish(conn_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Payloads received until `count` arrived or `wait` passed.
  std::vector<json::object> take(std::size_t count,
                                 std::chrono::milliseconds wait = std::chrono::seconds(3)) {
    std::vector<json::object> out;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
      fd_set fds;
      FD_ZERO(&fds);
      FD_SET(PQsocket(conn_), &fds);
      timeval tv{0, 50'000};
      ::select(PQsocket(conn_) + 1, &fds, nullptr, nullptr, &tv);
      PQconsumeInput(conn_);
      while (PGnotify* n = PQnotifies(conn_)) {
        EXPECT_EQ(std::string(n->relname), kRoutingChannel);
        out.push_back(json::parse(n->extra).as_object());
        PQfreemem(n);
      }
    }
    return out;
  }

 private:
  PGconn* conn_;
};

// Runs `body(pool)` on a fresh io_context.
template <typename Body>
auto with_pool(const std::string& dsn, Body body) {
  return test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    db::Pool pool(io.get_executor(), {.dsn = dsn, .name = "test", .max_size = 2});
    co_await body(pool);
  });
}

TEST(RoutingStore, WritesAreIdempotentAndReportChanges) {
  test::CutoverDatabase db("routing_store");
  with_pool(db.dsn(), [](db::Pool& pool) -> asio::awaitable<void> {
    const auto empty = co_await RoutingStore::load(pool);
    EXPECT_FALSE(empty.fleet.has_value());
    EXPECT_TRUE(empty.pilots.empty());
    EXPECT_EQ(empty.version, 0);

    auto c = co_await RoutingStore::set_fleet(pool, Target::partitioned);
    EXPECT_EQ(c.size(), 1u);
    if (c.size() == 1) {
      EXPECT_EQ(c[0].scope, "fleet");
      EXPECT_EQ(c[0].org_id, 0);
      EXPECT_EQ(c[0].before, std::nullopt);
      EXPECT_EQ(c[0].after, Target::partitioned);
    }
    EXPECT_TRUE((co_await RoutingStore::set_fleet(pool, Target::partitioned)).empty());
    c = co_await RoutingStore::set_fleet(pool, Target::legacy);
    EXPECT_EQ(c.size(), 1u);
    if (c.size() == 1) {
      EXPECT_EQ(c[0].before, Target::partitioned);
      EXPECT_EQ(c[0].after, Target::legacy);
    }

    const std::vector<std::int64_t> orgs = {3, 1, 2, 2};
    c = co_await RoutingStore::add_pilots(pool, orgs);
    EXPECT_EQ(c.size(), 3u);
    for (std::size_t i = 0; i < c.size(); ++i) {
      EXPECT_EQ(c[i].scope, "pilot");
      EXPECT_EQ(c[i].org_id, static_cast<std::int64_t>(i + 1));  // ordered by org
      EXPECT_EQ(c[i].before, std::nullopt);
      EXPECT_EQ(c[i].after, Target::partitioned);
    }
    EXPECT_TRUE((co_await RoutingStore::add_pilots(pool, orgs)).empty());

    const std::vector<std::int64_t> to_legacy = {2, 4};
    c = co_await RoutingStore::add_pilots(pool, to_legacy, Target::legacy);
    EXPECT_EQ(c.size(), 2u);
    if (c.size() == 2) {
      EXPECT_EQ(c[0].org_id, 2);
      EXPECT_EQ(c[0].before, Target::partitioned);
      EXPECT_EQ(c[0].after, Target::legacy);
      EXPECT_EQ(c[1].org_id, 4);
      EXPECT_EQ(c[1].before, std::nullopt);
    }

    const auto snap = co_await RoutingStore::load(pool);
    EXPECT_EQ(snap.fleet, Target::legacy);
    const std::map<std::int64_t, Target> expected = {{1, Target::partitioned},
                                                     {2, Target::legacy},
                                                     {3, Target::partitioned},
                                                     {4, Target::legacy}};
    EXPECT_EQ(snap.pilots, expected);
    // 2 fleet writes + 3 + 2 pilot writes bumped the version once each.
    EXPECT_EQ(snap.version, 7);
    EXPECT_EQ(resolve(snap, 1, Target::legacy), Target::partitioned);
    EXPECT_EQ(resolve(snap, 2, Target::partitioned), Target::legacy);
    EXPECT_EQ(resolve(snap, 9, Target::partitioned), Target::legacy);

    const std::vector<std::int64_t> remove = {1, 99};
    c = co_await RoutingStore::remove_pilots(pool, remove);
    EXPECT_EQ(c.size(), 1u);
    if (c.size() == 1) {
      EXPECT_EQ(c[0].org_id, 1);
      EXPECT_EQ(c[0].before, Target::partitioned);
      EXPECT_EQ(c[0].after, std::nullopt);
    }
    EXPECT_TRUE((co_await RoutingStore::remove_pilots(pool, remove)).empty());

    c = co_await RoutingStore::clear_pilots(pool);
    EXPECT_EQ(c.size(), 3u);
    EXPECT_TRUE((co_await RoutingStore::clear_pilots(pool)).empty());
    const auto after = co_await RoutingStore::load(pool);
    EXPECT_TRUE(after.pilots.empty());
    EXPECT_EQ(after.fleet, Target::legacy);
    EXPECT_EQ(after.version, 11);

    const std::vector<std::int64_t> bad = {5, 0};
    bool threw = false;
    try {
      co_await RoutingStore::add_pilots(pool, bad);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_TRUE((co_await RoutingStore::load(pool)).pilots.empty());
  });
}

TEST(RoutingStore, NotifiesEveryChangeAndNoUnchangedRow) {
  test::CutoverDatabase db("routing_notify");
  Listener listener(db.dsn());
  const std::vector<std::int64_t> orgs = {10, 11};

  with_pool(db.dsn(), [&](db::Pool& pool) -> asio::awaitable<void> {
    co_await RoutingStore::set_fleet(pool, Target::partitioned);
  });
  auto got = listener.take(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].at("operation").as_string(), "insert");
  EXPECT_EQ(got[0].at("scope").as_string(), "fleet");
  EXPECT_EQ(got[0].at("org_id").as_int64(), 0);
  EXPECT_EQ(got[0].at("target").as_string(), "partitioned");
  EXPECT_EQ(got[0].at("version").as_int64(), 1);

  // Unchanged rows: no notification. A real change afterwards is then the next one to
  // arrive (notifications are delivered in commit order).
  with_pool(db.dsn(), [&](db::Pool& pool) -> asio::awaitable<void> {
    co_await RoutingStore::set_fleet(pool, Target::partitioned);
    co_await RoutingStore::add_pilots(pool, orgs);
    co_await RoutingStore::add_pilots(pool, orgs);
    co_await RoutingStore::set_fleet(pool, Target::partitioned);
    co_await RoutingStore::set_fleet(pool, Target::legacy);
  });
  got = listener.take(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(listener.take(1, std::chrono::milliseconds(300)).empty());
  EXPECT_EQ(got[0].at("scope").as_string(), "pilot");
  EXPECT_EQ(got[0].at("org_id").as_int64(), 10);
  EXPECT_EQ(got[1].at("org_id").as_int64(), 11);
  EXPECT_EQ(got[2].at("scope").as_string(), "fleet");
  EXPECT_EQ(got[2].at("operation").as_string(), "update");
  EXPECT_EQ(got[2].at("target").as_string(), "legacy");
  EXPECT_EQ(got[2].at("version").as_int64(), 4);

  with_pool(db.dsn(), [&](db::Pool& pool) -> asio::awaitable<void> {
    co_await RoutingStore::remove_pilots(pool, orgs);
  });
  got = listener.take(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(listener.take(1, std::chrono::milliseconds(300)).empty());
  EXPECT_EQ(got[0].at("operation").as_string(), "delete");
  EXPECT_TRUE(got[0].at("target").is_null());
  EXPECT_EQ(got[1].at("version").as_int64(), 6);
  EXPECT_EQ(test::scalar(db.dsn(), "SELECT last_value FROM partition_routing_version"), 6);
}

}  // namespace
}  // namespace folio::partitioning
