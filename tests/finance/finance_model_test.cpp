// The finance model without a database: cursor text (round trips, strict rejection of
// anything else), categories, and the InvalidValue a CHECK violation stands for.
#include <gtest/gtest.h>

#include "detail/unit.hpp"
#include "folio/db/errors.hpp"
#include "folio/finance/model.hpp"

namespace folio::finance {
namespace {

using namespace std::chrono;

TEST(Cursor, RoundTripsAndIsUrlSafe) {
  const std::vector<Cursor> cursors = {
      {Timestamp(microseconds(0)), 1},
      {time_point_cast<microseconds>(sys_days(2026y / November / 21)) + microseconds(123456), 42},
      {time_point_cast<microseconds>(sys_days(1y / January / 1)), INT64_MAX},
      {time_point_cast<microseconds>(sys_days(9999y / December / 31)) + hours(23), 7}};
  for (const Cursor& c : cursors) {
    const std::string text = encode_cursor(c);
    EXPECT_EQ(text.size(), 24u);
    EXPECT_EQ(
        text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos)
        << text;
    EXPECT_EQ(decode_cursor(text), c) << text;
  }
}

TEST(Cursor, RejectsAnythingElse) {
  const std::string good = encode_cursor({Timestamp(microseconds(1'700'000'000'000'000)), 99});
  EXPECT_EQ(decode_cursor(""), std::nullopt);
  EXPECT_EQ(decode_cursor("garbage"), std::nullopt);
  EXPECT_EQ(decode_cursor(good + "A"), std::nullopt);
  EXPECT_EQ(decode_cursor(good.substr(1)), std::nullopt);
  std::string plus = good;
  plus[3] = '+';  // standard base64, not URL-safe
  EXPECT_EQ(decode_cursor(plus), std::nullopt);
  // Every single-character change is caught (format or check byte).
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string changed = good;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(decode_cursor(changed), std::nullopt) << i;
  }
  // Ids must be positive, times within years 1..9999.
  EXPECT_EQ(decode_cursor(encode_cursor({Timestamp(microseconds(0)), 0})), std::nullopt);
  EXPECT_EQ(decode_cursor(encode_cursor({Timestamp(microseconds(0)), -5})), std::nullopt);
  EXPECT_EQ(decode_cursor(encode_cursor({Timestamp(microseconds(INT64_MAX)), 5})), std::nullopt);
}

TEST(Categories, MatchTheTables) {
  EXPECT_TRUE(is_category(EntryKind::revenue, "food_beverage"));
  EXPECT_FALSE(is_category(EntryKind::revenue, "payroll"));
  EXPECT_TRUE(is_category(EntryKind::expense, "payroll"));
  EXPECT_TRUE(is_category(EntryKind::expense, "other"));
  EXPECT_FALSE(is_category(EntryKind::expense, "Payroll"));
  EXPECT_EQ(categories(EntryKind::revenue).size(), 5u);
  EXPECT_EQ(categories(EntryKind::expense).size(), 6u);
  EXPECT_EQ(to_string(EntryKind::expense), "expense");
  EXPECT_EQ(to_string(Granularity::month), "month");
}

std::string field_of(const db::Error& error) {
  const auto mapped = detail::invalid_value_for(error);
  if (!mapped) return "";
  try {
    std::rethrow_exception(mapped);
  } catch (const InvalidValue& e) {
    return e.field();
  }
  return "?";
}

TEST(CheckViolations, NameTheFieldByTheConstraint) {
  const auto check = [](const char* constraint, const char* message = "some text") {
    return db::CheckViolation("23514", message, db::ErrorFields{.constraint = constraint});
  };
  EXPECT_EQ(field_of(check("revenues_category_check")), "category");
  EXPECT_EQ(field_of(check("expenses_partitioned_amount_cents_check")), "amount_cents");
  EXPECT_EQ(field_of(check("balances_check")), "");
  // The message does not count, whatever it says (its wording follows lc_messages).
  EXPECT_EQ(field_of(check("", "violates check constraint \"revenues_category_check\"")), "");
  EXPECT_EQ(field_of(db::UniqueViolation("23505", "x",
                                         db::ErrorFields{.constraint = "revenues_category_check"})),
            "");
}

}  // namespace
}  // namespace folio::finance
