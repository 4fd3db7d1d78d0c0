#include "output.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>

#include "folio/obs/json_text.hpp"
#include "folio/obs/log.hpp"
#include "progress.hpp"

namespace folioctl {

namespace {

std::atomic<OutputMode> g_mode{OutputMode::human};
std::atomic<bool> g_bars{false};

const folio::obs::Logger& cli_log() {
  static const folio::obs::Logger log("folioctl");
  return log;
}

}  // namespace

void init_output(bool json_flag) {
  const bool stdout_tty = ::isatty(STDOUT_FILENO) == 1;
  const bool stderr_tty = ::isatty(STDERR_FILENO) == 1;
  const OutputMode mode = json_flag || !stdout_tty ? OutputMode::json : OutputMode::human;
  g_mode.store(mode);
  g_bars.store(mode == OutputMode::human && stderr_tty);
  folio::obs::set_log_format(mode == OutputMode::human ? folio::obs::LogFormat::kHuman
                                                       : folio::obs::LogFormat::kJson);
  // Log lines and the progress bar share stderr: the sink lifts the bar over each line.
  if (g_bars.load()) folio::obs::set_log_sink(terminal_log_sink());
}

OutputMode output_mode() { return g_mode.load(); }

bool progress_bars() { return g_bars.load(); }

void print_result(const boost::json::object& doc, std::string_view human) {
  if (json_output()) {
    std::cout << folio::obs::to_json_text(doc) << "\n";
  } else {
    std::cout << human;
  }
  std::cout.flush();
}

void print_phase(const folio::cutover::AuditedPhase& phase) {
  print_result(folio::cutover::to_json(phase),
               json_output() ? std::string() : folio::cutover::format_phase(phase));
}

void print_error(std::string_view message, int exit_code, boost::json::object fields) {
  if (json_output()) {
    fields["exit_code"] = exit_code;
    cli_log().error(message, std::move(fields));
    return;
  }
  end_progress_line();
  std::cerr << "folioctl: " << message << "\n";
}

void print_notice(std::string_view message, boost::json::object fields) {
  if (json_output()) {
    cli_log().info(message, std::move(fields));
    return;
  }
  end_progress_line();
  std::cerr << message << "\n";
}

}  // namespace folioctl
