// How folioctl speaks, decided once per run: for a person at a terminal, or for a program.
//
//   human (stdout is a terminal, no --json): one readable summary per result on stdout
//         (aligned tables, "12.4 s", "61,200 rows/s"); logs on stderr in the compact human
//         form (obs/log.hpp); progress bars redrawn on stderr when it is a terminal too.
//   json  (--json, or stdout is not a terminal): one JSON document per result on stdout,
//         one line each; JSON-lines logs on stderr; progress as periodic log lines, no bar.
//
// Numbers are never written with an exponent in either mode (obs/json_text.hpp).
//
// Thread-safety: init_output() once from main() before anything prints; the rest may be
// called from any thread afterwards (folioctl runs one io_context on the main thread).
#pragma once

#include <boost/json/object.hpp>
#include <string_view>

#include "folio/cutover/audit.hpp"

namespace folioctl {

enum class OutputMode { human, json };

// Decides the mode from `json_flag` and whether stdout is a terminal, and sets the log format
// and sink to match. Before it runs the mode is human and logs are JSON lines.
void init_output(bool json_flag);

OutputMode output_mode();
inline bool json_output() { return output_mode() == OutputMode::json; }

// Whether to draw progress bars: human mode and stderr is a terminal.
bool progress_bars();

// Prints one result on stdout: `doc` as one line of JSON in json mode, `human` otherwise
// (as is: it ends in a newline).
void print_result(const boost::json::object& doc, std::string_view human);

// print_result for an audited phase: cutover::to_json / cutover::format_phase.
void print_phase(const folio::cutover::AuditedPhase& phase);

// Reports a failure that ends the run with `exit_code`: "folioctl: <message>" on stderr in
// human mode, one JSON log line (level error, with exit_code and `fields`) in json mode.
void print_error(std::string_view message, int exit_code, boost::json::object fields = {});

// A notice for the operator that is not a result (e.g. "store the token now"): a plain line on
// stderr in human mode, a JSON log line at info in json mode.
void print_notice(std::string_view message, boost::json::object fields = {});

}  // namespace folioctl
