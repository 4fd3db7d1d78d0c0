// The error mapping at the HTTP boundary: only the API's own refusals (Problem, the
// repositories' InvalidValue naming a field, SwitchRefused) reach the client with their
// message; any other exception — a std::invalid_argument thrown deep inside a library, a
// database error naming tables and constraints — is a 500 "internal error" (or a 400/503 with
// a message of the API's own), its text only in the log.
#include "detail/error_mapping.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/json/parse.hpp>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "folio/cutover/switchover.hpp"
#include "folio/db/errors.hpp"
#include "folio/finance/model.hpp"

namespace folio::api::detail {
namespace {

constexpr const char* kSecret = "pg_catalog.secret_relation_42 at /srv/folio/src/x.cpp:7";

class ErrorMapping : public ::testing::Test {
 protected:
  ErrorMapping() {
    obs::set_log_sink_for_tests(std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
  }
  ~ErrorMapping() override { obs::set_log_sink_for_tests(nullptr); }

  template <typename E>
  Response map(E error) {
    return error_from_exception(std::make_exception_ptr(std::move(error)), logger_, "GET",
                                "/v1/orgs/{org}/balances");
  }
  static boost::json::object error_of(const Response& res) {
    return boost::json::parse(res.body()).at("error").as_object();
  }

  std::ostringstream log_;
  obs::Logger logger_{"api"};
};

TEST_F(ErrorMapping, InvalidArgumentFromDeepInsideIsA500WithoutItsText) {
  const auto res = map(std::invalid_argument(kSecret));
  EXPECT_EQ(res.result_int(), 500u);
  const auto error = error_of(res);
  EXPECT_EQ(error.at("code").as_string(), "internal");
  EXPECT_EQ(error.at("message").as_string(), "internal error");
  EXPECT_TRUE(error.at("field").is_null());
  EXPECT_EQ(res.body().find("secret"), std::string::npos) << res.body();
  // The text is kept for the operator.
  EXPECT_NE(log_.str().find(kSecret), std::string::npos) << log_.str();
}

TEST_F(ErrorMapping, OtherLibraryExceptionsAreA500WithoutTheirText) {
  for (const auto& res : {map(std::out_of_range(kSecret)), map(std::runtime_error(kSecret)),
                          map(std::logic_error(kSecret)), map(db::Error("XX000", kSecret)),
                          map(db::UniqueViolation("23505", kSecret))}) {
    EXPECT_EQ(res.result_int(), 500u);
    EXPECT_EQ(error_of(res).at("code").as_string(), "internal");
    EXPECT_EQ(res.body().find("secret"), std::string::npos) << res.body();
  }
}

TEST_F(ErrorMapping, DatabaseRefusalsSayNoMoreThanThatAValueWasRefused) {
  for (const auto& res :
       {map(db::CheckViolation("23514", kSecret, db::ErrorFields{.constraint = "x_check"})),
        map(db::DataException("22003", kSecret))}) {
    EXPECT_EQ(res.result_int(), 400u);
    EXPECT_EQ(error_of(res).at("code").as_string(), "invalid_value");
    EXPECT_EQ(res.body().find("secret"), std::string::npos) << res.body();
    EXPECT_EQ(res.body().find("x_check"), std::string::npos) << res.body();
  }
  const auto busy = map(db::ConnectionError("", kSecret));
  EXPECT_EQ(busy.result_int(), 503u);
  EXPECT_EQ(busy.body().find("secret"), std::string::npos) << busy.body();
}

TEST_F(ErrorMapping, TheApisOwnRefusalsKeepTheirMessageAndField) {
  auto res = map(Problem(400, code::kInvalidValue, "limit must be between 1 and 500", "limit"));
  EXPECT_EQ(res.result_int(), 400u);
  auto error = error_of(res);
  EXPECT_EQ(error.at("code").as_string(), "invalid_value");
  EXPECT_EQ(error.at("message").as_string(), "limit must be between 1 and 500");
  EXPECT_EQ(error.at("field").as_string(), "limit");

  res = map(finance::InvalidValue("currency", "currency must be the organization's (EUR)"));
  EXPECT_EQ(res.result_int(), 400u);
  error = error_of(res);
  EXPECT_EQ(error.at("message").as_string(), "currency must be the organization's (EUR)");
  EXPECT_EQ(error.at("field").as_string(), "currency");

  res = map(finance::OrgNotFound());
  EXPECT_EQ(res.result_int(), 404u);
  error = error_of(res);
  EXPECT_EQ(error.at("code").as_string(), "not_found");
  EXPECT_EQ(error.at("message").as_string(), "not found");

  res = map(cutover::SwitchRefused("pilot add: run backfill first"));
  EXPECT_EQ(res.result_int(), 409u);
  EXPECT_EQ(error_of(res).at("message").as_string(), "pilot add: run backfill first");
}

}  // namespace
}  // namespace folio::api::detail
