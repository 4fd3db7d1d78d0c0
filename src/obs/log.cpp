#include "folio/obs/log.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>

#include "detail/utf8.hpp"
#include "folio/obs/json_text.hpp"

namespace folio::obs {
namespace {

constexpr std::array<std::string_view, 4> kStableFields = {"ts", "level", "msg", "component"};

std::shared_ptr<spdlog::logger> make_spdlog_logger(std::shared_ptr<spdlog::sinks::sink> sink) {
  auto logger = std::make_shared<spdlog::logger>("folio", std::move(sink));
  logger->set_pattern("%v");                // the JSON line is the whole message
  logger->set_level(spdlog::level::trace);  // folio filters before building the line
  return logger;
}

struct LogState {
  std::atomic<Level> level{Level::kInfo};
  std::atomic<LogFormat> format{LogFormat::kJson};
  std::atomic<std::shared_ptr<spdlog::logger>> logger{
      make_spdlog_logger(std::make_shared<spdlog::sinks::stderr_sink_mt>())};
};

LogState& state() {
  static auto* const s = new LogState();  // leaked: loggers may run during static destruction
  return *s;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::err;
}

// 2026-11-21T10:30:00.123Z
std::string rfc3339_utc_millis(std::chrono::system_clock::time_point now) {
  const auto since_epoch = now.time_since_epoch();
  const auto secs = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs);
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 96> buf{};  // room for any int fields, which keeps -Wformat-truncation calm
  std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis.count()));
  return buf.data();
}

using detail::utf8_sequence_length;

// Replaces each invalid byte with U+FFFD. Safe on serialized JSON: invalid bytes are all >= 0x80,
// so the ASCII structure (quotes, escapes) is never touched.
void sanitize_utf8(std::string& line) {
  std::size_t i = 0;
  while (i < line.size() && utf8_sequence_length(line, i) != 0) i += utf8_sequence_length(line, i);
  if (i == line.size()) return;  // the common case: already valid
  std::string out(line, 0, i);
  while (i < line.size()) {
    const std::size_t len = utf8_sequence_length(line, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(line, i, len);
      i += len;
    }
  }
  line = std::move(out);
}

// 15:02:11, local time: the operator reads it beside the wall clock.
std::string local_clock(std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf.data();
}

std::string_view human_level(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO ";
    case Level::kWarn:
      return "WARN ";
    case Level::kError:
      return "ERROR";
  }
  return "ERROR";
}

// A string stays bare unless a reader could not tell where it ends.
bool needs_quotes(std::string_view text) {
  if (text.empty()) return true;
  return std::any_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
}

std::string human_value(const boost::json::value& value) {
  if (value.is_string()) {
    const std::string_view text = value.get_string();
    return needs_quotes(text) ? boost::json::serialize(value) : std::string(text);
  }
  return to_json_text(value);
}

// 15:02:11 INFO  cutover.backfill  batch done  table=revenues rows=5000
std::string human_line(Level level, std::string_view component, std::string_view msg,
                       const boost::json::object& fields) {
  std::string line = local_clock(std::chrono::system_clock::now());
  line += ' ';
  line += human_level(level);
  line += ' ';
  line += component;
  line += "  ";
  line += msg;
  for (std::size_t i = 0; const auto& field : fields) {
    line += i++ == 0 ? "  " : " ";
    line += field.key();
    line += '=';
    line += human_value(field.value());
  }
  return line;
}

bool is_stable_field(std::string_view key) {
  return std::find(kStableFields.begin(), kStableFields.end(), key) != kStableFields.end();
}

// Adds fields after the stable ones, moving their values; a later value for the same key
// replaces an earlier one.
void append_fields(boost::json::object& line, boost::json::object fields) {
  for (auto& field : fields) {
    if (is_stable_field(field.key())) {
      line["ctx." + std::string(field.key())] = std::move(field.value());
    } else {
      line[field.key()] = std::move(field.value());
    }
  }
}

}  // namespace

std::optional<Level> parse_level(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "debug") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warn" || lower == "warning") return Level::kWarn;
  if (lower == "error") return Level::kError;
  return std::nullopt;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "error";
}

void set_log_level(Level level) { state().level.store(level, std::memory_order_relaxed); }

Level log_level() { return state().level.load(std::memory_order_relaxed); }

bool log_enabled(Level level) { return level >= log_level(); }

Level init_logging_from_env() {
  const char* value = std::getenv("FOLIO_LOG_LEVEL");
  if (value == nullptr || *value == '\0') return log_level();
  if (const auto level = parse_level(value)) {
    set_log_level(*level);
  } else {
    Logger("obs.log").warn("ignoring invalid FOLIO_LOG_LEVEL",
                           {{"value", value}, {"effective_level", level_name(log_level())}});
  }
  return log_level();
}

