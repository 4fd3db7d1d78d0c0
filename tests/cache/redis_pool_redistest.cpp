// RedisPool against the local stack's real Redis (TLS, requirepass): commands and pipelines,
// many more callers than connections, a connection killed server-side, the reconnect backoff
// (Redis made unreachable by stopping a forwarder in front of it), acquire timeouts, the
// start-up check refusing a wrong CA or password, and a pool shut down while calls wait.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "folio/cache/errors.hpp"
#include "folio/cache/redis_pool.hpp"
#include "support/stack_env.hpp"
#include "tcp_forwarder.hpp"

namespace folio::cache {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Body = std::function<asio::awaitable<void>(asio::any_io_executor)>;

void run(const Body& body) {
  asio::io_context io;
  auto done = asio::co_spawn(io, body(io.get_executor()), asio::use_future);
  io.run_for(120s);
  ASSERT_EQ(done.wait_for(0s), std::future_status::ready) << "the test body did not finish";
  done.get();
}

RedisConfig stack_config() {
  auto config = RedisConfig::from_url(test::stack_value("REDIS_URL"));
  config.ca_file = test::stack_value("REDIS_CA_FILE");
  return config;
}

RedisPoolOptions pool_options(std::size_t max_size = 4) {
  RedisPoolOptions options;
  options.config = stack_config();
  options.max_size = max_size;
  options.acquire_timeout = 5000ms;
  return options;
}

std::string key(std::string_view name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "folio:test:pool:" + std::string(info->name()) + ":" + std::to_string(::getpid()) + ":" +
         std::string(name);
}

long elapsed_ms(Clock::time_point start) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

TEST(RedisPoolTest, CommandsAndPipelines) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    RedisPool pool(ex, pool_options());
    const std::string k = key("k");
    EXPECT_EQ((co_await pool.command("SET", k, "v", "EX", "60")).as_string(), "OK");
    EXPECT_EQ((co_await pool.command("GET", k)).as_string(), "v");
    const std::vector<std::string> get = {"GET", k};
    EXPECT_EQ((co_await pool.command(get)).as_string(), "v");

    const std::vector<std::vector<std::string>> batch = {
        {"DEL", k}, {"INCR", k}, {"INCRBY", k, "41"}, {"LPUSH", k, "x"}, {"GET", k}};
    const auto replies = co_await pool.pipeline(batch);
    EXPECT_EQ(replies.size(), 5u);
    EXPECT_EQ(replies[1].as_integer(), 1);
    EXPECT_EQ(replies[2].as_integer(), 42);
    EXPECT_TRUE(replies[3].is_error());  // returned in place, not thrown
    EXPECT_EQ(replies[4].as_string(), "42");

    try {
      co_await pool.command("LPUSH", k, "x");
      ADD_FAILURE() << "LPUSH on a string succeeded";
    } catch (const RedisCommandError& e) {
      EXPECT_EQ(e.code(), "WRONGTYPE");
    }
    // An error reply leaves the connection in the pool: still one connection.
    EXPECT_EQ((co_await pool.command("DEL", k)).as_integer(), 1);
    EXPECT_EQ(pool.stats().size, 1u);
    EXPECT_EQ(pool.stats().idle, 1u);
    EXPECT_EQ(pool.stats().connections_opened, 1u);
  });
}

TEST(RedisPoolTest, FiftyCallersOnFourConnections) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    RedisPool pool(ex, pool_options(4));
    constexpr int kCallers = 50;
    constexpr int kCommands = 20;
    int remaining = kCallers;
    int wrong = 0;
    int failed = 0;
    std::size_t max_size_seen = 0;
    asio::steady_timer all_done(ex, Clock::time_point::max());
    // (A coroutine lambda must not capture: its closure dies before the coroutine does.)
    auto caller = [](RedisPool& pool, int c, int* wrong,
                     std::size_t* max_size_seen) -> asio::awaitable<void> {
      const std::string k = key("c" + std::to_string(c));
      for (int i = 0; i < kCommands; ++i) {
        const std::string value = std::to_string(c) + ":" + std::to_string(i);
        if (i % 2 == 0) {
          co_await pool.command("SET", k, value, "EX", "60");
          if ((co_await pool.command("GET", k)).as_string() != value) ++*wrong;
        } else {
          const std::vector<std::vector<std::string>> batch = {{"SET", k, value, "EX", "60"},
                                                               {"GET", k}};
          const auto replies = co_await pool.pipeline(batch);
          if (replies.at(1).as_string() != value) ++*wrong;
        }
        *max_size_seen = std::max(*max_size_seen, pool.stats().size);
      }
      co_await pool.command("DEL", k);
    };
    for (int c = 0; c < kCallers; ++c) {
      asio::co_spawn(ex, caller(pool, c, &wrong, &max_size_seen), [&](std::exception_ptr error) {
        if (error) ++failed;
        if (--remaining == 0) all_done.cancel();
      });
    }
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_EQ(remaining, 0);
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(wrong, 0);
    EXPECT_LE(max_size_seen, 4u);
    EXPECT_EQ(pool.stats().size, 4u);
    EXPECT_EQ(pool.stats().connections_opened, 4u);
  });
}

