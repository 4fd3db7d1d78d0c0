#include "progress.hpp"

#include <spdlog/sinks/base_sink.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <string_view>

#include "output.hpp"

namespace folioctl {

namespace {

// The bar's line at the bottom of stderr. Log lines are written above it, so the bar never
// ends up glued to a log line or scrolled away half drawn.
class StatusLine {
 public:
  void show(std::string text) {
    std::lock_guard lock(mu_);
    text_ = fit(std::move(text));
    draw();
  }
  void finish() {
    std::lock_guard lock(mu_);
    if (text_.empty()) return;
    std::fputc('\n', stderr);
    std::fflush(stderr);
    text_.clear();
  }
  void print_above(std::string_view line) {
    std::lock_guard lock(mu_);
    if (!text_.empty()) std::fputs("\r\x1b[K", stderr);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fputc('\n', stderr);
    if (!text_.empty()) draw();
    std::fflush(stderr);
  }

 private:
  void draw() {
    std::fprintf(stderr, "\r%s\x1b[K", text_.c_str());
    std::fflush(stderr);
  }
  // A line wider than the terminal wraps, and '\r' then redraws only its last part.
  static std::string fit(std::string text) {
    winsize size{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1 &&
        text.size() >= size.ws_col) {
      text.resize(size.ws_col - 1u);
    }
    return text;
  }

  std::mutex mu_;
  std::string text_;  // GUARDED_BY(mu_); empty: no bar shown
};

StatusLine& status_line() {
  static auto* const line = new StatusLine();  // leaked: logs may run during static destruction
  return *line;
}

class TerminalSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string_view line(formatted.data(), formatted.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    status_line().print_above(line);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

ProgressReporter::ProgressReporter(std::string what)
    : bars_(progress_bars()), what_(std::move(what)), log_("folioctl." + what_) {}

ProgressReporter::~ProgressReporter() {
  if (drawn_) status_line().finish();
}

void ProgressReporter::update(const folio::obs::ProgressLine& line, boost::json::object fields,
                              bool force) {
  const auto now = Clock::now();
  if (bars_) {
    if (!line.done && !force && drawn_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    status_line().show(folio::obs::progress_line_text(line));
    drawn_ = true;
    if (line.done) {
      status_line().finish();
      drawn_ = false;
    }
    return;
  }
  if (line.done) return;
  if (last_ == Clock::time_point{}) last_ = now;  // the first line after 5 s of work
  if (!force && now - last_ < std::chrono::seconds(5)) return;
  last_ = now;
  boost::json::object out{{"percent", std::round(std::clamp(line.fraction, 0.0, 1.0) * 1000) / 10},
                          {"rows", line.rows},
                          {"rows_per_s", std::llround(line.rows_per_s)}};
  out["eta_s"] = line.eta_seconds ? boost::json::value(std::llround(*line.eta_seconds))
                                  : boost::json::value(nullptr);
  for (auto& field : fields) out[field.key()] = std::move(field.value());
  log_.info(what_ + " progress", std::move(out));
}

std::shared_ptr<spdlog::sinks::sink> terminal_log_sink() {
  return std::make_shared<TerminalSink>();
}

void end_progress_line() { status_line().finish(); }

}  // namespace folioctl
