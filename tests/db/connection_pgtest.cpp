// folio::db::Connection against the real local stack: direct and through PgBouncer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>
#include <thread>

#include "folio/db/connection.hpp"
#include "folio/db/errors.hpp"
#include "support/async.hpp"
#include "support/stack_env.hpp"

namespace folio::db {
namespace {

using asio::awaitable;
using std::chrono::milliseconds;
using test::run_async;
using test::stack_value;

awaitable<std::unique_ptr<Connection>> open(asio::io_context& io, const std::string& key) {
  co_return co_await Connection::connect(io.get_executor(), stack_value(key), milliseconds(5000));
}

TEST(Connection, QueriesDirectAndThroughPgBouncerReachThePrimary) {
  const auto primary_port = std::stoi(stack_value("PRIMARY_PORT"));
  for (const char* key : {"DATABASE_URL", "DATABASE_DIRECT_URL"}) {
    SCOPED_TRACE(key);
    const auto port = run_async([&](asio::io_context& io) -> awaitable<int> {
      auto conn = co_await open(io, key);
      const Result r = co_await conn->query("SELECT current_setting('port')::int");
      co_return r.scalar<std::int32_t>();
    });
    EXPECT_EQ(port, primary_port);
  }
}

TEST(Connection, UnnamedStatementsWorkRepeatedlyThroughPgBouncer) {
  const auto sum = run_async([](asio::io_context& io) -> awaitable<std::int64_t> {
    auto conn = co_await open(io, "DATABASE_URL");
    std::int64_t total = 0;
    for (std::int64_t i = 0; i < 200; ++i) {
      // Alternate two statement texts: named statements would collide or vanish here.
      const Result r =
          co_await conn->query(i % 2 ? "SELECT $1::bigint * 2" : "SELECT $1::bigint", i);
      total += r.scalar<std::int64_t>();
    }
    co_return total;
  });
  // sum over even i of i + sum over odd i of 2i
  std::int64_t expected = 0;
  for (std::int64_t i = 0; i < 200; ++i) expected += i % 2 ? 2 * i : i;
  EXPECT_EQ(sum, expected);
}

TEST(Connection, DecodesTypedRows) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    using namespace std::chrono;
    auto conn = co_await open(io, "DATABASE_URL");
    const Result r = co_await conn->query(
        "SELECT $1::bigint AS big, $2::int AS small, $3::text AS txt, NULL::text AS nothing,"
        " true AS yes, $4::date AS day, $5::timestamptz AS at, 2.5::float8 AS ratio,"
        " 'ab\tc'::text AS tabbed",
        std::int64_t{9'000'000'000'000}, 7, std::string("héllo"), sys_days{year{2026} / 2 / 28},
        sys_days{year{2026} / 2 / 28} + hours{23} + minutes{59} + seconds{58} + microseconds{5});
    const Row row = r.front();
    EXPECT_EQ(row.get<std::int64_t>("big"), 9'000'000'000'000);
    EXPECT_EQ(row.get<std::int32_t>("small"), 7);
    EXPECT_EQ(row.get<std::string>("txt"), "héllo");
    EXPECT_FALSE(row.get<std::optional<std::string>>("nothing").has_value());
    EXPECT_THROW(row.get<std::string>("nothing"), DecodeError);
    EXPECT_TRUE(row.get<bool>("yes"));
    EXPECT_EQ(row.get<sys_days>("day"), sys_days{year{2026} / 2 / 28});
    EXPECT_EQ(
        row.get<sys_time<microseconds>>("at"),
        sys_days{year{2026} / 2 / 28} + hours{23} + minutes{59} + seconds{58} + microseconds{5});
    EXPECT_DOUBLE_EQ(row.get<double>("ratio"), 2.5);
    EXPECT_EQ(row.get<std::string>("tabbed"), "ab\tc");
    EXPECT_THROW(row.get<std::int64_t>("txt"), DecodeError);  // type checked, not parsed
    EXPECT_THROW(row.get<std::int32_t>("big"), DecodeError);  // out of range
    EXPECT_THROW(row["missing"], DecodeError);
  });
}

