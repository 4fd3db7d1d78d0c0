#include "folio/obs/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace folio::obs {
namespace {

// Captures every Logger's output for the duration of a test.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_sink_for_tests(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
    set_log_level(Level::kDebug);
  }
  void TearDown() override {
    set_log_format(LogFormat::kJson);
    set_log_sink_for_tests(nullptr);
    set_log_level(Level::kInfo);
  }

  // The captured output split into lines; each must be exactly one JSON object.
  std::vector<std::string> raw_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  std::vector<boost::json::object> lines() const {
    std::vector<boost::json::object> objects;
    for (const auto& line : raw_lines()) objects.push_back(boost::json::parse(line).as_object());
    return objects;
  }
  static std::vector<std::string> keys(const boost::json::object& obj) {
    std::vector<std::string> out;
    for (const auto& kv : obj) out.emplace_back(kv.key());
    return out;
  }

  std::ostringstream out_;
};

TEST_F(LogTest, LineHasStableFieldsThenContext) {
  const auto before = std::chrono::system_clock::now();
  Logger("db").info("connected", {{"host", "10.0.0.1"}, {"port", 5432}, {"tls", true}});
  const auto after = std::chrono::system_clock::now();

  const auto all = lines();
  ASSERT_EQ(all.size(), 1u) << out_.str();
  const auto& line = all[0];
  EXPECT_EQ(keys(line),
            (std::vector<std::string>{"ts", "level", "msg", "component", "host", "port", "tls"}));
  EXPECT_EQ(line.at("level"), "info");
  EXPECT_EQ(line.at("msg"), "connected");
  EXPECT_EQ(line.at("component"), "db");
  EXPECT_EQ(line.at("host"), "10.0.0.1");
  EXPECT_EQ(line.at("port"), 5432);
  EXPECT_EQ(line.at("tls"), true);

  const std::string ts(line.at("ts").as_string());
  ASSERT_TRUE(std::regex_match(ts, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << ts;
  std::tm tm{};
  ASSERT_NE(strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr);
  const auto at = std::chrono::system_clock::from_time_t(timegm(&tm)) +
                  std::chrono::milliseconds(std::stoi(ts.substr(20, 3)));
  EXPECT_GE(at, std::chrono::floor<std::chrono::milliseconds>(before));
  EXPECT_LE(at, after);
}

TEST_F(LogTest, EachLevelHasItsName) {
  const Logger log("api");
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  log.log(Level::kWarn, "w2");
  std::vector<std::string> levels;
  for (const auto& line : lines()) levels.emplace_back(line.at("level").as_string());
  EXPECT_EQ(levels, (std::vector<std::string>{"debug", "info", "warn", "error", "warn"}));
}

TEST_F(LogTest, LevelFiltering) {
  set_log_level(Level::kWarn);
  EXPECT_EQ(log_level(), Level::kWarn);
  EXPECT_FALSE(log_enabled(Level::kInfo));
  EXPECT_TRUE(log_enabled(Level::kError));
  const Logger log("api");
  log.debug("dropped");
  log.info("dropped");
  log.warn("kept");
  log.error("kept too");
  const auto all = lines();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].at("msg"), "kept");
  EXPECT_EQ(all[1].at("msg"), "kept too");
}

TEST_F(LogTest, EscapesMessagesAndFields) {
  const std::string msg = "say \"hi\"\nthen \\ leave\t\x01 ü";
  Logger("api").info(msg, {{"sql", "select \"a\"\nfrom t"}});
  const auto raw = raw_lines();
  ASSERT_EQ(raw.size(), 1u);  // the newline in msg did not split the line
  EXPECT_NE(raw[0].find(R"(say \"hi\"\nthen \\ leave\t\u0001 ü)"), std::string::npos) << raw[0];
  const auto line = lines().at(0);
  EXPECT_EQ(line.at("msg").as_string(), msg);
  EXPECT_EQ(line.at("sql"), "select \"a\"\nfrom t");
}

TEST_F(LogTest, InvalidUtf8IsReplaced) {
  Logger("api").info("bad \xff byte \xc3", {{"v\xfe", "x\xed\xa0\x80y"}});
  const auto line = lines().at(0);  // parses: the line is valid JSON
  EXPECT_EQ(line.at("msg"), "bad \xEF\xBF\xBD byte \xEF\xBF\xBD");
  EXPECT_EQ(line.at("v\xEF\xBF\xBD"), "x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDy");
}

TEST_F(LogTest, ContextCannotOverwriteStableFields) {
  Logger("api").info("real", {{"msg", "fake"}, {"level", "error"}, {"user", 7}});
  const auto line = lines().at(0);
  EXPECT_EQ(keys(line), (std::vector<std::string>{"ts", "level", "msg", "component", "ctx.msg",
                                                  "ctx.level", "user"}));
  EXPECT_EQ(line.at("msg"), "real");
  EXPECT_EQ(line.at("level"), "info");
  EXPECT_EQ(line.at("ctx.msg"), "fake");
}

