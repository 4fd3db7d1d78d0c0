// CacheService against the local stack's real Redis: hits and misses, version bumps, the
// stale-refill race, single-flight, write positions, fail-open when Redis is unreachable or
// the breaker is open, and the replay of invalidations that failed during an outage (Redis
// made unreachable by stopping a forwarder in front of it, so its data survives, and by
// restarting a private stack's Redis).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "folio/cache/cache_service.hpp"
#include "folio/cache/errors.hpp"
#include "folio/obs/metrics.hpp"
#include "support/own_stack.hpp"
#include "support/stack_env.hpp"
#include "tcp_forwarder.hpp"

namespace folio::cache {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Body = std::function<asio::awaitable<void>(asio::any_io_executor)>;
using Compute = CacheService::Compute;

void run(const Body& body) {
  asio::io_context io;
  auto done = asio::co_spawn(io, body(io.get_executor()), asio::use_future);
  io.run_for(180s);
  ASSERT_EQ(done.wait_for(0s), std::future_status::ready) << "the test body did not finish";
  done.get();
}

std::string test_name() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

RedisConfig stack_config() {
  auto config = RedisConfig::from_url(test::stack_value("REDIS_URL"));
  config.ca_file = test::stack_value("REDIS_CA_FILE");
  return config;
}

RedisPoolOptions pool_options(RedisConfig config = stack_config()) {
  RedisPoolOptions options;
  options.config = std::move(config);
  options.acquire_timeout = 5000ms;  // 100 concurrent lookups on 8 connections, under ASan
  // A round trip that misses its deadline is a Redis failure to the cache (an error, the
  // breaker): on a busy machine 1 s is within reach of scheduling delays; these tests are
  // not about the deadline (redis_connection's are). A stopped forwarder fails at once.
  options.config.command_timeout = 5000ms;
  options.reconnect_backoff = 20ms;
  return options;
}

// Keys no other test or concurrent run uses.
CacheOptions cache_options() {
  CacheOptions options;
  options.prefix = "folio-test-" + test_name() + "-" + std::to_string(::getpid());
  return options;
}

// The value kind is per test, so each test reads its own request counters.
std::string kind() { return "test_" + test_name(); }

// One worker's cache: pool, breaker (its own metric series) and service.
struct Cache {
  Cache(asio::any_io_executor ex, CacheOptions options, RedisPoolOptions pool_opts = pool_options(),
        CircuitBreakerOptions breaker_opts = {})
      : pool(std::move(ex), std::move(pool_opts)),
        breaker(breaker_opts, "test_" + test_name()),
        service(pool, breaker, std::move(options)) {}
  RedisPool pool;
  CircuitBreaker breaker;
  CacheService service;
};

// The stack's Redis behind a TCP forwarder the test can stop and start (Redis keeps its data),
// and a Cache on it whose breaker opens at the first failure and probes after 100 ms.
struct CacheBehindForwarder {
  CacheBehindForwarder(asio::any_io_executor ex, const CacheOptions& options)
      : forwarder(ex, stack_config().port),
        cache(ex, options, pool_options(config_for(forwarder)),
              {.failure_threshold = 1, .open_for = std::chrono::milliseconds(100)}) {}
  static RedisConfig config_for(test::TcpForwarder& forwarder) {
    forwarder.start();
    auto config = stack_config();
    config.port = forwarder.port();
    return config;
  }
  test::TcpForwarder forwarder;
  Cache cache;
};

double requests(const std::string& result) {
  return obs::Registry::global()
      .counter("folio_cache_requests_total", "Cache lookups by value kind and result.",
               {{"kind", kind()}, {"result", result}})
      .value();
}

double metric(const char* name, const char* help, const obs::Labels& labels = {}) {
  return obs::Registry::global().counter(name, help, labels).value();
}

double invalidation_failures() {
  return metric(
      "folio_cache_invalidation_failures_total",
      "Cache invalidations that could not reach Redis (then pending, replayed on recovery).");
}

double pending_gauge() {
  return obs::Registry::global()
      .gauge("folio_cache_pending_invalidations",
             "Cache invalidations that could not reach Redis and wait to be replayed.")
      .value();
}

Compute counting(int& calls, std::string value) {
  return [&calls, value]() -> asio::awaitable<std::string> {
    ++calls;
    co_return value;
  };
}

// Gives `org` a version, as any write of it does: without one, a miss stores nothing.
asio::awaitable<void> known(CacheService& svc, std::int64_t org) {
  co_await svc.invalidate(org, InvalidationReason::routing);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

std::int64_t elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

double single_flight_waits() {
  return metric("folio_cache_single_flight_waits_total",
                "Cache misses served by waiting for a computation already running for the "
                "same key.");
}

// Holds a computation until `n` callers wait for it (at most 60 s), so every other caller
// joins it however slowly a busy machine runs them: the sharing is forced, not hoped for.
asio::awaitable<void> until_waiting(double waits_before, int n) {
  for (int i = 0; i < 6000 && single_flight_waits() - waits_before < n; ++i) {
    co_await sleep_for(std::chrono::milliseconds(10));
  }
}

// Direct access to the raw keys, for assertions.
struct Raw {
  static asio::awaitable<Raw> open(asio::any_io_executor ex, const CacheOptions& options,
                                   RedisConfig config = stack_config()) {
    auto conn = co_await RedisConnection::connect(std::move(ex), std::move(config));
    Raw raw;
    raw.conn = std::move(conn);
    raw.prefix = options.prefix;
    co_return raw;
  }
  asio::awaitable<std::optional<std::string>> get(std::string key) {
    const Reply reply = co_await conn->command("GET", key);
    if (reply.is_nil()) co_return std::nullopt;
    co_return reply.as_string();
  }
  std::string version_key(std::int64_t org) const {
    return prefix + ":{" + std::to_string(org) + "}:v";
  }
  std::string position_key(std::int64_t org) const {
    return prefix + ":{" + std::to_string(org) + "}:lsn";
  }
  std::string value_key(std::int64_t org, const std::string& key) const {
    return prefix + ":{" + std::to_string(org) + "}:" + kind() + ":" + key;
  }
  std::unique_ptr<RedisConnection> conn;
  std::string prefix;
};

TEST(CacheServiceTest, MissThenHit) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    const auto options = cache_options();
    Cache cache(ex, options);
    co_await known(cache.service, 42);
    const double misses = requests("miss");
    const double hits = requests("hit");
    int calls = 0;
    const auto stored_by = Clock::now();  // the value is stored after this
    EXPECT_EQ(co_await cache.service.get_or_compute(42, kind(), "k", counting(calls, "value-1")),
              "value-1");
    EXPECT_EQ(co_await cache.service.get_or_compute(42, kind(), "k", counting(calls, "other")),
              "value-1");
    EXPECT_EQ(co_await cache.service.get_or_compute(42, kind(), "k", counting(calls, "other")),
              "value-1");
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(requests("miss") - misses, 1.0);
    EXPECT_EQ(requests("hit") - hits, 2.0);

    // The raw layout: "<version>|<payload>" under the hash-tagged key, TTL 300 s +- 10 %.
    auto raw = co_await Raw::open(ex, options);
    const auto version = co_await raw.get(raw.version_key(42));
    EXPECT_TRUE(version.has_value());
    EXPECT_EQ(co_await raw.get(raw.value_key(42, "k")), version.value_or("?") + "|value-1");
    const auto pttl = (co_await raw.conn->command("PTTL", raw.value_key(42, "k"))).as_integer();
    // At least 270 s when stored, less the time since (however long a busy machine took).
    EXPECT_GE(pttl, 270000 - elapsed_ms(stored_by) - 1);
    EXPECT_LE(pttl, 330000);
    EXPECT_FALSE(cache.service.bypassing());
  });
}

