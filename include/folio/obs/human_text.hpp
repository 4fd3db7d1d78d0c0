// Numbers as a person reads them on a terminal: thousands separators, durations and rates in
// plain units, never an exponent ("12.4 s", "61,200 rows/s", "3 min 05 s"), and the one-line
// progress bar folioctl redraws. Machine output (JSON) uses json_text.hpp instead.
//
// Thread-safety: stateless functions, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace folio::obs {

// 1234567 -> "1,234,567"; -1234 -> "-1,234".
std::string thousands(std::int64_t n);

// A duration in the unit that reads best: "48 ms" below a second, "12.4 s" below a minute,
// "3 min 05 s" below an hour, then "1 h 02 min". Negative, NaN or infinite: "-".
std::string duration_text(double seconds);

// A countdown: "0:17", "12:05", "1:02:05" (negative counts as 0). NaN or infinite: "-:--".
std::string clock_text(double seconds);

// A rate with its unit: "3.5 rows/s" below 10, whole numbers below 1,000, then three
// significant digits with thousands separators ("61,200 rows/s"), as a rate that moves
// every second has no more. Negative, NaN or infinite: "- <unit>".
std::string rate_text(double per_second, std::string_view unit = "rows/s");

// A fraction as a percentage with one decimal, clamped to [0, 1]: 0.4523 -> "45.2%".
std::string percent_text(double fraction);

// Bytes in binary units: "512 B", "1.5 KiB", "64.0 MiB", "2.3 GiB".
std::string bytes_text(std::int64_t bytes);

// One frame of a progress bar.
struct ProgressLine {
  double fraction = 0;                // of the estimated work, clamped to [0, 1]
  std::int64_t rows = 0;              // done by this run
  double rows_per_s = 0;              // measured
  std::optional<double> eta_seconds;  // nullopt until a rate is known
  bool done = false;                  // the final frame: 100 %, ETA 0:00
  std::string note;                   // appended after two spaces when not empty
};

// "[#########           ]  45.2%  1,234,567 rows  85,000 rows/s  ETA 0:17  (paused: replica
// lag)"; no '\r' or newline. REQUIRES: bar_width >= 1.
std::string progress_line_text(const ProgressLine& line, int bar_width = 20);

}  // namespace folio::obs
