// The HTTP vocabulary of the API layer: request and response types, JSON responses and the
// error every handler reports bad input with.
//
// Problem is thrown by validation and handlers for an expected refusal (bad input, not
// found, forbidden) and turned into the one error body format at the boundary
// (error_mapping.hpp): {"error": {"code", "message", "field"}}. It never escapes the API
// layer.
//
// Thread-safety: values only.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace folio::api::detail {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Error codes of the body's "code" field (docs/api.md lists them with their statuses).
namespace code {
inline constexpr const char* kInvalidJson = "invalid_json";
inline constexpr const char* kInvalidType = "invalid_type";
inline constexpr const char* kInvalidValue = "invalid_value";
inline constexpr const char* kMissingField = "missing_field";
inline constexpr const char* kUnknownField = "unknown_field";
inline constexpr const char* kUnauthorized = "unauthorized";
inline constexpr const char* kForbidden = "forbidden";
inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kMethodNotAllowed = "method_not_allowed";
inline constexpr const char* kPayloadTooLarge = "payload_too_large";
inline constexpr const char* kUnsupportedMediaType = "unsupported_media_type";
inline constexpr const char* kConflict = "conflict";
inline constexpr const char* kUnavailable = "unavailable";
inline constexpr const char* kInternal = "internal";
}  // namespace code

class Problem : public std::runtime_error {
 public:
  Problem(int status, std::string code, const std::string& message,
          std::optional<std::string> field = std::nullopt)
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        field_(std::move(field)) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }
  const std::optional<std::string>& field() const noexcept { return field_; }

 private:
  int status_;
  std::string code_;
  std::optional<std::string> field_;
};

// 400 with the field named.
[[noreturn]] inline void bad_request(const char* code, std::string field,
                                     const std::string& message) {
  throw Problem(400, code, message, std::move(field));
}

// 404: the same answer whether the thing is missing or belongs to someone else.
[[noreturn]] inline void not_found(const std::string& what = "not found") {
  throw Problem(404, code::kNotFound, what);
}

Response json_response(int status, const boost::json::value& body);
Response error_response(int status, const std::string& code, const std::string& message,
                        const std::optional<std::string>& field);
Response problem_response(const Problem& problem);
Response text_response(int status, std::string body, const char* content_type);
Response empty_response(int status);

}  // namespace folio::api::detail