TEST(Connection, ServerErrorsAreTyped) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    auto conn = co_await open(io, "DATABASE_URL");
    EXPECT_THROW(co_await conn->query("SELECT 1/0"), DataException);
    EXPECT_THROW(co_await conn->query("SELEC 1"), SyntaxOrAccessError);
    EXPECT_THROW(co_await conn->query("SELECT * FROM no_such_table_xyz"), UndefinedTable);
    // After errors the connection is still usable.
    const Result r = co_await conn->query("SELECT 41 + 1");
    EXPECT_EQ(r.scalar<std::int32_t>(), 42);
    EXPECT_FALSE(conn->broken());
  });
}

TEST(Connection, UniqueViolationCarriesSqlstate) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    auto conn = co_await open(io, "DATABASE_DIRECT_URL");
    co_await conn->execute_script(
        "CREATE TEMP TABLE u (id int PRIMARY KEY); INSERT INTO u VALUES (1)");
    try {
      co_await conn->query("INSERT INTO u VALUES ($1)", 1);
      ADD_FAILURE() << "no exception";
    } catch (const UniqueViolation& e) {
      EXPECT_EQ(e.sqlstate(), "23505");
    }
  });
}

// Which constraint failed comes from the server's error fields, not from the message (whose
// wording follows lc_messages): a CHECK names its constraint, a partition bound names none.
TEST(Connection, IntegrityErrorsNameTheirConstraint) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    auto conn = co_await open(io, "DATABASE_DIRECT_URL");
    co_await conn->execute_script(
        "CREATE TEMP TABLE c (id int PRIMARY KEY, n int CONSTRAINT c_n_positive CHECK (n > 0));"
        "INSERT INTO c VALUES (1, 1);"
        "CREATE TEMP TABLE p (n int) PARTITION BY RANGE (n);"
        "CREATE TEMP TABLE p_low PARTITION OF p FOR VALUES FROM (0) TO (10)");
    try {
      co_await conn->query("INSERT INTO c VALUES (2, -1)");
      ADD_FAILURE() << "no exception";
    } catch (const CheckViolation& e) {
      EXPECT_EQ(e.constraint_name(), "c_n_positive");
    }
    try {
      co_await conn->query("INSERT INTO c VALUES (1, 2)");
      ADD_FAILURE() << "no exception";
    } catch (const UniqueViolation& e) {
      EXPECT_EQ(e.constraint_name(), "c_pkey");
    }
    try {
      co_await conn->query("INSERT INTO p_low VALUES (20)");
      ADD_FAILURE() << "no exception";
    } catch (const CheckViolation& e) {
      EXPECT_EQ(e.constraint_name(), "");
    }
    // Errors that are no constraint's carry none.
    try {
      co_await conn->query("SELECT 1/0");
      ADD_FAILURE() << "no exception";
    } catch (const DataException& e) {
      EXPECT_EQ(e.constraint_name(), "");
    }
  });
}

