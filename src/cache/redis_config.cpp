#include "folio/cache/redis_config.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>
#include <stdexcept>
#include <string>

namespace folio::cache {

namespace {

namespace urls = boost::urls;

[[noreturn]] void bad_url(std::string_view url, const std::string& why) {
  throw std::invalid_argument("invalid Redis URL '" + redact_url(url) + "': " + why);
}

// Parses all of `text` as a decimal number in [min, max].
bool parse_number(std::string_view text, long min, long max, long& out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && out >= min && out <= max;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string redact_url(std::string_view url) {
  std::string out(url);
  const auto scheme = out.find("://");
  const std::size_t begin = scheme == std::string::npos ? 0 : scheme + 3;
  // The last '@': a password may contain unescaped '@', '/' or ':' in a malformed URL, and
  // redacting too much beats printing part of a secret.
  const auto at = out.rfind('@');
  if (at == std::string::npos || at < begin) return out;
  const auto colon = out.find(':', begin);
  if (colon != std::string::npos && colon < at) {
    out.replace(colon + 1, at - colon - 1, "***");
  } else {
    out.replace(begin, at - begin, "***");
  }
  return out;
}

RedisConfig RedisConfig::from_url(std::string_view url) {
  const auto parsed = urls::parse_uri(url);
  if (!parsed) bad_url(url, parsed.error().message());
  const urls::url_view& u = *parsed;

  RedisConfig config;
  const std::string scheme = lower(u.scheme());
  if (scheme == "rediss") {
    config.tls = true;
  } else if (scheme == "redis") {
    config.tls = false;
  } else {
    bad_url(url, "unsupported scheme '" + scheme + "' (use rediss:// for TLS or redis://)");
  }

  switch (u.host_type()) {
    case urls::host_type::name:
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
      config.host = u.host_address();
      break;
    default:
      bad_url(url, "unsupported host");
  }
  if (config.host.empty()) bad_url(url, "no host");

  if (u.has_port()) {
    long port = 0;
    if (!parse_number(u.port(), 1, 65535, port)) bad_url(url, "port must be 1..65535");
    config.port = static_cast<std::uint16_t>(port);
  }

  if (u.has_userinfo()) {
    config.username = u.user();
    if (u.has_password()) config.password = u.password();
    if (!config.username.empty() && config.password.empty()) {
      bad_url(url, "user name without a password (write rediss://user:password@host)");
    }
  }

  const std::string path = u.path();
  if (!path.empty() && path != "/") {
    long db = 0;
    if (path[0] != '/' || !parse_number(std::string_view(path).substr(1), 0, 1 << 20, db)) {
      bad_url(url, "the path must be a database number, e.g. /0");
    }
    config.db = static_cast<int>(db);
  }

  if (u.has_query() || u.has_fragment()) {
    bad_url(url, "query parameters and fragments are not supported (set RedisConfig fields)");
  }
  return config;
}

std::string RedisConfig::address() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace folio::cache
