// The cutover under fire (SPEC §2 invariants): writers insert, update (amounts and months),
// delete and upsert balances — through legacy before the backfill, then through whichever
// side routing says (and sometimes the other one, like a server with stale routing) — while
// sync-on, backfill, verify, pilot, cutover, rollback and cutover again run. Afterwards both
// sides are identical by plain SQL EXCEPT, equal to what the writers' own logs predict, no
// deleted row exists anywhere, and verify is clean.
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <random>
#include <set>

#include "folio/cutover/backfill.hpp"
#include "folio/cutover/schema.hpp"
#include "folio/cutover/switchover.hpp"
#include "folio/cutover/sync.hpp"
#include "folio/cutover/sync_failure.hpp"
#include "folio/cutover/verify.hpp"
#include "folio/db/errors.hpp"
#include "folio/partitioning/routing_store.hpp"
#include "support/cutover_database.hpp"

namespace folio::cutover {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using partitioning::RoutingSnapshot;
using partitioning::RoutingStore;
using partitioning::Target;

constexpr int kWriters = 4;
constexpr std::int64_t kOrgs = 40;
// Organizations no writer owns: every writer adds to their balances (commutative, so the
// expected sum does not depend on commit order), through both sides at once, which makes
// the deadlocks of CUTOVER_PITFALLS §2 and §6 happen.
constexpr std::int64_t kHotOrg = 41;
constexpr int kHotOrgs = 3;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

struct RowModel {
  std::string table;
  std::int64_t org = 0;
  std::int64_t amount = 0;
  std::int64_t epoch = 0;  // occurred_at, whole seconds
  bool operator==(const RowModel&) const = default;
};
struct BalanceModel {
  std::int64_t revenue = 0;
  std::int64_t expense = 0;
  bool operator==(const BalanceModel&) const = default;
};
using Rows = std::map<std::int64_t, RowModel>;
using Balances = std::map<std::pair<std::int64_t, std::string>, BalanceModel>;

enum class Mode { legacy_only, routed, stop };

struct Shared {
  Mode mode = Mode::legacy_only;
  RoutingSnapshot routing;
  std::int64_t commits = 0;
  std::int64_t retries = 0;
  std::int64_t partitioned_writes = 0;
  std::vector<std::string> unexpected;  // errors and "0 rows" surprises
  Balances hot;                         // expected balances of the hot organizations
};

// Everything the writers can see of the database, for their own organizations.
asio::awaitable<std::pair<Rows, Balances>> load_state(db::Connection& c, int writer) {
  Rows rows;
  Balances balances;
  co_await c.execute_script("SET TimeZone = 'UTC'");
  for (const std::string table : {"revenues", "expenses"}) {
    auto r = co_await c.query(
        "SELECT id, org_id, amount_cents, extract(epoch FROM "
        "occurred_at)::bigint FROM " +
            table + " WHERE org_id % $1 = $2",
        std::int64_t{kWriters}, std::int64_t{writer});
    for (const auto& row : r) {
      rows[row.get<std::int64_t>(0)] = {table, row.get<std::int64_t>(1), row.get<std::int64_t>(2),
                                        row.get<std::int64_t>(3)};
    }
  }
  auto b = co_await c.query(
      "SELECT org_id, balance_date::text, revenue_cents, expense_cents FROM balances WHERE "
      "org_id % $1 = $2 AND org_id < $3",
      std::int64_t{kWriters}, std::int64_t{writer}, kHotOrg);
  for (const auto& row : b) {
    balances[{row.get<std::int64_t>(0), row.get<std::string>(1)}] = {row.get<std::int64_t>(2),
                                                                     row.get<std::int64_t>(3)};
  }
  co_return std::make_pair(std::move(rows), std::move(balances));
}

struct Writer {
  int index;
  std::string dsn;
  Shared& shared;
  db::Pool& pool;  // for reporting sync failures
  Rows rows;
  Balances balances;
  std::set<std::int64_t> deleted;
  std::map<std::int64_t, std::string> history;  // committed operations per id, for failures

