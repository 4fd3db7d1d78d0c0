// RedisConnection against the local stack's real Redis 7 (TLS only, requirepass): commands,
// binary data, pipelining, error replies, and every way connecting must fail loudly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "folio/cache/errors.hpp"
#include "folio/cache/redis_connection.hpp"
#include "support/stack_env.hpp"

namespace folio::cache {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
using namespace std::string_literals;
using Clock = std::chrono::steady_clock;
using Body = std::function<asio::awaitable<void>(asio::any_io_executor)>;

// Runs one test body to completion on a fresh io_context; its exceptions fail the test.
void run(const Body& body) {
  asio::io_context io;
  auto done = asio::co_spawn(io, body(io.get_executor()), asio::use_future);
  io.run();
  done.get();
}

RedisConfig stack_config() {
  auto config = RedisConfig::from_url(test::stack_value("REDIS_URL"));
  config.ca_file = test::stack_value("REDIS_CA_FILE");
  return config;
}

// A key no other test (or concurrent run) uses.
std::string key(std::string_view name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "folio:test:" + std::string(info->name()) + ":" + std::to_string(::getpid()) + ":" +
         std::string(name);
}

asio::awaitable<std::unique_ptr<RedisConnection>> connect(asio::any_io_executor ex,
                                                          const RedisConfig& config) {
  co_return co_await RedisConnection::connect(std::move(ex), config);
}

long elapsed_ms(Clock::time_point start) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

TEST(RedisConnectionTest, PingPong) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await connect(ex, stack_config());
    const Reply pong = co_await conn->command("PING");
    EXPECT_TRUE(pong.is_status());
    EXPECT_EQ(pong.as_string(), "PONG");
    EXPECT_FALSE(conn->broken());
  });
}

TEST(RedisConnectionTest, SetGetRoundTripsBinaryData) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await connect(ex, stack_config());
    const std::string k = key("bin\0\r\nkey"s);
    const std::string value = "\0\r\n$3\r\n*1\xff\x80 end\0"s;
    EXPECT_EQ((co_await conn->command("SET", k, value, "EX", "60")).as_string(), "OK");
    const Reply got = co_await conn->command("GET", k);
    EXPECT_TRUE(got.is_string());
    EXPECT_EQ(got.as_string(), value);

    // Larger than one read and one TLS record: the parser is fed many fragments.
    std::string big(3 * 1024 * 1024 + 7, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 256);
    co_await conn->command("SET", k, big, "EX", "60");
    EXPECT_EQ((co_await conn->command("GET", k)).as_string(), big);

    co_await conn->command("DEL", k);
    EXPECT_TRUE((co_await conn->command("GET", k)).is_nil());
  });
}

TEST(RedisConnectionTest, Incr) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await connect(ex, stack_config());
    const std::string k = key("n");
    co_await conn->command("DEL", k);
    EXPECT_EQ((co_await conn->command("INCR", k)).as_integer(), 1);
    EXPECT_EQ((co_await conn->command("INCR", k)).as_integer(), 2);
    const std::vector<std::string> incrby = {"INCRBY", k, "40"};
    EXPECT_EQ((co_await conn->command(incrby)).as_integer(), 42);
    co_await conn->command("DEL", k);
  });
}

TEST(RedisConnectionTest, PipelineOfHundredReturnsRepliesInOrder) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await connect(ex, stack_config());
    const std::string k = key("list");
    co_await conn->command("DEL", k);
    std::vector<std::vector<std::string>> commands;
    commands.reserve(100);
    for (int i = 0; i < 100; ++i) commands.push_back({"RPUSH", k, std::to_string(i)});
    const auto replies = co_await conn->pipeline(commands);
    EXPECT_EQ(replies.size(), 100u);
    for (std::size_t i = 0; i < replies.size(); ++i) {
      EXPECT_EQ(replies[i].as_integer(), static_cast<std::int64_t>(i + 1));
    }
    const Reply all = co_await conn->command("LRANGE", k, "0", "-1");
    EXPECT_EQ(all.elements().size(), 100u);
    EXPECT_EQ(all.elements().at(42).as_string(), "42");
    co_await conn->command("DEL", k);
    EXPECT_TRUE((co_await conn->pipeline({})).empty());
  });
}

TEST(RedisConnectionTest, PipelineReturnsErrorRepliesInPlace) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await connect(ex, stack_config());
    const std::string k = key("s");
    const std::vector<std::vector<std::string>> batch = {
        {"SET", k, "v", "EX", "60"}, {"LPUSH", k, "x"}, {"GET", k}, {"DEL", k}};
    const auto replies = co_await conn->pipeline(batch);
    EXPECT_EQ(replies.size(), 4u);
    EXPECT_EQ(replies[0].as_string(), "OK");
    EXPECT_TRUE(replies[1].is_error());
    EXPECT_THAT(replies[1].error_message(), HasSubstr("WRONGTYPE"));
    EXPECT_EQ(replies[2].as_string(), "v");
    EXPECT_EQ(replies[3].as_integer(), 1);
    EXPECT_FALSE(conn->broken());
  });
}

