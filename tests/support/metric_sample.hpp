// The value of one series (name plus its label set, as printed) in the global metrics
// registry's exposition, for tests that read what a component counted.
//
// Thread-safety: as obs::Registry::expose().
#pragma once

#include <string>

#include "folio/obs/metrics.hpp"

namespace folio::test {

// `absent` when the series is not in the exposition.
inline double metric_sample(const std::string& series, double absent) {
  const std::string text = obs::Registry::global().expose();
  const std::string prefix = series + " ";
  for (std::size_t pos = text.find(prefix); pos != std::string::npos;
       pos = text.find(prefix, pos + 1)) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + prefix.size()));
  }
  return absent;
}

}  // namespace folio::test