  asio::awaitable<void> run() {
    std::mt19937_64 rng(1000 + index);
    auto c = co_await db::Connection::connect(co_await asio::this_coro::executor, dsn, 5s);
    std::tie(rows, balances) = co_await load_state(*c, index);
    std::vector<std::int64_t> orgs;
    for (std::int64_t o = 1; o <= kOrgs; ++o) {
      if (o % kWriters == index) orgs.push_back(o);
    }
    while (shared.mode != Mode::stop) {
      co_await step(*c, rng, orgs);
      if (rng() % 4 == 0) co_await sleep_for(1ms);
    }
  }

  std::string side_table(std::string_view table, std::int64_t org, std::mt19937_64& rng) {
    bool partitioned = false;
    if (shared.mode == Mode::routed) {
      partitioned =
          partitioning::resolve(shared.routing, org, Target::legacy) == Target::partitioned;
      if (rng() % 5 == 0) partitioned = !partitioned;  // a server with stale routing
    }
    if (partitioned) ++shared.partitioned_writes;
    return std::string(table) + (partitioned ? "_partitioned" : "");
  }

  static std::string timestamp(std::int64_t epoch) {
    const std::chrono::sys_seconds t{std::chrono::seconds(epoch)};
    return fmt::format("{:%Y-%m-%d %H:%M:%S}+00", t);
  }
  static std::string day_of(std::int64_t epoch) {
    const std::chrono::sys_seconds t{std::chrono::seconds(epoch)};
    return fmt::format("{:%Y-%m-%d}", t);
  }
  std::int64_t random_epoch(std::mt19937_64& rng) {
    // May .. December 2026: months with partitions on both sides.
    const auto day = std::chrono::sys_days{std::chrono::year{2026} / std::chrono::May / 1} +
                     std::chrono::days(rng() % 240);
    return std::chrono::sys_seconds(day).time_since_epoch().count() +
           static_cast<std::int64_t>(rng() % 86400);
  }

