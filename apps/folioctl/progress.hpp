// Progress of folioctl's long commands (seed, backfill, verify), one reporter for all of them:
// a bar redrawn in place on a terminal, periodic log lines otherwise.
//
// Thread-safety: a ProgressReporter is used from one thread. The bar's line on stderr is
// shared process-wide and guarded: terminal_log_sink() and end_progress_line() may be called
// from any thread.
#pragma once

#include <spdlog/sinks/sink.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "folio/obs/human_text.hpp"
#include "folio/obs/log.hpp"

namespace folioctl {

class ProgressReporter {
 public:
  // `what` names the work: log lines come from component "folioctl.<what>" as
  // "<what> progress".
  explicit ProgressReporter(std::string what);
  ~ProgressReporter();  // ends a bar left open (a failed run)
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // A new frame. With progress_bars() (output.hpp): redraws the bar on stderr at most five
  // times a second, and always for the done frame (which ends the bar's line) or when
  // `force` (a change the operator should see at once, such as a pause). Otherwise: a log
  // line {percent, rows, rows_per_s, eta_s, ...fields} every 5 s and when `force`; nothing
  // for the done frame, as the command's result follows.
  void update(const folio::obs::ProgressLine& line, boost::json::object fields = {},
              bool force = false);

 private:
  using Clock = std::chrono::steady_clock;
  bool bars_;
  std::string what_;
  folio::obs::Logger log_;
  Clock::time_point last_{};
  bool drawn_ = false;
};

// The sink folioctl's logs go to while bars may be drawn: each line is written on stderr
// above the bar, which is redrawn beneath it.
std::shared_ptr<spdlog::sinks::sink> terminal_log_sink();

// Ends the bar's line, if one is shown, so the next text starts on a line of its own.
void end_progress_line();

}  // namespace folioctl
