// Where and how to reach a Redis server: address, credentials, database, TLS trust and
// timeouts. Usually parsed from a URL:
//
//   rediss://user:password@host:port/db   TLS (the default, and what production uses)
//   redis://:password@host:port/db        plain TCP
//
// With TLS the server certificate is always verified, against `ca_file` (or the system CA
// store when it is empty), and must name `server_name` (or `host` when that is empty) in its
// subjectAltName. There is deliberately no switch to turn verification off.
//
// Thread-safety: a plain value; distinct objects may be used from distinct threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace folio::cache {

struct RedisConfig {
  std::string host;
  std::uint16_t port = 6379;
  std::string username;  // empty: "AUTH password" (the default user)
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECTed after AUTH when not 0

  bool tls = true;
  std::string ca_file;      // PEM bundle of the CA(s) that may sign the server certificate
  std::string server_name;  // SNI and the name/IP the certificate must carry; empty: host

  std::chrono::milliseconds connect_timeout{2000};  // per connect step (DNS, TCP, TLS, AUTH)
  std::chrono::milliseconds command_timeout{1000};  // per command() / pipeline() round trip

  // Parses a redis:// or rediss:// URL (user, password and the database number optional;
  // percent-encoding decoded). Throws std::invalid_argument, with the URL redacted, when the
  // URL is malformed, has another scheme, no host, a bad port or database, query parameters,
  // or a user name without a password.
  static RedisConfig from_url(std::string_view url);

  // "host:port" ("[::1]:port" for IPv6), for messages.
  std::string address() const;
  // The name the server certificate must match: server_name, or host when it is empty.
  const std::string& verify_name() const noexcept {
    return server_name.empty() ? host : server_name;
  }
};

// Returns `url` with its password replaced by "***" (the whole user-info when it has no ':',
// since a lone user-info may be a password). Safe on malformed input: it over-redacts rather
// than leak.
std::string redact_url(std::string_view url);

}  // namespace folio::cache
