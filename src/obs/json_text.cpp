#include "folio/obs/json_text.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <cassert>
#include <cmath>

namespace folio::obs {

namespace json = boost::json;

namespace {

void write(std::string& out, const json::value& value, int decimals) {
  switch (value.kind()) {
    case json::kind::double_:
      out += fixed_number_text(value.get_double(), decimals);
      return;
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& field : value.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string_view(field.key()));
        out += ':';
        write(out, field.value(), decimals);
      }
      out += '}';
      return;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& element : value.get_array()) {
        if (!first) out += ',';
        first = false;
        write(out, element, decimals);
      }
      out += ']';
      return;
    }
    default:  // null, bool, int64, uint64, string: Boost.JSON writes them plainly
      out += json::serialize(value);
      return;
  }
}

}  // namespace

std::string fixed_number_text(double value, int decimals) {
  assert(decimals >= 0 && decimals <= 17);
  if (!std::isfinite(value)) return "null";
  std::string text = fmt::format("{:.{}f}", value, decimals);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

std::string to_json_text(const json::value& value, int decimals) {
  std::string out;
  write(out, value, decimals);
  return out;
}

}  // namespace folio::obs