TEST(RedisPoolTest, KilledConnectionIsReplacedTransparently) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    RedisPool pool(ex, pool_options(1));
    const std::int64_t first = (co_await pool.command("CLIENT", "ID")).as_integer();
    auto admin = co_await RedisConnection::connect(ex, stack_config());
    const std::string id = std::to_string(first);
    EXPECT_EQ((co_await admin->command("CLIENT", "KILL", "ID", id)).as_integer(), 1);
    co_await sleep_for(50ms);  // let the server's close arrive

    const Reply pong = co_await pool.command("PING");  // no exception
    EXPECT_EQ(pong.as_string(), "PONG");
    const std::int64_t second = (co_await pool.command("CLIENT", "ID")).as_integer();
    EXPECT_NE(second, first);
    EXPECT_EQ(pool.stats().stale_retries, 1u);
    EXPECT_EQ(pool.stats().connections_opened, 2u);
    EXPECT_EQ(pool.stats().connections_dropped, 1u);
    EXPECT_EQ(pool.stats().size, 1u);
  });
}

// The backoffs are long against a busy machine's scheduling delays: every step that must
// happen inside a backoff has at least a second to spare, every step that must come after
// one is timed by a sleep that cannot end early.
TEST(RedisPoolTest, ReconnectBackoffFailsFastThenRetries) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    const auto real = stack_config();
    test::TcpForwarder forwarder(ex, real.port);  // stopped: nothing listens on its port
    auto options = pool_options(2);
    options.config.port = forwarder.port();
    options.reconnect_backoff = 1000ms;
    options.max_reconnect_backoff = 2500ms;
    RedisPool pool(ex, options);

    // First call: a real connect attempt, refused.
    try {
      co_await pool.command("PING");
      ADD_FAILURE() << "PING through a closed port succeeded";
    } catch (const RedisConnectionError& e) {
      EXPECT_THAT(e.what(), HasSubstr("connecting to 127.0.0.1:"));
      EXPECT_THAT(e.what(), Not(HasSubstr("reconnect backoff")));
    }
    EXPECT_EQ(pool.stats().connect_failures, 1u);

    // Within the backoff: fails at once, without an attempt, naming the last error. (Waiting
    // out the backoff would take a second.)
    auto start = Clock::now();
    for (int i = 0; i < 5; ++i) {
      try {
        co_await pool.command("PING");
        ADD_FAILURE() << "PING succeeded during the backoff";
      } catch (const RedisConnectionError& e) {
        EXPECT_THAT(e.what(), HasSubstr("reconnect backoff: last error: connecting to"));
      }
    }
    EXPECT_LT(elapsed_ms(start), 500);
    EXPECT_EQ(pool.stats().connect_failures, 1u);

    // After it: a new attempt (still refused), and the backoff doubles (1 s -> 2 s, within the
    // 2.5 s cap).
    co_await sleep_for(1050ms);
    EXPECT_THROW(co_await pool.command("PING"), RedisConnectionError);
    EXPECT_EQ(pool.stats().connect_failures, 2u);
    co_await sleep_for(1050ms);
    try {
      co_await pool.command("PING");
      ADD_FAILURE() << "PING succeeded during the doubled backoff";
    } catch (const RedisConnectionError& e) {
      EXPECT_THAT(e.what(), HasSubstr("reconnect backoff"));
    }
    EXPECT_EQ(pool.stats().connect_failures, 2u);

    // Redis reachable again: the first call after the backoff connects and succeeds.
    forwarder.start();
    co_await sleep_for(1000ms);  // past the 2 s backoff
    EXPECT_EQ((co_await pool.command("PING")).as_string(), "PONG");
    EXPECT_EQ(pool.stats().connections_opened, 1u);

    // It drops away again: the pooled connection is dropped and a new connect is refused; the
    // backoff restarted at 1 s (not the 2 s reached before the success).
    forwarder.stop();
    co_await sleep_for(50ms);
    EXPECT_THROW(co_await pool.command("PING"), RedisConnectionError);
    EXPECT_EQ(pool.stats().connect_failures, 3u);
    start = Clock::now();
    EXPECT_THROW(co_await pool.command("PING"), RedisConnectionError);
    EXPECT_LT(elapsed_ms(start), 500);
    EXPECT_EQ(pool.stats().connect_failures, 3u);
    co_await sleep_for(1050ms);
    EXPECT_THROW(co_await pool.command("PING"), RedisConnectionError);
    EXPECT_EQ(pool.stats().connect_failures, 4u);
    EXPECT_EQ(pool.stats().size, 0u);
  });
}

