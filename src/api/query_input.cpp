// Query-string and path-parameter validation (detail/input.hpp).
#include <charconv>

#include "detail/input.hpp"
#include "folio/finance/finance_repository.hpp"

namespace folio::api::detail {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding ('+' is a space, as HTML forms send it); nullopt on a bad escape.
std::optional<std::string> decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_digit(text[i + 1]);
      const int lo = hex_digit(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

const std::string* param(const std::map<std::string, std::string>& params, const char* name) {
  const auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

finance::Day required_day(const std::map<std::string, std::string>& params, const char* name) {
  const auto* text = param(params, name);
  if (text == nullptr) bad_request(code::kMissingField, name, std::string(name) + " is required");
  const auto day = parse_day(*text);
  if (!day) {
    bad_request(code::kInvalidValue, name,
                std::string(name) + " must be a date YYYY-MM-DD, years " +
                    std::to_string(kMinYear) + "-" + std::to_string(kMaxYear));
  }
  return *day;
}

}  // namespace

std::map<std::string, std::string> parse_query(std::string_view query,
                                               std::initializer_list<std::string_view> allowed) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const auto raw_name = pair.substr(0, eq);
    const auto raw_value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    const auto name = decode(raw_name);
    if (!name) bad_request(code::kInvalidValue, std::string(raw_name), "malformed query escape");
    bool known = false;
    for (const auto a : allowed) known = known || *name == a;
    if (!known) bad_request(code::kUnknownField, *name, "unknown query parameter '" + *name + "'");
    auto value = decode(raw_value);
    if (!value) bad_request(code::kInvalidValue, *name, *name + " has a malformed escape");
    if (!params.emplace(*name, std::move(*value)).second) {
      bad_request(code::kInvalidValue, *name, *name + " is given more than once");
    }
  }
  return params;
}

DayRange day_range(const std::map<std::string, std::string>& params) {
  DayRange range;
  range.from = required_day(params, "from");
  range.to = required_day(params, "to");
  if (range.from > range.to) bad_request(code::kInvalidValue, "from", "from is after to");
  if ((range.to - range.from).count() + 1 > kMaxSpanDays) {
    bad_request(code::kInvalidValue, "to",
                "the range spans more than " + std::to_string(kMaxSpanDays) + " days");
  }
  return range;
}

std::size_t page_limit(const std::map<std::string, std::string>& params) {
  const auto* text = param(params, "limit");
  if (text == nullptr) return kDefaultPageSize;
  std::size_t limit = 0;
  const auto* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, limit);
  if (text->empty() || ec != std::errc() || ptr != end || limit < 1 ||
      limit > finance::kMaxPageSize) {
    bad_request(code::kInvalidValue, "limit",
                "limit must be an integer 1.." + std::to_string(finance::kMaxPageSize));
  }
  return limit;
}

std::optional<finance::Cursor> page_cursor(const std::map<std::string, std::string>& params) {
  const auto* text = param(params, "cursor");
  if (text == nullptr) return std::nullopt;
  auto cursor = finance::decode_cursor(*text);
  if (!cursor) {
    bad_request(code::kInvalidValue, "cursor", "cursor is not one this API returned");
  }
  return cursor;
}

finance::Granularity granularity_param(const std::map<std::string, std::string>& params) {
  const auto it = params.find("granularity");
  if (it == params.end() || it->second == "day") return finance::Granularity::day;
  if (it->second == "month") return finance::Granularity::month;
  bad_request(code::kInvalidValue, "granularity", "granularity must be day or month");
}

finance::EntryKind kind_param(const std::map<std::string, std::string>& params) {
  const auto it = params.find("kind");
  if (it == params.end()) bad_request(code::kMissingField, "kind", "kind is required");
  if (it->second == "revenue") return finance::EntryKind::revenue;
  if (it->second == "expense") return finance::EntryKind::expense;
  bad_request(code::kInvalidValue, "kind", "kind must be revenue or expense");
}

std::optional<std::int64_t> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 19 || text[0] == '0') return std::nullopt;
  std::int64_t id = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, id);
  if (ec != std::errc() || ptr != end || id <= 0) return std::nullopt;
  return id;
}

}  // namespace folio::api::detail
