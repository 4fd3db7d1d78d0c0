// Structured logging for folio: one JSON object per line, written through spdlog.
//
// Every line starts with the stable fields, in this order:
//   {"ts":"2026-11-21T10:30:00.123Z","level":"info","msg":"...","component":"db.pool", ...}
// followed by the logger's bound fields and then the call's context fields. `ts` is RFC 3339
// UTC with milliseconds; `level` is debug/info/warn/error. A context field whose key is one of
// the stable fields is renamed "ctx.<key>" rather than overwriting it. Invalid UTF-8 anywhere
// in the line is replaced by U+FFFD, so every line is valid JSON whatever callers pass in.
// Doubles are written in fixed notation with at most three decimals (json_text.hpp), never
// with an exponent.
//
// An operator's terminal gets the same records in a compact human form instead
// (set_log_format(LogFormat::kHuman)):
//   15:02:11 INFO  cutover.backfill  batch done  table=revenues rows=5000
// local time, level, component, message, then the fields as key=value (a string with spaces
// quoted, an object or array as compact JSON).
//
// Level filtering happens before the line is built, so a filtered call costs one atomic load
// plus constructing its arguments; guard expensive arguments with log_enabled().
//
// Also here, for callers that must not flood the log: LogLimiter (at most one line per period,
// counting the rest) and Sampler (a deterministic fraction of decisions).
//
// Thread-safety: every function and every const member of Logger is safe from any thread; the
// output sink is a thread-safe (_mt) spdlog sink shared by all Loggers, and a line is written
// whole. LogLimiter and Sampler are lock-free and meant to be shared between threads.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spdlog::sinks {
class sink;
}  // namespace spdlog::sinks

namespace folio::obs {

enum class Level { kDebug, kInfo, kWarn, kError };

enum class LogFormat {
  kJson,   // one JSON object per line (the default): for files, journald, log shippers
  kHuman,  // one compact line for a person at a terminal
};

// "debug", "info", "warn" (or "warning"), "error", in any case; nullopt for anything else.
std::optional<Level> parse_level(std::string_view text);
// The name written in the `level` field: "debug", "info", "warn", "error".
std::string_view level_name(Level level);

// The what() of the exception `error` holds, for a log field; "unknown error" when it is not
// a std::exception.
std::string describe_exception(const std::exception_ptr& error);

// The process-wide minimum level (default info). Lines below it are dropped.
void set_log_level(Level level);
Level log_level();
bool log_enabled(Level level);

// Sets the level from the environment variable FOLIO_LOG_LEVEL, read once here (never per
// line). Unset or empty leaves the level unchanged; an invalid value leaves it unchanged and
// logs a warning. Returns the level in effect afterwards.
// REQUIRES: called at start-up, before other threads may modify the environment.
Level init_logging_from_env();

// The process-wide line format (default kJson). Lines already written are not affected.
void set_log_format(LogFormat format);
LogFormat log_format();

// Routes every Logger's output to `sink` until the next call; nullptr restores the default
// stderr sink. Each record reaches the sink as one line without its newline (the sink's
// pattern is "%v"). E.g. folioctl's sink keeps its progress bar below the log lines.
void set_log_sink(std::shared_ptr<spdlog::sinks::sink> sink);
// The same, for tests: e.g. an spdlog::sinks::ostream_sink_mt over a std::ostringstream.
void set_log_sink_for_tests(std::shared_ptr<spdlog::sinks::sink> sink);

class LogLimiter;

// A named source of log lines. Cheap to copy; copies share the process-wide sink and level.
class Logger {
 public:
  explicit Logger(std::string component);

  // Write one line at the given level if it passes the level filter. Never throw except
  // std::bad_alloc; output errors are handled by spdlog's error handler.
  void debug(std::string_view msg, boost::json::object fields = {}) const;
  void info(std::string_view msg, boost::json::object fields = {}) const;
  void warn(std::string_view msg, boost::json::object fields = {}) const;
  void error(std::string_view msg, boost::json::object fields = {}) const;
  void log(Level level, std::string_view msg, boost::json::object fields = {}) const;

  // Logs only if `limiter` lets this call through, adding the field "suppressed" (the number
  // of calls the limiter held back since the last line) when it is non-zero. Returns whether
  // the limiter let the call through (even if the level filter then dropped the line).
  bool log_limited(LogLimiter& limiter, Level level, std::string_view msg,
                   boost::json::object fields = {}) const;

  // A logger for a part of this component: Logger("db").child("pool") logs as "db.pool".
  // Bound fields are inherited.
  Logger child(std::string_view sub_component) const;

  // A logger that adds `fields` to every line (after `component`, before the call's fields;
  // on a duplicate key the call's value wins). E.g. a cutover run binds its run_id.
  Logger with(boost::json::object fields) const;

  const std::string& component() const { return component_; }

 private:
  std::string component_;
  boost::json::object bound_;
};

// Lets at most one call per period through and counts the calls it held back, so a failure
// that repeats thousands of times a second (cache fail-open) logs one line per period that says
// how many were suppressed.
class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Decision {
    bool allowed = false;
    std::uint64_t suppressed = 0;  // calls held back since the previous allowed one
    explicit operator bool() const { return allowed; }
  };

  // REQUIRES: period > 0.
  explicit LogLimiter(Clock::duration period);

  // The first call is allowed; after an allowed call at time t, calls before t + period are
  // suppressed and counted, and the first call at or after t + period is allowed and reports
  // (and resets) that count. Exactly one concurrent caller wins each period.
  [[nodiscard]] Decision allow() { return allow(Clock::now()); }
  // The same with an explicit time, for tests and for callers that already read the clock.
  [[nodiscard]] Decision allow(Clock::time_point now);

 private:
  const Clock::rep period_;
  std::atomic<Clock::rep> next_allowed_;  // in Clock ticks since its epoch
  std::atomic<std::uint64_t> suppressed_{0};
};

// Picks a deterministic fraction of calls, spread evenly: with rate p, the first call is
// sampled and any run of n consecutive calls from the start holds exactly ceil(n * p) samples
// (p is rounded to a multiple of 1e-6; a positive rate never rounds to zero).
// E.g. Sampler(0.25) samples calls 0, 4, 8, ...
class Sampler {
 public:
  // `rate` is clamped to [0, 1]; NaN means 0 (never sample).
  explicit Sampler(double rate);

  [[nodiscard]] bool sample();
  double rate() const { return static_cast<double>(per_million_) / kScale; }

 private:
  static constexpr std::uint64_t kScale = 1'000'000;
  std::uint64_t per_million_;
  std::atomic<std::uint64_t> calls_{0};
};

}  // namespace folio::obs
