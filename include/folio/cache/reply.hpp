// One Redis reply as a value, mirroring RESP2: nil, status ("+OK"), error ("-ERR ..."),
// integer, bulk string (binary safe) and array (of replies, possibly nested or nil).
//
// Accessors check the type: using one on a reply of another type throws RedisReplyTypeError,
// whose message names both types but never the reply's contents (cached data may be private).
//
// Thread-safety: a plain value; const access from several threads is safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace folio::cache {

class Reply {
 public:
  enum class Type { kNil, kStatus, kError, kInteger, kString, kArray };

  Reply() = default;  // nil
  static Reply nil() { return Reply(); }
  static Reply status(std::string text) { return Reply(Type::kStatus, std::move(text)); }
  static Reply error(std::string text) { return Reply(Type::kError, std::move(text)); }
  static Reply string(std::string bytes) { return Reply(Type::kString, std::move(bytes)); }
  static Reply integer(std::int64_t value);
  static Reply array(std::vector<Reply> elements);

  Type type() const noexcept { return type_; }
  bool is_nil() const noexcept { return type_ == Type::kNil; }
  bool is_status() const noexcept { return type_ == Type::kStatus; }
  bool is_error() const noexcept { return type_ == Type::kError; }
  bool is_integer() const noexcept { return type_ == Type::kInteger; }
  bool is_string() const noexcept { return type_ == Type::kString; }
  bool is_array() const noexcept { return type_ == Type::kArray; }

  // The bytes of a bulk string or the text of a status reply.
  const std::string& as_string() const;
  std::int64_t as_integer() const;
  // The elements of an array reply.
  const std::vector<Reply>& elements() const;
  // The full text of an error reply ("WRONGTYPE Operation against a key ...").
  const std::string& error_message() const;

  // Type and size, never contents ("bulk string (5 bytes)"); the text only for errors.
  std::string describe() const;

  friend bool operator==(const Reply&, const Reply&) = default;

 private:
  Reply(Type type, std::string text) : type_(type), text_(std::move(text)) {}
  [[noreturn]] void throw_type_error(std::string_view expected) const;

  Type type_ = Type::kNil;
  std::string text_;
  std::int64_t integer_ = 0;
  std::vector<Reply> elements_;
};

std::string_view to_string(Reply::Type type) noexcept;

}  // namespace folio::cache
