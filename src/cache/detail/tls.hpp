// OpenSSL set-up for RedisConnection: the client context (trust), the per-connection server
// name (SNI and name/IP verification), and a clear message when the handshake fails.
//
// Thread-safety: free functions; each touches only the objects passed to it.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "folio/cache/redis_config.hpp"

namespace folio::cache::detail {

// A TLS 1.2+ client context that verifies the peer against config.ca_file (or the system
// store). Throws RedisTlsError when the CA file cannot be loaded.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const RedisConfig& config);

// Sends config.verify_name() as SNI (unless it is an IP address) and requires the certificate
// to carry it as a DNS name or IP address. Throws RedisTlsError if OpenSSL refuses the name.
void set_server_name(SSL* ssl, const RedisConfig& config);

// "TLS handshake with <address> failed: certificate verify failed: <reason> (<hint>)", or the
// transport/TLS error for other failures. Never mentions credentials.
std::string describe_handshake_failure(SSL* ssl, const boost::system::error_code& error,
                                       const RedisConfig& config);

}  // namespace folio::cache::detail