// An organization without a version (new, or evicted): a failed computation (no such
// organization, say) writes nothing at all; a successful one creates the version but stores
// no value, since no version was read before it computed; the next miss stores.
TEST(CacheServiceTest, NoVersionMeansNothingWrittenUntilAComputationSucceeded) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    const auto options = cache_options();
    Cache cache(ex, options);
    auto raw = co_await Raw::open(ex, options);
    const auto keys_of = [&raw]() -> asio::awaitable<std::size_t> {
      const Reply keys = co_await raw.conn->command("KEYS", raw.prefix + ":{21}:*");
      co_return keys.elements().size();
    };
    Compute missing = []() -> asio::awaitable<std::string> {
      throw std::runtime_error("no such organization");
      co_return "";
    };
    for (int i = 0; i < 3; ++i) {
      EXPECT_THROW(co_await cache.service.get_or_compute(21, kind(), "k", missing),
                   std::runtime_error);
    }
    EXPECT_EQ(co_await keys_of(), 0u);

    int calls = 0;
    EXPECT_EQ(co_await cache.service.get_or_compute(21, kind(), "k", counting(calls, "v1")), "v1");
    EXPECT_TRUE((co_await raw.get(raw.version_key(21))).has_value());
    EXPECT_FALSE((co_await raw.get(raw.value_key(21, "k"))).has_value());
    EXPECT_EQ(co_await cache.service.get_or_compute(21, kind(), "k", counting(calls, "v2")), "v2");
    EXPECT_EQ(co_await cache.service.get_or_compute(21, kind(), "k", counting(calls, "?")), "v2");
    EXPECT_EQ(calls, 2);
  });
}

