// The Redis wire protocol (RESP2) without any I/O: commands are encoded as arrays of bulk
// strings (binary safe, so keys and values may hold '\0' and "\r\n"), and ReplyParser turns
// a byte stream, fed in fragments of any size, into Reply values. Parsing is delegated to
// hiredis's redisReader; nothing else of hiredis is used. (hiredis 0.14 parses RESP2 only,
// and arrays nested at most 7 deep: deeper is reported as a protocol error.)
//
// Thread-safety: ReplyParser is a single-owner object (no internal locking); the encoding
// functions are pure.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "folio/cache/reply.hpp"

struct redisReader;

namespace folio::cache {

// Appends one command ("*<n>\r\n" then "$<len>\r\n<bytes>\r\n" per argument) to `out`.
// REQUIRES: !args.empty()
void append_command(std::string& out, std::span<const std::string_view> args);
void append_command(std::string& out, std::span<const std::string> args);

// One command on its own.
std::string encode_command(std::span<const std::string_view> args);

// The longest array reply ReplyParser accepts; hiredis reserves memory for the elements an
// array announces before they arrive, so a longer one is refused as a protocol error.
inline constexpr int kMaxArrayElements = 1 << 20;

// A moved-from parser may only be assigned to or destroyed.
class ReplyParser {
 public:
  ReplyParser();
  ReplyParser(ReplyParser&&) noexcept;
  ReplyParser& operator=(ReplyParser&&) noexcept;
  ~ReplyParser();

  // Buffers received bytes. Throws RedisProtocolError if the parser failed earlier.
  void feed(std::string_view bytes);
  // The next complete reply, or nullopt until more bytes arrive. Throws RedisProtocolError
  // when the stream is not RESP or announces an array of more than kMaxArrayElements (after
  // which the parser, like the connection, is unusable).
  std::optional<Reply> next();

 private:
  struct Free {
    void operator()(redisReader* reader) const noexcept;
  };
  std::unique_ptr<redisReader, Free> reader_;
};

}  // namespace folio::cache