TEST_F(LogTest, ChildAndBoundFields) {
  const Logger cutover = Logger("cutover").with({{"run_id", "r1"}, {"phase", "sync"}});
  const Logger backfill = cutover.child("backfill");
  EXPECT_EQ(backfill.component(), "cutover.backfill");
  EXPECT_EQ(Logger("").child("x").component(), "x");
  backfill.info("batch", {{"rows", 500}, {"phase", "backfill"}});
  const auto line = lines().at(0);
  EXPECT_EQ(keys(line), (std::vector<std::string>{"ts", "level", "msg", "component", "run_id",
                                                  "phase", "rows"}));
  EXPECT_EQ(line.at("component"), "cutover.backfill");
  EXPECT_EQ(line.at("run_id"), "r1");
  EXPECT_EQ(line.at("phase"), "backfill");  // the call's value wins
}

TEST_F(LogTest, ConcurrentLinesStayWhole) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      const Logger log("worker");
      for (int i = 0; i < kPerThread; ++i) log.info("tick", {{"thread", t}, {"i", i}});
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(lines().size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST_F(LogTest, DoublesAreWrittenWithoutExponent) {
  Logger("api").info("request", {{"duration_ms", 1.369236024}, {"rate", 61200.0}});
  const auto raw = raw_lines();
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_FALSE(std::regex_search(raw[0], std::regex("[0-9][eE][+-]?[0-9]"))) << raw[0];
  EXPECT_NE(raw[0].find(R"("duration_ms":1.369,"rate":61200)"), std::string::npos) << raw[0];
}

TEST_F(LogTest, HumanFormatIsOneCompactLine) {
  set_log_format(LogFormat::kHuman);
  const Logger log = Logger("cutover").child("backfill").with({{"run_id", "r1"}});
  log.info("batch done", {{"table", "revenues"},
                          {"rows", 5000},
                          {"seconds", 1.369236024},
                          {"note", "two words"},
                          {"empty", ""},
                          {"paused", false},
                          {"tables", {{"revenues", 1.5}}},
                          {"msg", "kept"}});
  log.warn("careful");
  set_log_format(LogFormat::kJson);
  EXPECT_EQ(log_format(), LogFormat::kJson);
  const auto raw = raw_lines();
  ASSERT_EQ(raw.size(), 2u) << out_.str();
  const std::regex shape(R"(\d\d:\d\d:\d\d (INFO |WARN ) cutover\.backfill  .*)");
  EXPECT_TRUE(std::regex_match(raw[0], shape)) << raw[0];
  EXPECT_EQ(raw[0].substr(9),
            "INFO  cutover.backfill  batch done  run_id=r1 table=revenues rows=5000 "
            "seconds=1.369 note=\"two words\" empty=\"\" paused=false tables={\"revenues\":1.5} "
            "ctx.msg=kept");
  EXPECT_EQ(raw[1].substr(9), "WARN  cutover.backfill  careful  run_id=r1");
}

TEST(ParseLevelTest, AcceptsKnownNamesInAnyCase) {
  EXPECT_EQ(parse_level("debug"), Level::kDebug);
  EXPECT_EQ(parse_level("INFO"), Level::kInfo);
  EXPECT_EQ(parse_level("warn"), Level::kWarn);
  EXPECT_EQ(parse_level("Warning"), Level::kWarn);
  EXPECT_EQ(parse_level("error"), Level::kError);
  EXPECT_EQ(parse_level(""), std::nullopt);
  EXPECT_EQ(parse_level("trace"), std::nullopt);
  EXPECT_EQ(parse_level(" info"), std::nullopt);
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    EXPECT_EQ(parse_level(level_name(l)), l);
  }
}

TEST_F(LogTest, InitFromEnvironment) {
  set_log_level(Level::kInfo);
  unsetenv("FOLIO_LOG_LEVEL");
  EXPECT_EQ(init_logging_from_env(), Level::kInfo);

  setenv("FOLIO_LOG_LEVEL", "error", 1);
  EXPECT_EQ(init_logging_from_env(), Level::kError);
  EXPECT_EQ(log_level(), Level::kError);

  setenv("FOLIO_LOG_LEVEL", "debug", 1);
  EXPECT_EQ(init_logging_from_env(), Level::kDebug);

  setenv("FOLIO_LOG_LEVEL", "verbose", 1);  // invalid: unchanged, and says so
  EXPECT_EQ(init_logging_from_env(), Level::kDebug);
  unsetenv("FOLIO_LOG_LEVEL");
  const auto all = lines();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].at("level"), "warn");
  EXPECT_EQ(all[0].at("value"), "verbose");
}