TEST(CacheServiceTest, LongKeysAndKeysWithSpacesAreHashed) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    const auto options = cache_options();
    Cache cache(ex, options);
    int calls = 0;
    co_await known(cache.service, 7);
    const std::string long_key(100, 'x');
    co_await cache.service.get_or_compute(7, kind(), "a b", counting(calls, "spaced"));
    co_await cache.service.get_or_compute(7, kind(), long_key, counting(calls, "long"));
    EXPECT_EQ(co_await cache.service.get_or_compute(7, kind(), "a b", counting(calls, "?")),
              "spaced");
    EXPECT_EQ(co_await cache.service.get_or_compute(7, kind(), long_key, counting(calls, "?")),
              "long");
    EXPECT_EQ(calls, 2);
    auto raw = co_await Raw::open(ex, options);
    const Reply keys = co_await raw.conn->command("KEYS", raw.value_key(7, "sha256:*"));
    EXPECT_EQ(keys.elements().size(), 2u);
    for (const auto& k : keys.elements()) {
      EXPECT_EQ(k.as_string().size(), raw.value_key(7, "sha256:").size() + 64);
    }
  });
}

TEST(CacheServiceTest, WrittenBumpsTheVersionOfThatOrganizationOnly) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    const auto options = cache_options();
    Cache cache(ex, options);
    auto& svc = cache.service;
    int calls = 0;
    int other_calls = 0;
    co_await known(svc, 1);
    co_await known(svc, 2);
    EXPECT_EQ(co_await svc.get_or_compute(1, kind(), "k", counting(calls, "v1")), "v1");
    EXPECT_EQ(co_await svc.get_or_compute(2, kind(), "k", counting(other_calls, "o1")), "o1");
    auto raw = co_await Raw::open(ex, options);
    const auto before = co_await raw.get(raw.version_key(1));

    co_await svc.written(1, std::nullopt);
    const auto after = co_await raw.get(raw.version_key(1));
    EXPECT_EQ(std::stoll(after.value_or("0")), std::stoll(before.value_or("0")) + 1);
    EXPECT_EQ(co_await svc.get_or_compute(1, kind(), "k", counting(calls, "v2")), "v2");
    EXPECT_EQ(co_await svc.get_or_compute(1, kind(), "k", counting(calls, "v3")), "v2");
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(co_await svc.get_or_compute(2, kind(), "k", counting(other_calls, "o2")), "o1");
    EXPECT_EQ(other_calls, 1);

    co_await svc.invalidate(1, InvalidationReason::routing);
    EXPECT_EQ(co_await svc.get_or_compute(1, kind(), "k", counting(calls, "v4")), "v4");
    EXPECT_EQ(calls, 3);
  });
}

TEST(CacheServiceTest, EvictedVersionIsRecreatedAndOldValuesMiss) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    const auto options = cache_options();
    Cache cache(ex, options);
    int calls = 0;
    co_await known(cache.service, 3);
    co_await cache.service.get_or_compute(3, kind(), "k", counting(calls, "v1"));
    auto raw = co_await Raw::open(ex, options);
    co_await raw.conn->command("DEL", raw.version_key(3));  // as if evicted
    EXPECT_EQ(co_await cache.service.get_or_compute(3, kind(), "k", counting(calls, "v2")), "v2");
    EXPECT_EQ(calls, 2);
    // A bump of a missing version starts a fresh one too.
    co_await raw.conn->command("DEL", raw.version_key(3));
    co_await cache.service.written(3, std::nullopt);
    EXPECT_TRUE((co_await raw.get(raw.version_key(3))).has_value());
    EXPECT_EQ(co_await cache.service.get_or_compute(3, kind(), "k", counting(calls, "v3")), "v3");
  });
}

