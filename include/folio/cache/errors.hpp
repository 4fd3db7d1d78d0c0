// Typed Redis errors, so callers branch on the type and never on message text.
//
//   RedisError                    base of everything folio::cache throws
//   ├─ RedisConnectionError       connect / TLS / I/O failure or timeout: the connection is
//   │  │                          broken() and must be dropped (a retry on a new one may work)
//   │  ├─ RedisTlsError           TLS setup or handshake failed, e.g. the server certificate did
//   │  │                          not verify: a configuration problem, retrying will not help
//   │  ├─ RedisProtocolError      the server sent bytes that are not RESP
//   │  └─ RedisPoolClosed         the pool was shut down (closed or destroyed) before the reply
//   ├─ RedisAuthError             the server refused AUTH (WRONGPASS) or wants one (NOAUTH)
//   ├─ RedisCommandError          an error reply to a command (WRONGTYPE, ERR ...); the
//   │                             connection stays usable
//   └─ RedisReplyTypeError        a Reply accessor was used on a reply of another type
//
// No message ever contains a password.
//
// Thread-safety: immutable values; safe to share.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace folio::cache {

class RedisError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class RedisConnectionError : public RedisError {
  using RedisError::RedisError;
};
class RedisTlsError : public RedisConnectionError {
  using RedisConnectionError::RedisConnectionError;
};
class RedisProtocolError : public RedisConnectionError {
  using RedisConnectionError::RedisConnectionError;
};
class RedisPoolClosed : public RedisConnectionError {
  using RedisConnectionError::RedisConnectionError;
};

class RedisAuthError : public RedisError {
  using RedisError::RedisError;
};

class RedisCommandError : public RedisError {
 public:
  RedisCommandError(std::string code, const std::string& message)
      : RedisError(message), code_(std::move(code)) {}
  // The error reply's first word: "WRONGTYPE", "ERR", "OOM", "READONLY", ...
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

class RedisReplyTypeError : public RedisError {
  using RedisError::RedisError;
};

}  // namespace folio::cache
