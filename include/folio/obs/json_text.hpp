// JSON text that people and programs read without exponents.
//
// boost::json::serialize writes every double in its shortest round-trip form with an
// exponent: 1.369236024 becomes "1.369236024E0" and 61200.0 "6.12E4". Logs, folioctl's JSON
// documents and cutover_audit's details are read by people and by tools that expect plain
// numbers, so folio writes JSON through to_json_text instead: the same compact text, except
// that doubles are written in fixed notation, rounded to a few decimals.
//
// Thread-safety: stateless functions, safe from any thread.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace folio::obs {

// Decimals kept by default: milliseconds of a duration in seconds, thousandths of a rate.
inline constexpr int kJsonDecimals = 3;

// `value` in fixed notation with at most `decimals` digits after the point, trailing zeros
// (and a trailing point) dropped: 1.369236024 -> "1.369", 2.5 -> "2.5", 61200.0 -> "61200",
// -0.0001 -> "0". NaN and infinities, which JSON cannot hold, are "null".
// REQUIRES: 0 <= decimals <= 17.
std::string fixed_number_text(double value, int decimals = kJsonDecimals);

// `value` as compact JSON, like boost::json::serialize, with every double written by
// fixed_number_text. Integers, strings (escaped as Boost.JSON escapes them), booleans and
// null are unchanged. Never throws except std::bad_alloc.
std::string to_json_text(const boost::json::value& value, int decimals = kJsonDecimals);

}  // namespace folio::obs
