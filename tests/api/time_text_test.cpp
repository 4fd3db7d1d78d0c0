// The API's timestamp and date text: strict parsing, UTC output.
#include "folio/api/time_text.hpp"

#include <gtest/gtest.h>

namespace folio::api {
namespace {

using namespace std::chrono;

TEST(TimeText, FormatsUtcWithMicroseconds) {
  const Timestamp t = sys_days{2026y / March / 1} + hours{9} + minutes{30} + microseconds{250};
  EXPECT_EQ(format_timestamp(t), "2026-03-01T09:30:00.000250Z");
  EXPECT_EQ(format_day(sys_days{2026y / March / 1}), "2026-03-01");
}

TEST(TimeText, ParsesZuluAndOffsets) {
  const Timestamp expected = sys_days{2026y / March / 1} + hours{9} + minutes{30};
  EXPECT_EQ(parse_timestamp("2026-03-01T09:30:00Z"), expected);
  EXPECT_EQ(parse_timestamp("2026-03-01T10:30:00+01:00"), expected);
  EXPECT_EQ(parse_timestamp("2026-03-01T04:00:00-05:30"), expected);
  EXPECT_EQ(parse_timestamp("2026-03-01T09:30:00.5Z"), expected + milliseconds{500});
  EXPECT_EQ(parse_timestamp("2026-03-01T09:30:00.123456Z"), expected + microseconds{123456});
  // An offset may move the instant to another UTC day.
  EXPECT_EQ(parse_timestamp("2026-03-01T23:30:00-01:00"),
            Timestamp{sys_days{2026y / March / 2} + minutes{30}});
  const auto round_trip = parse_timestamp(format_timestamp(expected + microseconds{7}));
  EXPECT_EQ(round_trip, expected + microseconds{7});
}

TEST(TimeText, RefusesEverythingElse) {
  for (const char* bad : {"",
                          "2026-03-01",
                          "2026-03-01T09:30:00",
                          "2026-03-01 09:30:00Z",
                          "2026-02-30T00:00:00Z",
                          "2026-13-01T00:00:00Z",
                          "2026-03-01T24:00:00Z",
                          "2026-03-01T09:60:00Z",
                          "2026-03-01T09:30:60Z",
                          "2026-03-01T09:30:00.Z",
                          "2026-03-01T09:30:00.1234567Z",
                          "2026-03-01T09:30:00+0100",
                          "2026-03-01T09:30:00+24:00",
                          "2026-03-01t09:30:00Z",
                          "2026-03-01T09:30:00z",
                          "1969-12-31T23:59:59Z",
                          "+2026-03-01T09:30:00Z",
                          "2026-03-01T09:30:00ZZ",
                          "2026-3-01T09:30:00Z",
                          "1970-01-01T00:30:00+01:00"}) {
    EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
  }
  for (const char* bad : {"", "2026-02-29", "2026-04-31", "2026-1-01", "20260101", "2026-01-01 ",
                          "2026/01/01", "0000-01-01", "1969-12-31", "2026-00-10"}) {
    EXPECT_FALSE(parse_day(bad).has_value()) << bad;
  }
  EXPECT_EQ(parse_day("2024-02-29"), sys_days{2024y / February / 29});
}

}  // namespace
}  // namespace folio::api