TEST(Connection, WrongPasswordIsAConnectionErrorWithoutThePassword) {
  std::string url = stack_value("DATABASE_DIRECT_URL");
  const auto colon = url.find(':', url.find("://") + 3);
  const auto at = url.find('@');
  url.replace(colon + 1, at - colon - 1, "definitely-wrong-pw");
  try {
    run_async([&](asio::io_context& io) -> awaitable<void> {
      co_await Connection::connect(io.get_executor(), url, milliseconds(5000));
    });
    ADD_FAILURE() << "connected with a wrong password";
  } catch (const ConnectionError& e) {
    EXPECT_EQ(std::string(e.what()).find("definitely-wrong-pw"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("password authentication failed"), std::string::npos)
        << e.what();
  }
}

TEST(Connection, UnreachableServerTimesOutOrIsRefused) {
  EXPECT_THROW(run_async([](asio::io_context& io) -> awaitable<void> {
                 // Port 1 on loopback: nothing listens there.
                 co_await Connection::connect(io.get_executor(), "postgresql://u:p@127.0.0.1:1/d",
                                              milliseconds(2000));
               }),
               ConnectionError);
}

TEST(Connection, PipelineRunsABatchAsOneImplicitTransaction) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    auto direct = co_await open(io, "DATABASE_DIRECT_URL");
    co_await direct->execute_script(
        "DROP TABLE IF EXISTS pipeline_t; CREATE TABLE pipeline_t (id int PRIMARY KEY)");
    auto conn = co_await open(io, "DATABASE_URL");
    std::vector<Statement> ok;
    for (int i = 1; i <= 3; ++i)
      ok.push_back({"INSERT INTO pipeline_t VALUES ($1)", Params::of(i)});
    ok.push_back({"SELECT count(*) FROM pipeline_t", {}});
    const auto results = co_await conn->pipeline(ok);
    EXPECT_EQ(results.size(), 4u);
    if (results.size() != 4u) co_return;
    EXPECT_EQ(results[0].affected_rows(), 1);
    EXPECT_EQ(results[3].scalar<std::int64_t>(), 3);

    // The duplicate key fails the batch: the first insert of it is not kept either.
    std::vector<Statement> bad = {{"INSERT INTO pipeline_t VALUES ($1)", Params::of(10)},
                                  {"INSERT INTO pipeline_t VALUES ($1)", Params::of(1)},
                                  {"INSERT INTO pipeline_t VALUES ($1)", Params::of(11)}};
    EXPECT_THROW(co_await conn->pipeline(bad), UniqueViolation);
    const Result after = co_await conn->query("SELECT count(*) FROM pipeline_t");
    EXPECT_EQ(after.scalar<std::int64_t>(), 3);
    co_await direct->execute_script("DROP TABLE pipeline_t");
  });
}

TEST(Connection, CopiesOneMillionRows) {
  constexpr std::int64_t kRows = 1'000'000;
  run_async([&](asio::io_context& io) -> awaitable<void> {
    auto direct = co_await open(io, "DATABASE_DIRECT_URL");
    co_await direct->execute_script(
        "DROP TABLE IF EXISTS copy_t; CREATE TABLE copy_t (id bigint, label text, note text)");
    auto conn = co_await open(io, "DATABASE_URL");
    auto copy = co_await conn->copy_in("COPY copy_t (id, label, note) FROM STDIN");
    std::string chunk;
    for (std::int64_t i = 1; i <= kRows; ++i) {
      chunk += std::to_string(i);
      chunk += "\trow ";
      chunk += std::to_string(i);
      chunk += i % 10 == 0 ? "\t\\N\n" : "\ttab\\there\n";
      if (chunk.size() > (256 << 10)) {
        co_await copy.write(chunk);
        chunk.clear();
      }
    }
    co_await copy.write(chunk);
    EXPECT_EQ(co_await copy.finish(), kRows);
    const Result r =
        co_await conn->query("SELECT count(*), sum(id), count(note), min(note) FROM copy_t");
    EXPECT_EQ(r[0].get<std::int64_t>(0), kRows);
    EXPECT_EQ(r[0].get<double>(1), static_cast<double>(kRows * (kRows + 1) / 2));
    EXPECT_EQ(r[0].get<std::int64_t>(2), kRows - kRows / 10);
    EXPECT_EQ(r[0].get<std::string>(3), "tab\there");
    co_await direct->execute_script("DROP TABLE copy_t");
  });
}

TEST(Connection, FailedCopyReportsTheBadRowAndKeepsNothing) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    auto conn = co_await open(io, "DATABASE_DIRECT_URL");
    co_await conn->execute_script("CREATE TEMP TABLE c (id int NOT NULL)");
    auto copy = co_await conn->copy_in("COPY c (id) FROM STDIN");
    co_await copy.write("1\n2\nnot-a-number\n");
    EXPECT_THROW(co_await copy.finish(), DataException);
    const Result r = co_await conn->query("SELECT count(*) FROM c");
    EXPECT_EQ(r.scalar<std::int64_t>(), 0);
    // Aborting on purpose keeps nothing either and leaves the connection usable.
    auto again = co_await conn->copy_in("COPY c (id) FROM STDIN");
    co_await again.write("5\n");
    co_await again.abort("changed my mind");
    const Result r2 = co_await conn->query("SELECT count(*) FROM c");
    EXPECT_EQ(r2.scalar<std::int64_t>(), 0);
  });
}

