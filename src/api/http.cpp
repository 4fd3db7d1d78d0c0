#include "detail/http.hpp"

#include <boost/json/serialize.hpp>

namespace folio::api::detail {

Response json_response(int status, const boost::json::value& body) {
  return text_response(status, boost::json::serialize(body), "application/json");
}

Response error_response(int status, const std::string& code, const std::string& message,
                        const std::optional<std::string>& field) {
  boost::json::object error{{"code", code}, {"message", message}};
  error["field"] = field ? boost::json::value(*field) : boost::json::value(nullptr);
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
