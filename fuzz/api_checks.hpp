// What the API targets accept as the outcome of validation: a value, or a Problem — an
// input error with a 4xx status whose error body is valid JSON naming the same code. Any
// other exception escapes the target and is a finding.
#pragma once

#include <boost/json/parse.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "check.hpp"
#include "detail/http.hpp"
#include "detail/input.hpp"
#include "folio/api/time_text.hpp"
#include "folio/finance/model.hpp"

namespace folio::fuzz {

inline void check_problem(const api::detail::Problem& problem) {
  FUZZ_CHECK(problem.status() == 400 || problem.status() == 415);
  const auto res = api::detail::problem_response(problem);
  boost::system::error_code ec;
  const auto body = boost::json::parse(res.body(), ec);
  FUZZ_CHECK(!ec);
  FUZZ_CHECK(body.at("error").at("code").as_string() == problem.code());
}

// Runs `validate`, accepting a value or a Problem.
template <typename Validate>
void expect_value_or_problem(Validate&& validate) {
  try {
    validate();
  } catch (const api::detail::Problem& problem) {
    check_problem(problem);
  }
}

// A validated timestamp is in the supported years and survives formatting and parsing.
inline void check_timestamp(finance::Timestamp t) {
  using namespace std::chrono;
  const int y = static_cast<int>(year_month_day{floor<days>(t)}.year());
  FUZZ_CHECK(y >= api::kMinYear && y <= api::kMaxYear);
  FUZZ_CHECK(api::parse_timestamp(api::format_timestamp(t)) == t);
}

inline void check_text(const std::optional<std::string>& text, std::size_t max_bytes) {
  if (!text) return;
  FUZZ_CHECK(text->size() <= max_bytes);
  FUZZ_CHECK(text->find('\0') == std::string::npos);
}

// What the repositories may rely on after new_entry().
inline void check_new_entry(const finance::NewEntry& e, finance::EntryKind kind) {
  FUZZ_CHECK(finance::is_category(kind, e.category));
  FUZZ_CHECK(e.amount_cents >= 0 && e.amount_cents <= api::detail::kMaxAmountCents);
  FUZZ_CHECK(!e.currency || api::detail::is_currency(*e.currency));
  check_timestamp(e.occurred_at);
  check_text(e.description, api::detail::kMaxTextBytes);
  check_text(e.vendor, api::detail::kMaxNameBytes);
  FUZZ_CHECK(kind == finance::EntryKind::expense || !e.vendor);
}

// What the repositories may rely on after entry_patch().
inline void check_patch(const finance::EntryPatch& p, finance::EntryKind kind) {
  FUZZ_CHECK(!p.empty());
  FUZZ_CHECK(!p.category || finance::is_category(kind, *p.category));
  FUZZ_CHECK(!p.amount_cents ||
             (*p.amount_cents >= 0 && *p.amount_cents <= api::detail::kMaxAmountCents));
  FUZZ_CHECK(!p.currency || api::detail::is_currency(*p.currency));
  if (p.occurred_at) check_timestamp(*p.occurred_at);
  if (p.description) check_text(*p.description, api::detail::kMaxTextBytes);
  if (p.vendor) check_text(*p.vendor, api::detail::kMaxNameBytes);
  FUZZ_CHECK(kind == finance::EntryKind::expense || !p.vendor);
}

inline void check_day_range(const api::detail::DayRange& r) {
  FUZZ_CHECK(r.from <= r.to);
  FUZZ_CHECK((r.to - r.from).count() + 1 <= api::detail::kMaxSpanDays);
  FUZZ_CHECK(api::parse_day(api::format_day(r.from)) == r.from);
  FUZZ_CHECK(api::parse_day(api::format_day(r.to)) == r.to);
}

// A cursor the API accepted is one it could have written.
inline void check_cursor(const std::optional<finance::Cursor>& c, const std::string& text) {
  if (!c) return;
  FUZZ_CHECK(c->id > 0);
  FUZZ_CHECK(finance::is_supported_time(c->occurred_at));
  FUZZ_CHECK(finance::encode_cursor(*c) == text);
}

}  // namespace folio::fuzz