TEST(RedisPoolTest, CallsQueueBehindABusyConnectionAndShareTheNextBatch) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = pool_options(1);
    options.acquire_timeout = 100ms;
    options.config.command_timeout = 3000ms;
    RedisPool pool(ex, options);
    co_await pool.command("PING");
    bool blpop_done = false;
    auto blpop = [](RedisPool& pool, std::string k, bool* done) -> asio::awaitable<void> {
      co_await pool.command("BLPOP", k, "1");  // holds the only connection 1 s
      *done = true;
    };
    asio::co_spawn(ex, blpop(pool, key("never"), &blpop_done), asio::detached);
    co_await sleep_for(20ms);
    const auto batches_before = pool.stats().batches;
    // Three calls while the connection is busy: they wait for it and go out together.
    int answered = 0;
    auto ping = [](RedisPool& pool, int* answered) -> asio::awaitable<void> {
      if ((co_await pool.command("PING")).as_string() == "PONG") ++*answered;
    };
    asio::co_spawn(ex, ping(pool, &answered), asio::detached);
    asio::co_spawn(ex, ping(pool, &answered), asio::detached);
    const auto start = Clock::now();
    EXPECT_EQ((co_await pool.command("ECHO", "last")).as_string(), "last");
    EXPECT_TRUE(blpop_done);
    EXPECT_GE(elapsed_ms(start), 900);
    EXPECT_LT(elapsed_ms(start), 2500);
    // Their replies came in the same read as the ECHO's; their coroutines resume after it.
    for (int i = 0; i < 500 && answered < 2; ++i) co_await sleep_for(10ms);
    EXPECT_EQ(answered, 2);
    // The BLPOP's batch, then one batch for the three calls.
    EXPECT_EQ(pool.stats().batches - batches_before, 2u);
    EXPECT_EQ(pool.stats().size, 1u);
  });
}

TEST(RedisPoolTest, CheckWithWrongCaThrowsTlsError) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = pool_options();
    options.config.ca_file = test::stack_value("REDIS_WRONG_CA_FILE");
    RedisPool pool(ex, options);
    try {
      co_await pool.check();
      ADD_FAILURE() << "check() passed with an unrelated CA";
    } catch (const RedisTlsError& e) {
      EXPECT_THAT(e.what(), HasSubstr("certificate verify failed"));
    }
    // Calls during the backoff keep the type.
    EXPECT_THROW(co_await pool.command("PING"), RedisTlsError);
    EXPECT_EQ(pool.stats().size, 0u);
  });
}

TEST(RedisPoolTest, WrongPasswordThrowsAuthError) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = pool_options();
    options.config.password = "wrong-password-" + std::to_string(::getpid());
    RedisPool pool(ex, options);
    try {
      co_await pool.check();
      ADD_FAILURE() << "check() passed with a wrong password";
    } catch (const RedisAuthError& e) {
      EXPECT_THAT(e.what(), HasSubstr("WRONGPASS"));
      EXPECT_THAT(e.what(), Not(HasSubstr(options.config.password)));
    }
    try {
      co_await pool.command("PING");
      ADD_FAILURE() << "PING passed with a wrong password";
    } catch (const RedisAuthError& e) {
      EXPECT_THAT(e.what(), HasSubstr("reconnect backoff"));
    }
  });
}

