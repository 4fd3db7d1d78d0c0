#include "detail/tls.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>

#include "folio/cache/errors.hpp"

namespace folio::cache::detail {

namespace asio = boost::asio;

std::unique_ptr<asio::ssl::context> make_tls_context(const RedisConfig& config) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  if (config.ca_file.empty()) {
    context->set_default_verify_paths(ec);
  } else {
    context->load_verify_file(config.ca_file, ec);
  }
  if (ec) {
    throw RedisTlsError("cannot load the CA file '" + config.ca_file + "' to verify Redis at " +
                        config.address() + ": " + ec.message());
  }
  return context;
}

void set_server_name(SSL* ssl, const RedisConfig& config) {
  const std::string& name = config.verify_name();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  boost::system::error_code not_ip;
  asio::ip::make_address(name, not_ip);
  bool ok = false;
  if (!not_ip) {
    // SNI must not carry an IP address (RFC 6066); the certificate must list it as IP SAN.
    ok = X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1;
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1 &&
         X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size()) == 1;
  }
  if (!ok) {
    throw RedisTlsError("cannot use '" + name + "' as the TLS server name for Redis at " +
                        config.address());
  }
}

std::string describe_handshake_failure(SSL* ssl, const boost::system::error_code& error,
                                       const RedisConfig& config) {
  std::string message = "TLS handshake with " + config.address() + " failed: ";
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    message += "certificate verify failed: ";
    message += X509_verify_cert_error_string(verify);
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      message += " (the server certificate is not issued for '" + config.verify_name() +
                 "': connect by a name or IP address in its subjectAltName, or set server_name)";
    } else if (config.ca_file.empty()) {
      message +=
          " (no ca_file is set and the system CA store does not trust the server "
          "certificate: set ca_file to the CA that signed it)";
    } else {
      message += " (is '" + config.ca_file +
                 "' (ca_file, REDIS_CA_FILE) the CA that signed the server certificate?)";
    }
    return message;
  }
  if (error == asio::error::eof || error == asio::ssl::error::stream_truncated ||
      error == asio::error::connection_reset) {
    return message + "the server closed the connection";
  }
  message += error.message();
  if (error.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(error.value())) == SSL_R_WRONG_VERSION_NUMBER) {
    message += " (is it a plain-TCP port? use redis:// for that)";
  }
  return message;
}

}  // namespace folio::cache::detail