TEST(Connection, LargeResultArrivingWhileTheThreadIsBusyIsReadCompletely) {
  // The whole result lands in the socket buffer while the I/O thread is blocked: more than
  // one PQconsumeInput reads, behind fewer readiness edges than reads.
  const auto rows = run_async(
      [](asio::io_context& io) -> awaitable<std::size_t> {
        auto conn = co_await open(io, "DATABASE_DIRECT_URL");
        asio::post(io, [] { std::this_thread::sleep_for(std::chrono::milliseconds(300)); });
        const Result r =
            co_await conn->query("SELECT repeat('x', 1000) || g FROM generate_series(1, 120) g");
        co_return r.size();
      },
      std::chrono::seconds(30));
  EXPECT_EQ(rows, 120u);
}

TEST(Connection, CopyToStdoutThroughExecuteFailsInsteadOfSpinning) {
  run_async(
      [](asio::io_context& io) -> awaitable<void> {
        auto conn = co_await open(io, "DATABASE_DIRECT_URL");
        EXPECT_THROW(co_await conn->execute("COPY (SELECT 1) TO STDOUT"), ProtocolError);
        EXPECT_THROW(co_await conn->copy_in("COPY (SELECT 1) TO STDOUT"), ProtocolError);
      },
      std::chrono::seconds(30));
}

// A statement past the client-side deadline: the caller hears of it at the deadline, the
// statement is cancelled on the server (directly and through PgBouncer, which forwards the
// cancel to the server connection running it), and the connection is marked broken so a
// pool never hands it out again. Statements within the deadline are untouched.
TEST(Connection, DeadlineCancelsTheStatementOnTheServer) {
  for (const char* key : {"DATABASE_DIRECT_URL", "DATABASE_URL"}) {
    SCOPED_TRACE(key);
    const std::string tag = "deadline_probe_" + std::to_string(::getpid()) + "_" + key;
    run_async([&](asio::io_context& io) -> awaitable<void> {
      auto conn = co_await open(io, key);
      conn->set_operation_timeout(milliseconds(500));
      EXPECT_EQ((co_await conn->query("SELECT 1")).scalar<std::int32_t>(), 1);
      const auto start = std::chrono::steady_clock::now();
      bool exceeded = false;
      try {
        co_await conn->execute("SELECT pg_sleep(30), '" + tag + "'");
      } catch (const DeadlineExceeded&) {
        exceeded = true;
      }
      const auto took = std::chrono::steady_clock::now() - start;
      EXPECT_TRUE(exceeded);
      EXPECT_GE(took, milliseconds(450));
      EXPECT_LT(took, std::chrono::seconds(10));  // far below the 30 s the statement asked for
      EXPECT_TRUE(conn->broken());

      // The server stops running it: the cancel arrives within seconds, not after 30.
      auto observer = co_await open(io, "DATABASE_DIRECT_URL");
      std::int64_t running = 1;
      for (int i = 0; i < 100 && running > 0; ++i) {
        running = (co_await observer->query(
                       "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                       "AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()",
                       tag))
                      .scalar<std::int64_t>();
        if (running > 0) {
          asio::steady_timer pause(io, milliseconds(100));
          co_await pause.async_wait(asio::use_awaitable);
        }
      }
      EXPECT_EQ(running, 0);
    });
  }
}

TEST(Connection, RejectedPipelineLeavesTheConnectionUsable) {
  run_async([](asio::io_context& io) -> awaitable<void> {
    auto conn = co_await open(io, "DATABASE_URL");
    Params many;
    for (int i = 0; i < 70000; ++i) many.add(i);
    std::vector<Statement> batch = {{"SELECT 1", {}}, {"SELECT 2", std::move(many)}};
    EXPECT_THROW(co_await conn->pipeline(batch), ProtocolError);
    EXPECT_FALSE(conn->broken());
    const Result r = co_await conn->query("SELECT 5");
    EXPECT_EQ(r.scalar<std::int32_t>(), 5);
  });
}

}  // namespace
}  // namespace folio::db