TEST(CacheServiceTest, RefillRacingAWriteIsNeverServed) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    const auto options = cache_options();
    Cache cache(ex, options);
    co_await known(cache.service, 5);
    auto raw = co_await Raw::open(ex, options);
    asio::steady_timer gate(ex, Clock::time_point::max());
    bool started = false;
    std::optional<std::string> first;
    // compute() reads the database before the write commits and finishes after the bump.
    Compute slow = [&]() -> asio::awaitable<std::string> {
      started = true;
      boost::system::error_code ec;
      co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      co_return "stale";
    };
    // (A coroutine lambda must not capture: its closure dies before the coroutine does.)
    auto call = [](CacheService& svc, Compute compute,
                   std::optional<std::string>* out) -> asio::awaitable<void> {
      *out = co_await svc.get_or_compute(5, kind(), "k", std::move(compute));
    };
    asio::co_spawn(ex, call(cache.service, slow, &first), asio::detached);
    while (!started) co_await sleep_for(5ms);
    const auto old_version = co_await raw.get(raw.version_key(5));
    EXPECT_TRUE(old_version.has_value());

    co_await cache.service.written(5, std::nullopt);  // the write commits and bumps meanwhile
    gate.cancel();
    while (!first) co_await sleep_for(5ms);
    EXPECT_EQ(*first, "stale");  // that caller started before the write

    // The stale value was stored, but under the old version...
    EXPECT_EQ(co_await raw.get(raw.value_key(5, "k")), old_version.value_or("?") + "|stale");
    EXPECT_NE(co_await raw.get(raw.version_key(5)), old_version);
    // ...so it is never served.
    int calls = 0;
    EXPECT_EQ(co_await cache.service.get_or_compute(5, kind(), "k", counting(calls, "fresh")),
              "fresh");
    EXPECT_EQ(co_await cache.service.get_or_compute(5, kind(), "k", counting(calls, "?")), "fresh");
    EXPECT_EQ(calls, 1);
  });
}

// Runs `n` concurrent get_or_compute calls for one key; returns their values or error texts.
asio::awaitable<std::vector<std::string>> concurrently(CacheService& svc, int n,
                                                       const Compute& compute) {
  auto ex = co_await asio::this_coro::executor;
  std::vector<std::string> results(static_cast<std::size_t>(n));
  int remaining = n;
  asio::steady_timer all_done(ex, Clock::time_point::max());
  // (A coroutine lambda must not capture: its closure dies before the coroutine does.)
  auto call = [](CacheService& svc, const Compute& compute,
                 std::string* out) -> asio::awaitable<void> {
    try {
      *out = co_await svc.get_or_compute(9, kind(), "k", compute);
    } catch (const std::exception& e) {
      *out = std::string("error: ") + e.what();
    }
  };
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(ex, call(svc, compute, &results[static_cast<std::size_t>(i)]),
                   [&](std::exception_ptr) {
                     if (--remaining == 0) all_done.cancel();
                   });
  }
  boost::system::error_code ec;
  co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return results;
}

TEST(CacheServiceTest, SingleFlightSharesOneComputation) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    Cache cache(ex, cache_options());
    co_await known(cache.service, 9);
    const double waits = single_flight_waits();
    const double misses = requests("miss");
    const double hits = requests("hit");
    int calls = 0;
    Compute slow = [&]() -> asio::awaitable<std::string> {
      ++calls;
      co_await until_waiting(waits, 99);
      co_return "shared";
    };
    const auto results = co_await concurrently(cache.service, 100, slow);
    EXPECT_EQ(calls, 1);
    for (const auto& r : results) EXPECT_EQ(r, "shared");
    // All 100 missed; one computed, 99 waited for it.
    EXPECT_EQ(requests("miss") - misses, 100.0);
    EXPECT_EQ(requests("hit") - hits, 0.0);
    EXPECT_EQ(single_flight_waits() - waits, 99.0);
  });
}