void set_log_format(LogFormat format) { state().format.store(format, std::memory_order_relaxed); }

LogFormat log_format() { return state().format.load(std::memory_order_relaxed); }

void set_log_sink(std::shared_ptr<spdlog::sinks::sink> sink) {
  if (!sink) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  state().logger.store(make_spdlog_logger(std::move(sink)));
}

void set_log_sink_for_tests(std::shared_ptr<spdlog::sinks::sink> sink) {
  set_log_sink(std::move(sink));
}

Logger::Logger(std::string component) : component_(std::move(component)) {}

void Logger::log(Level level, std::string_view msg, boost::json::object fields) const {
  if (!log_enabled(level)) return;
  std::string text;
  if (log_format() == LogFormat::kHuman) {
    boost::json::object context(bound_.size() + fields.size());
    append_fields(context, bound_);
    append_fields(context, std::move(fields));
    text = human_line(level, component_, msg, context);
  } else {
    boost::json::object line(bound_.size() + fields.size() + kStableFields.size());
    line["ts"] = rfc3339_utc_millis(std::chrono::system_clock::now());
    line["level"] = level_name(level);
    line["msg"] = msg;
    line["component"] = component_;
    append_fields(line, bound_);
    append_fields(line, std::move(fields));
    text = to_json_text(line);
  }
  sanitize_utf8(text);
  state().logger.load()->log(to_spdlog(level), spdlog::string_view_t(text.data(), text.size()));
}

void Logger::debug(std::string_view msg, boost::json::object fields) const {
  log(Level::kDebug, msg, std::move(fields));
}
void Logger::info(std::string_view msg, boost::json::object fields) const {
  log(Level::kInfo, msg, std::move(fields));
}
void Logger::warn(std::string_view msg, boost::json::object fields) const {
  log(Level::kWarn, msg, std::move(fields));
}
void Logger::error(std::string_view msg, boost::json::object fields) const {
  log(Level::kError, msg, std::move(fields));
}

bool Logger::log_limited(LogLimiter& limiter, Level level, std::string_view msg,
                         boost::json::object fields) const {
  const LogLimiter::Decision decision = limiter.allow();
  if (!decision) return false;
  if (decision.suppressed > 0) fields["suppressed"] = decision.suppressed;
  log(level, msg, std::move(fields));
  return true;
}

Logger Logger::child(std::string_view sub_component) const {
  Logger child_logger(component_.empty() ? std::string(sub_component)
                                         : component_ + "." + std::string(sub_component));
  child_logger.bound_ = bound_;
  return child_logger;
}

Logger Logger::with(boost::json::object fields) const {
  Logger bound_logger = *this;
  for (auto& field : fields) bound_logger.bound_[field.key()] = std::move(field.value());
  return bound_logger;
}

LogLimiter::LogLimiter(Clock::duration period)
    : period_(period.count()), next_allowed_(std::numeric_limits<Clock::rep>::min()) {}

LogLimiter::Decision LogLimiter::allow(Clock::time_point now) {
  const Clock::rep t = now.time_since_epoch().count();
  Clock::rep next = next_allowed_.load(std::memory_order_relaxed);
  while (t >= next) {
    if (next_allowed_.compare_exchange_weak(next, t + period_, std::memory_order_relaxed)) {
      return {true, suppressed_.exchange(0, std::memory_order_relaxed)};
    }
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return {false, 0};
}

namespace {
std::uint64_t rate_per_million(double rate, std::uint64_t scale) {
  if (!(rate > 0.0)) return 0;  // also NaN
  if (rate >= 1.0) return scale;
  const auto scaled = static_cast<std::uint64_t>(std::llround(rate * static_cast<double>(scale)));
  return std::max<std::uint64_t>(scaled, 1);
}
}  // namespace

Sampler::Sampler(double rate) : per_million_(rate_per_million(rate, kScale)) {}

bool Sampler::sample() {
  // Call k is sampled iff ceil((k+1)p/M) > ceil(kp/M): exactly p samples in every M calls, so
  // reducing k modulo M keeps the products small without changing the pattern.
  const std::uint64_t k = calls_.fetch_add(1, std::memory_order_relaxed) % kScale;
  const auto ceil_div = [](std::uint64_t a) { return (a + kScale - 1) / kScale; };
  return ceil_div((k + 1) * per_million_) > ceil_div(k * per_million_);
}

std::string describe_exception(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

}  // namespace folio::obs