TEST(RedisPoolTest, CheckKeepsTheConnection) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    RedisPool pool(ex, pool_options(2));
    co_await pool.check();
    EXPECT_EQ(pool.stats().idle, 1u);
    EXPECT_EQ((co_await pool.command("PING")).as_string(), "PONG");
    EXPECT_EQ(pool.stats().connections_opened, 1u);
  });
}

// One command on `pool`, its outcome as text: the reply, or "<exception type>: <message>".
asio::awaitable<void> command_into(RedisPool& pool, std::vector<std::string> command,
                                   std::string& outcome, int& finished) {
  try {
    const auto reply = co_await pool.command(std::span<const std::string>(command));
    outcome = reply.is_nil() ? "nil" : reply.as_string();
  } catch (const RedisPoolClosed& e) {
    outcome = std::string("RedisPoolClosed: ") + e.what();
  } catch (const std::exception& e) {
    outcome = std::string("other: ") + e.what();
  }
  ++finished;
}

// Calls waiting on a pool of one connection — one on the wire (a BLPOP holding it), the
// others queued behind it — all fail at once with RedisPoolClosed when the pool is destroyed;
// the busy connection finishes its BLPOP afterwards and just closes.
TEST(RedisPoolTest, DestroyedWhileCallsWaitEveryCallGetsRedisPoolClosed) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = pool_options(1);
    options.acquire_timeout = 5000ms;
    options.config.command_timeout = 5000ms;
    auto pool = std::make_unique<RedisPool>(ex, options);
    co_await pool->command("PING");
    const std::vector<std::string> blpop = {"BLPOP", key("never"), "1"};  // holds it 1 s
    const std::vector<std::string> ping = {"PING"};
    constexpr int kCalls = 4;
    std::vector<std::string> outcomes(kCalls + 1);
    int finished = 0;
    asio::co_spawn(ex, command_into(*pool, blpop, outcomes[0], finished), asio::detached);
    co_await sleep_for(50ms);  // the BLPOP is on the wire
    for (int i = 1; i <= kCalls; ++i) {
      asio::co_spawn(ex, command_into(*pool, ping, outcomes[i], finished), asio::detached);
    }
    co_await sleep_for(20ms);
    EXPECT_EQ(finished, 0);
    const auto start = Clock::now();
    pool.reset();
    while (finished < kCalls + 1 && elapsed_ms(start) < 30000) co_await sleep_for(5ms);
    EXPECT_LT(elapsed_ms(start), 900);  // at once, not when the BLPOP ends
    const std::string closed = "RedisPoolClosed: Redis pool for " + options.config.address() +
                               " was shut down while waiting for it";
    EXPECT_EQ(outcomes, std::vector<std::string>(kCalls + 1, closed));
    // The BLPOP's connection comes back to the destroyed pool when its second is up.
    co_await sleep_for(1500ms);
  });
}

TEST(RedisPoolTest, CloseFailsWaitingAndLaterCalls) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = pool_options(1);
    options.config.command_timeout = 5000ms;
    RedisPool pool(ex, options);
    co_await pool.command("PING");
    const std::vector<std::string> blpop = {"BLPOP", key("never"), "1"};  // holds it 1 s
    const std::vector<std::string> ping = {"PING"};
    std::vector<std::string> outcomes(3);
    int finished = 0;
    asio::co_spawn(ex, command_into(pool, blpop, outcomes[0], finished), asio::detached);
    co_await sleep_for(50ms);
    for (int i = 1; i < 3; ++i) {
      asio::co_spawn(ex, command_into(pool, ping, outcomes[i], finished), asio::detached);
    }
    co_await sleep_for(20ms);
    pool.close();
    EXPECT_TRUE(pool.closed());
    while (finished < 3) co_await sleep_for(5ms);
    const std::string prefix = "RedisPoolClosed: Redis pool for " + options.config.address();
    EXPECT_EQ(outcomes,
              std::vector<std::string>(3, prefix + " was shut down while waiting for it"));
    std::string later;
    co_await command_into(pool, ping, later, finished);
    EXPECT_EQ(later, prefix + " was shut down before this call");
    // The BLPOP's connection is closed when it comes back, not kept.
    for (int i = 0; i < 300 && pool.stats().size > 0; ++i) co_await sleep_for(10ms);
    EXPECT_EQ(pool.stats().size, 0u);
    EXPECT_EQ(pool.stats().idle, 0u);
  });
}

}  // namespace
}  // namespace folio::cache
