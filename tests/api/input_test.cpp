// Input validation and the error body it produces, without a server: what the fuzz targets
// found (fuzz/README.md) stays fixed here.
#include "detail/input.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

#include "detail/http.hpp"

namespace folio::api::detail {
namespace {

using namespace std::string_literals;

// The error object of a response, which must be valid JSON (and so valid UTF-8).
boost::json::object error_of(const Response& res) {
  boost::system::error_code ec;
  const auto body = boost::json::parse(res.body(), ec);
  EXPECT_FALSE(ec) << "not JSON: " << res.body();
  if (ec) return {};
  return body.at("error").as_object();
}

template <typename F>
Problem problem_of(F&& f) {
  try {
    f();
  } catch (const Problem& p) {
    return p;
  }
  ADD_FAILURE() << "accepted";
  return Problem(0, "", "");
}

// A query parameter's name is quoted in the message and named as the field; percent-decoded,
// it may be any bytes (found by fuzz/query_fuzz: "%ff=1" gave an error body that was not JSON).
TEST(InputErrors, AnUndecodableParameterNameStillGivesAJsonBody) {
  const auto p = problem_of([] { parse_query("%ff=1", {"from"}); });
  EXPECT_EQ(p.status(), 400);
  EXPECT_EQ(p.code(), code::kUnknownField);
  const auto error = error_of(problem_response(p));
  EXPECT_EQ(error.at("field").as_string(), "\xEF\xBF\xBD");
  EXPECT_EQ(error.at("message").as_string(), "unknown query parameter '\xEF\xBF\xBD'");
}

// Beast accepts obs-text (0x80-0xFF) in header values, and the 415 quotes the Content-Type.
TEST(InputErrors, AnUndecodableContentTypeStillGivesAJsonBody) {
  Request req{http::verb::post, "/v1/orgs/1/revenues", 11};
  req.set(http::field::content_type, "text/\xE9t\xE9");
  req.body() = "{}";
  const auto p = problem_of([&] { parse_json_object(req); });
  EXPECT_EQ(p.status(), 415);
  EXPECT_EQ(error_of(problem_response(p)).at("message").as_string(),
            "the body must be application/json, got 'text/\xEF\xBF\xBDt\xEF\xBF\xBD'");
}

TEST(InputErrors, ErrorTextKeepsValidUtf8AndReplacesEveryInvalidByte) {
  const auto message = [](const std::string& text) {
    return std::string(
        error_of(error_response(400, code::kInvalidValue, text, text)).at("message").as_string());
  };
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(message("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(message("a\xC3("), "a" + r + "(");            // a lead byte without its tail
  EXPECT_EQ(message("\xC0\xAF"), r + r);                  // an overlong '/'
  EXPECT_EQ(message("\xE0\x80\xAF"), r + r + r);          // overlong, three bytes
  EXPECT_EQ(message("\xED\xA0\x80"), r + r + r);          // a UTF-16 surrogate
  EXPECT_EQ(message("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(message("\xE2\x82"), r + r);                  // cut short at the end
  EXPECT_EQ(message("\x80\xFF"), r + r);                  // no lead byte at all
  EXPECT_EQ(message("nul \0 kept"s), "nul \0 kept"s);     // JSON escapes it
}

}  // namespace
}  // namespace folio::api::detail