TEST(CacheServiceTest, SingleFlightSharesTheException) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    Cache cache(ex, cache_options());
    co_await known(cache.service, 9);
    const double waits = single_flight_waits();
    int calls = 0;
    Compute failing = [&]() -> asio::awaitable<std::string> {
      ++calls;
      co_await until_waiting(waits, 99);
      throw std::runtime_error("boom");
    };
    const auto results = co_await concurrently(cache.service, 100, failing);
    EXPECT_EQ(calls, 1);
    for (const auto& r : results) EXPECT_EQ(r, "error: boom");
    // Nothing was stored: the next call computes.
    int later = 0;
    EXPECT_EQ(co_await cache.service.get_or_compute(9, kind(), "k", counting(later, "ok")), "ok");
    EXPECT_EQ(later, 1);
  });
}

TEST(CacheServiceTest, WritePositionRisesNeverFallsAndExpires) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = cache_options();
    // Long enough that no marker expires while the steps below run on a busy machine; the
    // expiry itself is checked at the end with a short lifetime.
    options.write_position_ttl = 60000ms;
    Cache cache(ex, options);
    auto& svc = cache.service;
    auto wp = co_await svc.write_position(11);
    EXPECT_TRUE(wp.known);
    EXPECT_FALSE(wp.lsn.has_value());

    co_await svc.written(11, 1000);
    wp = co_await svc.write_position(11);
    EXPECT_TRUE(wp.known);
    EXPECT_EQ(wp.lsn, std::optional<std::uint64_t>(1000));
    co_await svc.written(11, 900);  // a write that finished later with an older position
    EXPECT_EQ((co_await svc.write_position(11)).lsn, std::optional<std::uint64_t>(1000));
    co_await svc.written(11, std::nullopt);  // no replicas: the marker is left alone
    EXPECT_EQ((co_await svc.write_position(11)).lsn, std::optional<std::uint64_t>(1000));
    co_await svc.written(11, 1001);
    EXPECT_EQ((co_await svc.write_position(11)).lsn, std::optional<std::uint64_t>(1001));

    // Above 2^53, where doubles could not tell these apart, and the largest LSN.
    const std::uint64_t big = (std::uint64_t{1} << 63) + 5;
    co_await svc.written(12, big);
    co_await svc.written(12, big - 1);
    EXPECT_EQ((co_await svc.write_position(12)).lsn, std::optional<std::uint64_t>(big));
    co_await svc.written(12, std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ((co_await svc.write_position(12)).lsn,
              std::optional<std::uint64_t>(std::numeric_limits<std::uint64_t>::max()));

    auto raw = co_await Raw::open(ex, options);
    const auto pttl = (co_await raw.conn->command("PTTL", raw.position_key(11))).as_integer();
    EXPECT_GT(pttl, 0);
    EXPECT_LE(pttl, 60000);

    // A marker lives write_position_ttl; after it the organization has no position (known,
    // none). Here at most 500 ms: already gone (-2) when the PTTL comes later than that.
    auto short_options = options;
    short_options.write_position_ttl = 500ms;
    Cache short_lived(ex, short_options);
    const auto written_at = Clock::now();
    co_await short_lived.service.written(13, 1000);
    const auto short_pttl = (co_await raw.conn->command("PTTL", raw.position_key(13))).as_integer();
    EXPECT_NE(short_pttl, -1) << "a marker without a lifetime";
    EXPECT_LE(short_pttl, 500);
    if (elapsed_ms(written_at) < 500) {
      EXPECT_GT(short_pttl, 0);
    }
    co_await sleep_for(600ms);
    wp = co_await short_lived.service.write_position(13);
    EXPECT_TRUE(wp.known);
    EXPECT_FALSE(wp.lsn.has_value());
  });
}

