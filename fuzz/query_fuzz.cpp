// Bytes as a query string and as the values in it: parse_query with every parameter a list
// or report accepts, then each parameter's validator, and the path-id, day, timestamp and
// cursor parsers on the raw bytes. What a parser accepts must survive being written back
// (a cursor is one encode_cursor could have written; a day or an id formats to the same text).
//
// Expected: a checked value or a Problem (api_checks.hpp); nullopt from the plain parsers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api_checks.hpp"
#include "folio/finance/finance_repository.hpp"

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace folio::api::detail;
  using folio::fuzz::expect_value_or_problem;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  expect_value_or_problem([&] {
    const auto params = parse_query(text, {"from", "to", "limit", "cursor", "granularity", "kind"});
    expect_value_or_problem([&] { folio::fuzz::check_day_range(day_range(params)); });
    expect_value_or_problem([&] {
      const auto limit = page_limit(params);
      FUZZ_CHECK(limit >= 1 && limit <= folio::finance::kMaxPageSize);
    });
    expect_value_or_problem([&] {
      const auto cursor = page_cursor(params);
      if (cursor) folio::fuzz::check_cursor(cursor, params.at("cursor"));
    });
    expect_value_or_problem([&] { granularity_param(params); });
    expect_value_or_problem([&] { kind_param(params); });
  });
  // A query string of a route that takes no parameters.
  expect_value_or_problem([&] { FUZZ_CHECK(parse_query(text, {}).empty()); });

  if (const auto id = parse_id(text)) {
    FUZZ_CHECK(*id > 0 && std::to_string(*id) == text);
  }
  if (const auto day = folio::api::parse_day(text)) {
    FUZZ_CHECK(folio::api::format_day(*day) == text);
  }
  if (const auto t = folio::api::parse_timestamp(text)) folio::fuzz::check_timestamp(*t);
  folio::fuzz::check_cursor(folio::finance::decode_cursor(text), std::string(text));
  return 0;
}