using Clock = LogLimiter::Clock;
using std::chrono::milliseconds;

TEST(LogLimiterTest, OnePerPeriodWithSuppressedCount) {
  LogLimiter limiter(std::chrono::seconds(1));
  const Clock::time_point t0{std::chrono::hours(1000)};

  const auto first = limiter.allow(t0);
  EXPECT_TRUE(first);
  EXPECT_EQ(first.suppressed, 0u);
  for (int ms : {0, 1, 500, 999}) EXPECT_FALSE(limiter.allow(t0 + milliseconds(ms))) << ms;

  const auto second = limiter.allow(t0 + milliseconds(1000));  // exactly one period later
  EXPECT_TRUE(second);
  EXPECT_EQ(second.suppressed, 4u);
  EXPECT_FALSE(limiter.allow(t0 + milliseconds(1999)));

  const auto third = limiter.allow(t0 + milliseconds(5000));  // a long quiet spell
  EXPECT_TRUE(third);
  EXPECT_EQ(third.suppressed, 1u);
  EXPECT_FALSE(limiter.allow(t0 + milliseconds(5001)));
}

TEST(LogLimiterTest, ExactlyOneConcurrentCallerWins) {
  constexpr int kThreads = 8;
  constexpr int kCalls = 5000;
  LogLimiter limiter(std::chrono::seconds(1));
  const Clock::time_point t0{std::chrono::hours(1000)};
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        if (limiter.allow(t0 + milliseconds(i % 1000))) allowed.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 1);
  const auto next = limiter.allow(t0 + std::chrono::seconds(1));
  EXPECT_TRUE(next);
  EXPECT_EQ(next.suppressed, static_cast<std::uint64_t>(kThreads * kCalls - 1));
}

TEST_F(LogTest, LogLimitedAddsSuppressedCount) {
  LogLimiter limiter(std::chrono::hours(1));
  // Spend the limiter's first period in the past, suppressing three calls there, so the next
  // real-time call is due and reports them.
  const Clock::time_point past = Clock::now() - std::chrono::hours(2);
  ASSERT_TRUE(limiter.allow(past));
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(limiter.allow(past + std::chrono::minutes(1)));

  const Logger log("cache");
  EXPECT_TRUE(log.log_limited(limiter, Level::kWarn, "redis down, failing open", {{"op", "get"}}));
  EXPECT_FALSE(log.log_limited(limiter, Level::kWarn, "redis down, failing open"));
  const auto all = lines();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(keys(all[0]),
            (std::vector<std::string>{"ts", "level", "msg", "component", "op", "suppressed"}));
  EXPECT_EQ(all[0].at("suppressed"), 3);
}

TEST(SamplerTest, QuarterSamplesEveryFourthCallStartingWithTheFirst) {
  Sampler sampler(0.25);
  std::vector<int> sampled;
  for (int i = 0; i < 100; ++i) {
    if (sampler.sample()) sampled.push_back(i);
  }
  std::vector<int> expected;
  for (int i = 0; i < 100; i += 4) expected.push_back(i);
  EXPECT_EQ(sampled, expected);
}

TEST(SamplerTest, EveryPrefixHoldsExactlyCeilOfRateTimesCalls) {
  Sampler sampler(0.3);
  EXPECT_DOUBLE_EQ(sampler.rate(), 0.3);
  int count = 0;
  for (int n = 1; n <= 10000; ++n) {
    if (sampler.sample()) ++count;
    ASSERT_EQ(count, (3 * n + 9) / 10) << "after " << n << " calls";
  }
}

TEST(SamplerTest, ExtremesAndClamping) {
  auto samples = [](double rate, int calls) {
    Sampler sampler(rate);
    int n = 0;
    for (int i = 0; i < calls; ++i) n += sampler.sample() ? 1 : 0;
    return n;
  };
  EXPECT_EQ(samples(0.0, 1000), 0);
  EXPECT_EQ(samples(-1.0, 1000), 0);
  EXPECT_EQ(samples(std::numeric_limits<double>::quiet_NaN(), 1000), 0);
  EXPECT_EQ(samples(1.0, 1000), 1000);
  EXPECT_EQ(samples(7.0, 1000), 1000);
  EXPECT_EQ(samples(0.01, 1000), 10);
  EXPECT_EQ(samples(1e-9, 10), 1);  // rounds up to one in a million, never to zero
}

TEST(SamplerTest, ConcurrentCallsKeepTheExactRatio) {
  constexpr int kThreads = 4;
  constexpr int kCalls = 25000;
  Sampler sampler(0.01);
  std::atomic<int> sampled{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        if (sampler.sample()) sampled.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(sampled.load(), kThreads * kCalls / 100);
}

}  // namespace
}  // namespace folio::obs