TEST(CacheServiceTest, TooLargeValuesAreNotStored) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = cache_options();
    options.max_value_bytes = 16;
    Cache cache(ex, options);
    co_await known(cache.service, 4);
    const double skipped = metric("folio_cache_store_skipped_total",
                                  "Computed values that were not stored in the cache, by reason.",
                                  {{"why", "too_large"}});
    int big_calls = 0;
    int small_calls = 0;
    const std::string big(17, 'b');
    const std::string small(16, 's');
    EXPECT_EQ(co_await cache.service.get_or_compute(4, kind(), "big", counting(big_calls, big)),
              big);
    EXPECT_EQ(co_await cache.service.get_or_compute(4, kind(), "big", counting(big_calls, big)),
              big);
    EXPECT_EQ(big_calls, 2);
    co_await cache.service.get_or_compute(4, kind(), "small", counting(small_calls, small));
    EXPECT_EQ(co_await cache.service.get_or_compute(4, kind(), "small", counting(small_calls, "?")),
              small);
    EXPECT_EQ(small_calls, 1);
    EXPECT_EQ(metric("folio_cache_store_skipped_total",
                     "Computed values that were not stored in the cache, by reason.",
                     {{"why", "too_large"}}) -
                  skipped,
              2.0);
    auto raw = co_await Raw::open(ex, options);
    EXPECT_FALSE((co_await raw.get(raw.value_key(4, "big"))).has_value());
  });
}

TEST(CacheServiceTest, UnreachableRedisFailsOpen) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto config = stack_config();
    {
      // A port where nothing listens.
      asio::ip::tcp::acceptor probe(ex, {asio::ip::address_v4::loopback(), 0});
      config.port = probe.local_endpoint().port();
    }
    Cache cache(ex, cache_options(), pool_options(config),
                {.failure_threshold = 3, .open_for = 60000ms});
    const double errors = requests("error");
    const double bypasses = requests("bypass");
    const double failures = invalidation_failures();
    int calls = 0;
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(co_await cache.service.get_or_compute(1, kind(), "k",
                                                      counting(calls, "v" + std::to_string(i))),
                "v" + std::to_string(i));
    }
    EXPECT_EQ(calls, 10);
    EXPECT_EQ(requests("error") - errors, 3.0);
    EXPECT_EQ(requests("bypass") - bypasses, 7.0);
    EXPECT_EQ(cache.breaker.state(), BreakerState::open);
    EXPECT_TRUE(cache.service.bypassing());

    co_await cache.service.written(1, 5);  // no exception
    EXPECT_EQ(invalidation_failures() - failures, 1.0);
    const auto wp = co_await cache.service.write_position(1);
    EXPECT_FALSE(wp.known);
  });
}

TEST(CacheServiceTest, OpenBreakerBypassesRedis) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    Cache cache(ex, cache_options(), pool_options(), {.open_for = 60000ms});
    int calls = 0;
    co_await known(cache.service, 1);
    co_await cache.service.get_or_compute(1, kind(), "k", counting(calls, "cached"));
    cache.breaker.trip();
    const double bypasses = requests("bypass");
    EXPECT_EQ(co_await cache.service.get_or_compute(1, kind(), "k", counting(calls, "direct")),
              "direct");
    EXPECT_EQ(requests("bypass") - bypasses, 1.0);
    EXPECT_FALSE((co_await cache.service.write_position(1)).known);
    EXPECT_TRUE(cache.service.bypassing());
  });
}

// Redis unreachable behind a stopped forwarder: the bump of a write fails and is pending; the
// stale value is still in Redis under the old version when it comes back, and must not be
// served: the pending bump is replayed first.
TEST(CacheServiceTest, PendingInvalidationIsReplayedBeforeServing) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    const auto options = cache_options();
    CacheBehindForwarder setup(ex, options);
    auto& forwarder = setup.forwarder;
    auto& cache = setup.cache;
    auto raw = co_await Raw::open(ex, options);
    int calls = 0;
    co_await known(cache.service, 8);
    EXPECT_EQ(co_await cache.service.get_or_compute(8, kind(), "k", counting(calls, "v1")), "v1");
    EXPECT_EQ(co_await cache.service.get_or_compute(8, kind(), "k", counting(calls, "?")), "v1");
    const auto old_version = co_await raw.get(raw.version_key(8));

    forwarder.stop();
    const double failures = invalidation_failures();
    const double pending = pending_gauge();
    co_await cache.service.written(8, 777);  // fails: pending
    EXPECT_EQ(invalidation_failures() - failures, 1.0);
    EXPECT_EQ(pending_gauge() - pending, 1.0);
    EXPECT_EQ(co_await cache.service.get_or_compute(8, kind(), "k", counting(calls, "v2")), "v2");
    EXPECT_FALSE((co_await cache.service.write_position(8)).known);
    // Redis kept the old state: the old value under the unbumped version.
    EXPECT_EQ(co_await raw.get(raw.version_key(8)), old_version);
    EXPECT_EQ(co_await raw.get(raw.value_key(8, "k")), old_version.value_or("?") + "|v1");

    forwarder.start();
    co_await sleep_for(150ms);  // past open_for
    EXPECT_EQ(co_await cache.service.get_or_compute(8, kind(), "k", counting(calls, "v3")), "v3");
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(std::stoll((co_await raw.get(raw.version_key(8))).value_or("0")),
              std::stoll(old_version.value_or("0")) + 1);
    EXPECT_EQ(pending_gauge(), pending);
    const auto wp = co_await cache.service.write_position(8);
    EXPECT_TRUE(wp.known);
    EXPECT_EQ(wp.lsn, std::optional<std::uint64_t>(777));
    EXPECT_FALSE(cache.service.bypassing());
  });
}

