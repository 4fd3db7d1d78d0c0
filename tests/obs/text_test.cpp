// Numbers as text: JSON without exponents (json_text) and plain units for people
// (human_text).
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <limits>
#include <regex>

#include "folio/obs/human_text.hpp"
#include "folio/obs/json_text.hpp"

namespace folio::obs {
namespace {

const std::regex kExponent("[0-9][eE][+-]?[0-9]");

TEST(FixedNumberTextTest, RoundsToDecimalsAndDropsTrailingZeros) {
  EXPECT_EQ(fixed_number_text(1.369236024), "1.369");
  EXPECT_EQ(fixed_number_text(1.5), "1.5");
  EXPECT_EQ(fixed_number_text(61200.0), "61200");
  EXPECT_EQ(fixed_number_text(0.0), "0");
  EXPECT_EQ(fixed_number_text(-0.0001), "0");
  EXPECT_EQ(fixed_number_text(-2.25), "-2.25");
  EXPECT_EQ(fixed_number_text(0.0005, 3), "0.001");
  EXPECT_EQ(fixed_number_text(1.23456, 1), "1.2");
  EXPECT_EQ(fixed_number_text(7.9, 0), "8");
  EXPECT_EQ(fixed_number_text(1e20), "100000000000000000000");
  EXPECT_EQ(fixed_number_text(1e-9), "0");
  EXPECT_EQ(fixed_number_text(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(fixed_number_text(std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonTextTest, WritesDoublesWithoutExponentAndEverythingElseAsBoost) {
  const boost::json::value v = {{"seconds", 1.369236024},
                                {"rows_per_s", 61200.0},
                                {"rows", 12345},
                                {"big", std::uint64_t{18446744073709551615ULL}},
                                {"name", "a \"quoted\"\nline"},
                                {"ok", true},
                                {"none", nullptr},
                                {"list", {1.5, 2, "x", boost::json::object{{"tiny", 1e-7}}}},
                                {"empty", boost::json::object{}}};
  // Boost.JSON itself would write these with exponents.
  EXPECT_TRUE(std::regex_search(boost::json::serialize(v), kExponent));
  const std::string text = to_json_text(v);
  EXPECT_FALSE(std::regex_search(text, kExponent)) << text;
  EXPECT_EQ(text,
            "{\"seconds\":1.369,\"rows_per_s\":61200,\"rows\":12345,\"big\":18446744073709551615,"
            "\"name\":\"a \\\"quoted\\\"\\nline\",\"ok\":true,\"none\":null,"
            "\"list\":[1.5,2,\"x\",{\"tiny\":0}],\"empty\":{}}");
  // Still JSON, with the same keys and (rounded) numbers.
  const auto back = boost::json::parse(text).as_object();
  EXPECT_EQ(back.at("name").as_string(), "a \"quoted\"\nline");
  EXPECT_DOUBLE_EQ(back.at("seconds").as_double(), 1.369);
  EXPECT_EQ(back.at("rows_per_s").as_int64(), 61200);
  EXPECT_EQ(to_json_text(boost::json::value(2.345678), 1), "2.3");
  EXPECT_EQ(to_json_text(boost::json::array{}), "[]");
}

TEST(HumanTextTest, Thousands) {
  EXPECT_EQ(thousands(0), "0");
  EXPECT_EQ(thousands(999), "999");
  EXPECT_EQ(thousands(1000), "1,000");
  EXPECT_EQ(thousands(1234567), "1,234,567");
  EXPECT_EQ(thousands(-1234), "-1,234");
  EXPECT_EQ(thousands(std::numeric_limits<std::int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(HumanTextTest, DurationsInTheUnitThatReadsBest) {
  EXPECT_EQ(duration_text(0), "0 ms");
  EXPECT_EQ(duration_text(0.0484), "48 ms");
  EXPECT_EQ(duration_text(0.9999), "1.0 s");
  EXPECT_EQ(duration_text(1.369236024), "1.4 s");
  EXPECT_EQ(duration_text(12.44), "12.4 s");
  EXPECT_EQ(duration_text(185), "3 min 05 s");
  EXPECT_EQ(duration_text(3725), "1 h 02 min");
  EXPECT_EQ(duration_text(-1), "-");
  EXPECT_EQ(duration_text(std::numeric_limits<double>::quiet_NaN()), "-");
}

TEST(HumanTextTest, ClockRatePercentBytes) {
  EXPECT_EQ(clock_text(17), "0:17");
  EXPECT_EQ(clock_text(725), "12:05");
  EXPECT_EQ(clock_text(3725), "1:02:05");
  EXPECT_EQ(clock_text(-5), "0:00");
  EXPECT_EQ(clock_text(std::numeric_limits<double>::infinity()), "-:--");

  EXPECT_EQ(rate_text(3.456), "3.5 rows/s");
  EXPECT_EQ(rate_text(612.4), "612 rows/s");
  EXPECT_EQ(rate_text(61234.9), "61,200 rows/s");
  EXPECT_EQ(rate_text(85000.4), "85,000 rows/s");
  EXPECT_EQ(rate_text(1234567), "1,230,000 rows/s");
  EXPECT_EQ(rate_text(99960), "100,000 rows/s");
  EXPECT_EQ(rate_text(2.5e9, "B/s"), "2,500,000,000 B/s");
  EXPECT_EQ(rate_text(-1), "- rows/s");

  EXPECT_EQ(percent_text(0.4523), "45.2%");
  EXPECT_EQ(percent_text(1.7), "100.0%");
  EXPECT_EQ(percent_text(-1), "0.0%");

  EXPECT_EQ(bytes_text(512), "512 B");
  EXPECT_EQ(bytes_text(1536), "1.5 KiB");
  EXPECT_EQ(bytes_text(64LL << 20), "64.0 MiB");
}

TEST(HumanTextTest, ProgressLine) {
  ProgressLine line;
  line.fraction = 0.452;
  line.rows = 1234567;
  line.rows_per_s = 85000.4;
  line.eta_seconds = 17;
  line.note = "balances";
  EXPECT_EQ(progress_line_text(line, 10),
            "[####      ]  45.2%  1,234,567 rows  85,000 rows/s  ETA 0:17  balances");
  line.eta_seconds.reset();
  line.note.clear();
  line.fraction = 0.999;
  EXPECT_EQ(progress_line_text(line, 4), "[### ]  99.9%  1,234,567 rows  85,000 rows/s  ETA -:--");
  line.done = true;  // the final frame is full whatever the estimate said
  EXPECT_EQ(progress_line_text(line, 4), "[####] 100.0%  1,234,567 rows  85,000 rows/s  ETA 0:00");
  line.done = false;
  line.fraction = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(progress_line_text(line, 2), "[  ]   0.0%  1,234,567 rows  85,000 rows/s  ETA -:--");
}

}  // namespace
}  // namespace folio::obs
