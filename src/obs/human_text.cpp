#include "folio/obs/human_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace folio::obs {

std::string thousands(std::int64_t n) {
  // Through the unsigned magnitude: -INT64_MIN does not fit an int64.
  const std::uint64_t magnitude =
      n < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
  const std::string digits = std::to_string(magnitude);
  std::string out = n < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-";
  if (seconds < 0.9995) return fmt::format("{} ms", std::llround(seconds * 1000));
  if (seconds < 59.95) return fmt::format("{:.1f} s", seconds);
  const long long whole = std::llround(seconds);
  if (whole < 3600) return fmt::format("{} min {:02} s", whole / 60, whole % 60);
  const long long minutes = std::llround(seconds / 60);
  return fmt::format("{} h {:02} min", minutes / 60, minutes % 60);
}

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds)) return "-:--";
  const long long s = std::llround(std::max(0.0, seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string rate_text(double per_second, std::string_view unit) {
  if (!std::isfinite(per_second) || per_second < 0) return fmt::format("- {}", unit);
  if (per_second < 9.95) return fmt::format("{:.1f} {}", per_second, unit);
  auto whole = static_cast<std::int64_t>(std::llround(per_second));
  if (whole >= 1000) {
    // Three significant digits.
    std::int64_t scale = 1;
    for (std::int64_t v = whole; v >= 1000; v /= 10) scale *= 10;
    whole = (whole + scale / 2) / scale * scale;
  }
  return fmt::format("{} {}", thousands(whole), unit);
}

std::string percent_text(double fraction) {
  if (!std::isfinite(fraction)) fraction = 0;
  return fmt::format("{:.1f}%", std::clamp(fraction, 0.0, 1.0) * 100);
}

std::string bytes_text(std::int64_t bytes) {
  if (bytes < 1024 && bytes > -1024) return fmt::format("{} B", bytes);
  constexpr std::string_view kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (std::abs(value) >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string progress_line_text(const ProgressLine& line, int bar_width) {
  const double fraction = line.done                      ? 1.0
                          : std::isfinite(line.fraction) ? std::clamp(line.fraction, 0.0, 1.0)
                                                         : 0.0;
  const int width = std::max(1, bar_width);
  const int filled = std::clamp(static_cast<int>(fraction * width), 0, width);
  std::string text = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                     std::string(static_cast<std::size_t>(width - filled), ' ') + "] ";
  text += fmt::format("{:>6}", percent_text(fraction));
  text += "  " + thousands(line.rows) + " rows  " + rate_text(line.rows_per_s) + "  ETA ";
  text += line.done ? clock_text(0) : line.eta_seconds ? clock_text(*line.eta_seconds) : "-:--";
  if (!line.note.empty()) text += "  " + line.note;
  return text;
}

}  // namespace folio::obs