// More pending bumps than max_pending_invalidations: once Redis answers, the cache is bypassed
// (every older value must expire first) and write positions are unknown for a while.
TEST(CacheServiceTest, PendingOverflowBypassesAfterRecovery) {
  run([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = cache_options();
    options.max_pending_invalidations = 2;
    CacheBehindForwarder setup(ex, options);
    auto& forwarder = setup.forwarder;
    auto& cache = setup.cache;
    int calls = 0;
    co_await cache.service.get_or_compute(1, kind(), "k", counting(calls, "v1"));
    const double pending = pending_gauge();

    forwarder.stop();
    for (std::int64_t org = 1; org <= 3; ++org) co_await cache.service.written(org, 10);
    EXPECT_EQ(pending_gauge() - pending, 2.0);

    forwarder.start();
    co_await sleep_for(150ms);
    const double bypasses = requests("bypass");
    EXPECT_EQ(co_await cache.service.get_or_compute(1, kind(), "k", counting(calls, "v2")), "v2");
    EXPECT_EQ(requests("bypass") - bypasses, 1.0);
    EXPECT_EQ(cache.breaker.state(), BreakerState::closed);
    EXPECT_TRUE(cache.service.bypassing());
    EXPECT_FALSE((co_await cache.service.write_position(1)).known);
    EXPECT_EQ(pending_gauge(), pending);
  });
}

// A real Redis outage on a private stack: stop Redis, a write's bump fails, start it again.
// That Redis keeps no data across restarts, so the stale state a persistent Redis would have
// kept is put back by hand; the replay must still run before the first value is served.
TEST(CacheServiceTest, PendingInvalidationSurvivesARedisRestart) {
  test::OwnStack stack;
  auto config = RedisConfig::from_url(stack.value("REDIS_URL"));
  config.ca_file = stack.value("REDIS_CA_FILE");
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    const auto options = cache_options();
    Cache cache(ex, options, pool_options(config), {.failure_threshold = 1, .open_for = 100ms});
    int calls = 0;
    EXPECT_EQ(co_await cache.service.get_or_compute(6, kind(), "k", counting(calls, "v1")), "v1");
    std::optional<std::string> old_version;
    {
      auto raw = co_await Raw::open(ex, options, config);
      old_version = co_await raw.get(raw.version_key(6));
    }
    EXPECT_TRUE(old_version.has_value());

    stack.component("stop-redis");
    const double failures = invalidation_failures();
    co_await cache.service.written(6, 4242);
    EXPECT_EQ(invalidation_failures() - failures, 1.0);
    EXPECT_TRUE(cache.service.bypassing());

    stack.component("start-redis");
    auto raw = co_await Raw::open(ex, options, config);
    const std::string value_key = raw.value_key(6, "k");
    co_await raw.conn->command("SET", raw.version_key(6), *old_version);
    co_await raw.conn->command("SET", value_key, *old_version + "|v1");
    co_await sleep_for(150ms);

    EXPECT_EQ(co_await cache.service.get_or_compute(6, kind(), "k", counting(calls, "v2")), "v2");
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(std::stoll((co_await raw.get(raw.version_key(6))).value_or("0")),
              std::stoll(*old_version) + 1);
    EXPECT_EQ(co_await raw.get(raw.position_key(6)), "00000000000000004242");
    EXPECT_EQ((co_await cache.service.write_position(6)).lsn, std::optional<std::uint64_t>(4242));
    EXPECT_FALSE(cache.service.bypassing());
  });
}

}  // namespace
}  // namespace folio::cache