  // One transaction; retried on deadlocks and serialization failures, which are normal
  // while both sides are written. The model changes only after COMMIT succeeds.
  asio::awaitable<void> step(db::Connection& c, std::mt19937_64& rng,
                             const std::vector<std::int64_t>& orgs) {
    const int kind = static_cast<int>(rng() % 10);
    const std::int64_t org = orgs[rng() % orgs.size()];
    std::vector<std::int64_t> own;
    for (const auto& [id, row] : rows) {
      if (row.org == org) own.push_back(id);
    }
    for (int attempt = 0; attempt < 100; ++attempt) {
      Rows rows_after = rows;
      Balances balances_after = balances;
      std::optional<std::int64_t> deleted_id;
      std::pair<std::int64_t, std::string> hot_key;
      std::int64_t traced_id = 0;
      std::string trace;
      std::int64_t hot_amount = 0;
      std::exception_ptr error;
      bool retry = false;
      try {
        co_await c.execute("BEGIN");
        if (kind < 4 || own.empty()) {  // insert + that day's balance, like the repository
          const std::string table = rng() % 2 ? "revenues" : "expenses";
          const std::int64_t id =
              (co_await c.execute("SELECT nextval('folio_id_seq')")).scalar<std::int64_t>();
          const std::int64_t amount = 1 + static_cast<std::int64_t>(rng() % 100000);
          const std::int64_t epoch = random_epoch(rng);
          const std::string target = side_table(table, org, rng);
          traced_id = id;
          trace = "insert via " + target + " at " + timestamp(epoch);
          co_await c.query("INSERT INTO " + target +
                               " (id, org_id, category, amount_cents, currency, occurred_at) "
                               "VALUES ($1, $2, 'other', $3, 'EUR', $4::timestamptz)",
                           id, org, amount, timestamp(epoch));
          const bool revenue = table == "revenues";
          co_await c.query(
              "INSERT INTO " + side_table("balances", org, rng) +
                  " AS b (org_id, balance_date, revenue_cents, expense_cents, "
                  "net_cents) VALUES ($1, $2::date, $3, $4, $3::bigint - $4::bigint) ON CONFLICT "
                  "(org_id, balance_date) DO UPDATE SET revenue_cents = "
                  "b.revenue_cents + $3, expense_cents = b.expense_cents + $4, "
                  "net_cents = b.net_cents + $3::bigint - $4::bigint, updated_at = now()",
              org, day_of(epoch), revenue ? amount : 0, revenue ? 0 : amount);
          rows_after[id] = {table, org, amount, epoch};
          auto& bal = balances_after[{org, day_of(epoch)}];
          (revenue ? bal.revenue : bal.expense) += amount;
        } else if (kind < 7) {  // update the amount, and sometimes the month
          const std::int64_t id = own[rng() % own.size()];
          RowModel row = rows.at(id);
          row.amount = static_cast<std::int64_t>(rng() % 100000);
          if (rng() % 3 == 0) row.epoch = random_epoch(rng);
          const std::string target = side_table(row.table, org, rng);
          traced_id = id;
          trace = "update via " + target + " to " + timestamp(row.epoch);
          auto r = co_await c.query("UPDATE " + target +
                                        " SET amount_cents = $2, occurred_at = $3::timestamptz, "
                                        "updated_at = now() WHERE id = $1",
                                    id, row.amount, timestamp(row.epoch));
          if (r.affected_rows() != 1)
            shared.unexpected.push_back(fmt::format("update {}: 0 rows", id));
          rows_after[id] = row;
        } else if (kind < 8) {  // delete
          const std::int64_t id = own[rng() % own.size()];
          const std::string target = side_table(rows.at(id).table, org, rng);
          traced_id = id;
          trace = "delete via " + target;
          auto r = co_await c.query("DELETE FROM " + target + " WHERE id = $1", id);
          if (r.affected_rows() != 1)
            shared.unexpected.push_back(fmt::format("delete {}: 0 rows", id));
          rows_after.erase(id);
          deleted_id = id;
        } else if (kind < 9 && shared.mode == Mode::routed) {  // add to a hot balance
          const std::int64_t hot = kHotOrg + static_cast<std::int64_t>(rng() % kHotOrgs);
          const std::string day = fmt::format("2026-10-0{}", 1 + rng() % 3);
          const std::int64_t amount = 1 + static_cast<std::int64_t>(rng() % 1000);
          const std::string table = rng() % 2 ? "balances" : "balances_partitioned";
          co_await c.query("INSERT INTO " + table +
                               " AS b (org_id, balance_date, revenue_cents, expense_cents, "
                               "net_cents) VALUES ($1, $2::date, $3, 0, $3) ON CONFLICT "
                               "(org_id, balance_date) DO UPDATE SET revenue_cents = "
                               "b.revenue_cents + $3, net_cents = b.net_cents + $3",
                           hot, day, amount);
          hot_key = {hot, day};
          hot_amount = amount;
        } else {  // set a balance to absolute values
          const std::string day = day_of(random_epoch(rng));
          const BalanceModel v{static_cast<std::int64_t>(rng() % 50000),
                               static_cast<std::int64_t>(rng() % 50000)};
          co_await c.query(
              "INSERT INTO " + side_table("balances", org, rng) +
                  " AS b (org_id, balance_date, revenue_cents, expense_cents, "
                  "net_cents) VALUES ($1, $2::date, $3, $4, $3::bigint - $4::bigint) ON CONFLICT "
                  "(org_id, balance_date) DO UPDATE SET revenue_cents = $3, "
                  "expense_cents = $4, net_cents = $3::bigint - $4::bigint",
              org, day, v.revenue, v.expense);
          balances_after[{org, day}] = v;
        }
        co_await c.execute("COMMIT");
        rows = std::move(rows_after);
        balances = std::move(balances_after);
        if (deleted_id) deleted.insert(*deleted_id);
        if (hot_amount > 0) shared.hot[hot_key].revenue += hot_amount;
        if (traced_id != 0) {
          history[traced_id] += fmt::format("[{} mode {}] {}; ", shared.commits,
                                            static_cast<int>(shared.mode), trace);
        }
        ++shared.commits;
        co_return;
      } catch (const db::TransactionRollback&) {
        retry = true;
      } catch (const std::exception& e) {
        error = std::current_exception();
        shared.unexpected.push_back(e.what());
      }
      if (!c.broken()) co_await c.execute("ROLLBACK");
      if (error) {
        co_await report_if_sync_failure(pool, error);
        co_return;
      }
      if (retry) ++shared.retries;
    }
    shared.unexpected.push_back("an operation kept failing after 100 attempts");
  }
};

// Lets the writers work through one phase: at least `min`, and until they have committed
// `commits` more transactions, `partitioned` of them through the partitioned side (at most
// 30 s). On a busy machine a phase stretches instead of carrying fewer writes.
asio::awaitable<void> phase(const Shared& shared, std::chrono::milliseconds min,
                            std::int64_t commits, std::int64_t partitioned = 0) {
  const std::int64_t commits_from = shared.commits;
  const std::int64_t partitioned_from = shared.partitioned_writes;
  co_await sleep_for(min);
  for (int i = 0; i < 1500; ++i) {
    if (shared.commits >= commits_from + commits &&
        shared.partitioned_writes >= partitioned_from + partitioned) {
      break;
    }
    co_await sleep_for(20ms);
  }
}

TEST(Torture, ConcurrentWritersThroughEveryPhaseLeaveIdenticalSides) {
  test::CutoverDatabase db("torture", kOrgs, 12, 6);
  Shared shared;
  std::vector<std::unique_ptr<Writer>> writers;
  bool verify_clean_live = false;
  bool verify_clean_end = false;
  std::int64_t backfilled = 0;

  test::run_async(
      [&](asio::io_context& io) -> asio::awaitable<void> {
        const auto ex = io.get_executor();
        db::Pool pool(ex, {.dsn = db.dsn(), .max_size = 6});
        co_await prepare(pool, {});
        int running = 0;
        for (int w = 0; w < kWriters; ++w) {
          writers.push_back(std::make_unique<Writer>(Writer{w, db.dsn(), shared, pool}));
          ++running;
          asio::co_spawn(ex, writers.back()->run(), [&](std::exception_ptr e) {
            --running;
            if (e) shared.unexpected.push_back("a writer died");
          });
        }
        // Routing as a server sees it: refreshed every 50 ms.
        ++running;
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
              while (shared.mode != Mode::stop) {
                shared.routing = co_await RoutingStore::load(pool);
                co_await sleep_for(50ms);
              }
            },
            [&](std::exception_ptr e) {
              --running;
              if (e) shared.unexpected.push_back("the routing poller died");
            });
        // Whatever happens, the writers and the poller stop before the pool goes away.
        std::exception_ptr failure;
        try {
          co_await phase(shared, 300ms, 50);

          // Writers' transactions in flight must end within the lock_timeout for an attempt
          // to pass: 1 s covers a busy machine (each attempt makes writers wait at most that).
          LockRetryOptions locks;
          locks.lock_timeout = 1000ms;
          locks.attempts = 20;
          locks.backoff = 50ms;
          EXPECT_EQ(co_await sync_on(pool, locks), 3);
          co_await phase(shared, 200ms, 25);

          BackfillOptions backfill_options;
          backfill_options.workers = 2;
          backfill_options.batch_size = 40;
          const auto copied = co_await backfill(pool, backfill_options);
          backfilled = copied.rows_copied();

          shared.mode = Mode::routed;
          co_await phase(shared, 300ms, 50);
          // Recorded, so the verification gate of the pilot and the cutover opens.
          verify_clean_live = (co_await verify_phase(pool, {}, StatsLevel::none)).report.clean;

          const std::vector<std::int64_t> pilots = {1, 2, 3, 5, 8, 13, 21, 34};
          co_await pilot_add(pool, pilots, StatsLevel::none);
          co_await phase(shared, 700ms, 100, 10);
          co_await cut_over(pool, StatsLevel::none);
          co_await phase(shared, 700ms, 100, 30);
          co_await rollback(pool, StatsLevel::none);
          co_await phase(shared, 700ms, 100, 10);
          co_await cut_over(pool, StatsLevel::none);
          co_await phase(shared, 700ms, 100, 30);

        } catch (const std::exception& e) {
          failure = std::current_exception();
          shared.unexpected.push_back(std::string("the phases failed: ") + e.what());
        }
        shared.mode = Mode::stop;
        while (running > 0) co_await sleep_for(20ms);
        if (!failure) verify_clean_end = (co_await verify(pool, {})).clean;
      },
      std::chrono::seconds(300));

  for (const auto& u : shared.unexpected) ADD_FAILURE() << u;
  EXPECT_GT(shared.commits, 500);
  EXPECT_GT(shared.partitioned_writes, 50);
  EXPECT_GT(backfilled, 0);
  EXPECT_TRUE(verify_clean_live);
  EXPECT_TRUE(verify_clean_end);

  // Identical sides, by plain SQL.
  for (const char* t : {"revenues", "expenses", "balances"}) {
    EXPECT_EQ(test::side_differences(db.dsn(), t), 0) << t;
  }
  // Equal to what the writers' logs predict, and no deleted row anywhere.
  test::run_async([&](asio::io_context& io) -> asio::awaitable<void> {
    auto c = co_await db::Connection::connect(io.get_executor(), db.dsn(), 5s);
    Balances hot;
    auto r = co_await c->query(
        "SELECT org_id, balance_date::text, revenue_cents, expense_cents "
        "FROM balances WHERE org_id >= $1",
        kHotOrg);
    for (const auto& row : r) {
      hot[{row.get<std::int64_t>(0), row.get<std::string>(1)}] = {row.get<std::int64_t>(2),
                                                                  row.get<std::int64_t>(3)};
    }
    EXPECT_FALSE(shared.hot.empty());
    EXPECT_TRUE(hot == shared.hot) << "hot balances differ from the writers' sums";
    for (const auto& w : writers) {
      const auto [rows, balances] = co_await load_state(*c, w->index);
      EXPECT_EQ(rows.size(), w->rows.size()) << "writer " << w->index;
      EXPECT_TRUE(rows == w->rows) << "writer " << w->index << ": rows differ from the log";
      EXPECT_TRUE(balances == w->balances) << "writer " << w->index << ": balances differ";
      for (const auto id : w->deleted) {
        const auto found =
            (co_await c->query("SELECT (SELECT count(*) FROM revenues WHERE id = "
                               "$1) * 1000 + (SELECT count(*) FROM revenues_partitioned "
                               "WHERE id = $1) * 100 + (SELECT count(*) FROM expenses "
                               "WHERE id = $1) * 10 + (SELECT count(*) FROM "
                               "expenses_partitioned WHERE id = $1)",
                               id))
                .scalar<std::int64_t>();
        EXPECT_EQ(found, 0) << "deleted id " << id
                            << " came back (revenues, partitioned, expenses, partitioned "
                               "digits); history: "
                            << w->history[id];
      }
    }
  });
  std::printf(
      "torture: %lld commits, %lld retried, %lld writes through partitioned, %lld rows "
      "backfilled\n",
      static_cast<long long>(shared.commits), static_cast<long long>(shared.retries),
      static_cast<long long>(shared.partitioned_writes), static_cast<long long>(backfilled));
}

}  // namespace
}  // namespace folio::cutover
