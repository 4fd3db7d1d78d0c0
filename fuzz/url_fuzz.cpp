// Bytes as the URLs and DSNs folio parses itself: REDIS_URL (RedisConfig::from_url and the
// redaction of its password for messages), a PostgreSQL DSN's redaction, REPLICA_URLS /
// REPLICA_HEALTH_URLS (the first line and the rest), and the pilot guard's Prometheus URL
// (with the bytes also as the query).
//
// Expected: a value or std::invalid_argument. A redacted Redis URL never yields a password
// but "***"; neither does the redaction of a DSN libpq reads, and a password written once in
// that DSN is not left in its redaction. A Prometheus endpoint is one the resolver takes, and its
// request target carries the query unchanged for a reader that takes '+' as a space (Prometheus
// parses a form).
#include <libpq-fe.h>

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "check.hpp"
#include "folio/cache/redis_config.hpp"
#include "folio/db/connection.hpp"
#include "folio/db/replica_manager.hpp"
#include "prometheus_query.hpp"

namespace folio::fuzz {
namespace {

template <typename Parse>
void expect_value_or_invalid(Parse&& parse) {
  try {
    parse();
  } catch (const std::invalid_argument&) {
  }
}

void redis_url(std::string_view text) {
  expect_value_or_invalid([&] {
    const auto config = cache::RedisConfig::from_url(text);
    FUZZ_CHECK(!config.host.empty() && config.port > 0);
    FUZZ_CHECK(config.db >= 0 && config.db <= (1 << 20));
    FUZZ_CHECK(config.username.empty() || !config.password.empty());
    FUZZ_CHECK(!config.address().empty());
  });
  const auto redacted = cache::redact_url(text);
  if (const auto u = boost::urls::parse_uri(redacted); u && u->has_password()) {
    FUZZ_CHECK(u->password() == "***" || u->password().empty());
  }
}

// Whether libpq reads `dsn`, and the password it reads (nullopt: none).
bool dsn_parses(const std::string& dsn, std::optional<std::string>& password) {
  password.reset();
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(dsn.c_str(), &error), &PQconninfoFree);
  if (error != nullptr) PQfreemem(error);
  if (!options) return false;
  for (const auto* o = options.get(); o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr && *o->val != '\0') {
      password = o->val;
    }
  }
  return true;
}

std::optional<std::string> dsn_password(const std::string& dsn) {
  std::optional<std::string> password;
  dsn_parses(dsn, password);
  return password;
}

void dsn(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return;  // libpq reads a C string
  const std::string dsn(text);
  const auto redacted = db::redact_dsn(dsn);
  std::optional<std::string> password;
  if (!dsn_parses(dsn, password)) return;
  const auto left = dsn_password(redacted);
  FUZZ_CHECK(!left || *left == "***");
  if (password && password->find('*') == std::string::npos) {
    const auto first = dsn.find(*password);
    if (first != std::string::npos && dsn.find(*password, first + 1) == std::string::npos) {
      FUZZ_CHECK(redacted.find(*password) == std::string::npos);
    }
  }
}

void replica_urls(std::string_view text) {
  const auto newline = text.find('\n');
  const auto urls = text.substr(0, newline);
  const auto health =
      newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  expect_value_or_invalid([&] {
    for (const auto& e : db::parse_replica_urls(urls, health)) {
      FUZZ_CHECK(!e.name.empty() && !e.dsn.empty());
    }
  });
}

void prometheus_url(std::string_view base_url, std::string_view promql) {
  expect_value_or_invalid([&] {
    const auto where = cutover::detail::prometheus_endpoint(base_url, promql);
    FUZZ_CHECK(!where.host.empty() && !where.host_header.empty());
    // What the resolver takes: an IP literal without brackets, a numeric port.
    const auto url = boost::urls::parse_uri(base_url);
    if (url->host_type() == boost::urls::host_type::ipv4 ||
        url->host_type() == boost::urls::host_type::ipv6) {
      boost::system::error_code ec;
      boost::asio::ip::make_address(where.host, ec);
      FUZZ_CHECK(!ec);
    }
    FUZZ_CHECK(!where.port.empty() &&
               where.port.find_first_not_of("0123456789") == std::string::npos);
    const auto target = boost::urls::parse_origin_form(where.target);
    FUZZ_CHECK(target.has_value());
    FUZZ_CHECK(target->encoded_path().ends_with("/api/v1/query"));
    const auto params = target->params();
    FUZZ_CHECK(params.size() == 1);
    FUZZ_CHECK((*params.begin()).key == "query" && (*params.begin()).value == promql);
  });
}

}  // namespace
}  // namespace folio::fuzz

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  folio::fuzz::redis_url(text);
  folio::fuzz::dsn(text);
  folio::fuzz::replica_urls(text);
  folio::fuzz::prometheus_url(text, "folio:pilot_regression");
  folio::fuzz::prometheus_url("http://127.0.0.1:9090/prom/", text);
  return 0;
}
