#include "detail/http.hpp"

#include <boost/json/serialize.hpp>
#include <string>
#include <string_view>

namespace folio::api::detail {

namespace {

// `text` with each byte that does not belong to a well-formed UTF-8 sequence replaced by
// U+FFFD. Messages and field names may quote request bytes (a query parameter's name, a
// Content-Type), and the error body must stay JSON, which is UTF-8.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
    const unsigned char c = byte(0);
    const std::size_t n = c < 0x80                 ? 1
                          : c >= 0xC2 && c <= 0xDF ? 2
                          : c >= 0xE0 && c <= 0xEF ? 3
                          : c >= 0xF0 && c <= 0xF4 ? 4
                                                   : 0;
    bool ok = n > 0 && n <= text.size() - i;
    for (std::size_t k = 1; ok && k < n; ++k) ok = (byte(k) & 0xC0) == 0x80;
    if (ok && n > 2) {
      // No overlong forms, no surrogates, nothing above U+10FFFF.
      if (c == 0xE0) ok = byte(1) >= 0xA0;
      if (c == 0xED) ok = byte(1) < 0xA0;
      if (c == 0xF0) ok = byte(1) >= 0x90;
      if (c == 0xF4) ok = byte(1) < 0x90;
    }
    if (ok) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace

Response json_response(int status, const boost::json::value& body) {
  return text_response(status, boost::json::serialize(body), "application/json");
}

Response error_response(int status, const std::string& code, const std::string& message,
                        const std::optional<std::string>& field) {
  boost::json::object error{{"code", code}, {"message", valid_utf8(message)}};
  error["field"] = field ? boost::json::value(valid_utf8(*field)) : boost::json::value(nullptr);
  return json_response(status, boost::json::object{{"error", std::move(error)}});
}

Response problem_response(const Problem& problem) {
  return error_response(problem.status(), problem.code(), problem.what(), problem.field());
}

Response text_response(int status, std::string body, const char* content_type) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

Response empty_response(int status) {
  Response res{static_cast<http::status>(status), 11};
  return res;
}

}  // namespace folio::api::detail