TEST(RedisConnectionTest, ErrorReplyThrowsAndTheConnectionStaysUsable) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await connect(ex, stack_config());
    const std::string k = key("s");
    co_await conn->command("SET", k, "v", "EX", "60");
    try {
      co_await conn->command("lpush", k, "x");
      ADD_FAILURE() << "LPUSH on a string succeeded";
    } catch (const RedisCommandError& e) {
      EXPECT_EQ(e.code(), "WRONGTYPE");
      EXPECT_THAT(e.what(), HasSubstr("LPUSH on 127.0.0.1:"));
    }
    EXPECT_THROW(co_await conn->command("NOSUCHCOMMAND"), RedisCommandError);
    EXPECT_FALSE(conn->broken());
    EXPECT_EQ((co_await conn->command("GET", k)).as_string(), "v");
    co_await conn->command("DEL", k);
  });
}

TEST(RedisConnectionTest, SelectsTheDatabase) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto config = stack_config();
    config.db = 1;
    auto db1 = co_await connect(ex, config);
    auto db0 = co_await connect(ex, stack_config());
    const std::string k = key("where");
    co_await db1->command("SET", k, "one", "EX", "60");
    EXPECT_TRUE((co_await db0->command("GET", k)).is_nil());
    EXPECT_EQ((co_await db1->command("GET", k)).as_string(), "one");
    co_await db1->command("DEL", k);

    config.db = 100000;  // beyond the server's 16 databases
    EXPECT_THROW(co_await connect(ex, config), RedisCommandError);
  });
}

TEST(RedisConnectionTest, AcceptsTheCertificateByDnsName) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto config = stack_config();
    config.server_name = "localhost";  // connect to 127.0.0.1, verify the DNS SAN
    auto conn = co_await connect(ex, config);
    EXPECT_EQ((co_await conn->command("PING")).as_string(), "PONG");
  });
}

TEST(RedisConnectionTest, WrongCaIsRefused) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto config = stack_config();
    config.ca_file = test::stack_value("REDIS_WRONG_CA_FILE");
    try {
      co_await connect(ex, config);
      ADD_FAILURE() << "connected with an unrelated CA";
    } catch (const RedisTlsError& e) {
      EXPECT_THAT(e.what(), HasSubstr("TLS handshake with 127.0.0.1:"));
      EXPECT_THAT(e.what(), HasSubstr("certificate verify failed"));
      EXPECT_THAT(e.what(), HasSubstr(config.ca_file));
    }
  });
}

TEST(RedisConnectionTest, ServerNameMismatchIsRefused) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto config = stack_config();
    config.server_name = "not-the-server.example";
    try {
      co_await connect(ex, config);
      ADD_FAILURE() << "connected although the certificate names another server";
    } catch (const RedisTlsError& e) {
      EXPECT_THAT(e.what(), HasSubstr("certificate verify failed: hostname mismatch"));
      EXPECT_THAT(e.what(), HasSubstr("not-the-server.example"));
    }
    config.server_name = "127.0.0.2";  // an IP the certificate does not list
    EXPECT_THROW(co_await connect(ex, config), RedisTlsError);
  });
}

TEST(RedisConnectionTest, WrongPasswordIsRefusedWithoutEchoingIt) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto config = stack_config();
    const std::string real = config.password;
    config.password = "wrong-password-" + std::to_string(::getpid());
    try {
      co_await connect(ex, config);
      ADD_FAILURE() << "connected with a wrong password";
    } catch (const RedisAuthError& e) {
      EXPECT_THAT(e.what(), HasSubstr("refused AUTH for user 'default'"));
      EXPECT_THAT(e.what(), HasSubstr("WRONGPASS"));
      EXPECT_THAT(e.what(), Not(HasSubstr(config.password)));
      EXPECT_THAT(e.what(), Not(HasSubstr(real)));
    }
  });
}

TEST(RedisConnectionTest, MissingPasswordIsReportedAsAuthError) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto config = stack_config();
    config.username.clear();
    config.password.clear();
    try {
      co_await connect(ex, config);
      ADD_FAILURE() << "connected without a password";
    } catch (const RedisAuthError& e) {
      EXPECT_THAT(e.what(), HasSubstr("NOAUTH"));
    }
  });
}

