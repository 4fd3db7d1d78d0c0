// How an error reply becomes an exception, shared by RedisConnection::command and
// RedisPool::command: NOAUTH/WRONGPASS are RedisAuthError, everything else RedisCommandError
// with the reply's first word as its code.
//
// Thread-safety: stateless.
#pragma once

#include <string>
#include <string_view>

#include "folio/cache/errors.hpp"
#include "folio/cache/reply.hpp"

namespace folio::cache::detail {

inline std::string error_code_word(const std::string& message) {
  return message.substr(0, message.find(' '));
}

inline bool is_auth_error(const std::string& code) {
  return code == "NOAUTH" || code == "WRONGPASS";
}

// REQUIRES: reply.is_error(). `name` is the command, `address` the server, for the message.
[[noreturn]] inline void throw_error_reply(std::string_view name, std::string_view address,
                                           const Reply& reply) {
  const std::string& message = reply.error_message();
  std::string code = error_code_word(message);
  if (is_auth_error(code)) {
    throw RedisAuthError(std::string(name) + " on " + std::string(address) +
                         " was refused: " + message);
  }
  throw RedisCommandError(std::move(code),
                          std::string(name) + " on " + std::string(address) + ": " + message);
}

}  // namespace folio::cache::detail