TEST(RedisConnectionTest, CommandTimeoutBreaksTheConnection) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto config = stack_config();
    config.command_timeout = 100ms;
    auto conn = co_await connect(ex, config);
    // The server holds back this one reply for 10 s. (Unlike CLIENT PAUSE, this stalls no
    // other client of the shared test Redis; closing the connection ends it.) The call must
    // end at its 100 ms deadline, not with the reply: far from both on a busy machine.
    const auto start = Clock::now();
    try {
      co_await conn->command("BLPOP", key("never-pushed"), "10");
      ADD_FAILURE() << "BLPOP answered within the timeout";
    } catch (const RedisConnectionError& e) {
      EXPECT_THAT(e.what(), HasSubstr("BLPOP on 127.0.0.1:"));
      EXPECT_THAT(e.what(), HasSubstr("timed out after 100 ms"));
    }
    EXPECT_GE(elapsed_ms(start), 100);
    EXPECT_LT(elapsed_ms(start), 3000);
    EXPECT_TRUE(conn->broken());
    try {
      co_await conn->command("PING");
      ADD_FAILURE() << "a broken connection was used";
    } catch (const RedisConnectionError& e) {
      EXPECT_THAT(e.what(), HasSubstr("is broken (BLPOP on"));
    }
  });
}

TEST(RedisConnectionTest, ConcurrentUseIsRefusedNotCorrupting) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto conn = co_await connect(ex, stack_config());
    try {
      co_await (conn->command("PING") && conn->command("PING"));
      ADD_FAILURE() << "two PINGs in flight at once succeeded";
    } catch (const asio::multiple_exceptions& e) {
      // `&&` cancels the first call when the second is refused; both end in this error.
      EXPECT_THROW(std::rethrow_exception(e.first_exception()), RedisConnectionError);
    }
    EXPECT_TRUE(conn->broken());
    EXPECT_THROW(co_await conn->command("PING"), RedisConnectionError);
  });
}

TEST(RedisConnectionTest, PlainTcpToTheTlsPortFailsClearly) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto config = stack_config();
    config.tls = false;
    config.connect_timeout = 30000ms;  // far above an answer on a busy machine
    const auto start = Clock::now();
    try {
      co_await connect(ex, config);
      ADD_FAILURE() << "plain TCP to a TLS port connected";
    } catch (const RedisConnectionError& e) {
      EXPECT_THAT(e.what(), HasSubstr("AUTH on 127.0.0.1:"));
      EXPECT_THAT(e.what(), HasSubstr("use a rediss:// URL"));
      EXPECT_THAT(e.what(), Not(HasSubstr(config.password)));
    }
    EXPECT_LT(elapsed_ms(start), 15000);  // an answer, not the timeout
  });
}

TEST(RedisConnectionTest, ClosedPortFailsFast) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    asio::ip::tcp::acceptor probe(ex, {asio::ip::make_address("127.0.0.1"), 0});
    auto config = stack_config();
    config.port = probe.local_endpoint().port();
    probe.close();
    try {
      co_await connect(ex, config);
      ADD_FAILURE() << "connected to a closed port";
    } catch (const RedisConnectionError& e) {
      EXPECT_THAT(e.what(), HasSubstr("connecting to 127.0.0.1:" + std::to_string(config.port)));
    }
  });
}

TEST(RedisConnectionTest, SilentServerTimesOutDuringTheHandshake) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    // The kernel completes the TCP handshake from the backlog; nobody ever answers TLS.
    asio::ip::tcp::acceptor silent(ex, {asio::ip::make_address("127.0.0.1"), 0});
    auto config = stack_config();
    config.port = silent.local_endpoint().port();
    config.connect_timeout = 200ms;
    const auto start = Clock::now();
    try {
      co_await connect(ex, config);
      ADD_FAILURE() << "connected to a silent server";
    } catch (const RedisTlsError& e) {
      ADD_FAILURE() << "a timeout is not a TLS configuration error: " << e.what();
    } catch (const RedisConnectionError& e) {
      EXPECT_THAT(e.what(), HasSubstr("TLS handshake with 127.0.0.1:" +
                                      std::to_string(config.port) + " timed out after 200 ms"));
    }
    // At its deadline: not before, and nowhere near the never of a silent server.
    EXPECT_GE(elapsed_ms(start), 200);
    EXPECT_LT(elapsed_ms(start), 3000);
  });
}

TEST(RedisConnectionTest, ConnectsFromTheUrlAlone) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    // The URL's own scheme, user, password and database; only the CA comes from elsewhere.
    auto config = RedisConfig::from_url(test::stack_value("REDIS_URL"));
    EXPECT_TRUE(config.tls);
    config.ca_file = test::stack_value("REDIS_CA_FILE");
    auto conn = co_await connect(ex, config);
    const Reply echo = co_await conn->command("ECHO", "hello");
    EXPECT_EQ(echo.as_string(), "hello");
  });
}

}  // namespace
}  // namespace folio::cache
