#include "folio/cache/reply.hpp"

#include <string>

#include "folio/cache/errors.hpp"

namespace folio::cache {

Reply Reply::integer(std::int64_t value) {
  Reply r;
  r.type_ = Type::kInteger;
  r.integer_ = value;
  return r;
}

Reply Reply::array(std::vector<Reply> elements) {
  Reply r;
  r.type_ = Type::kArray;
  r.elements_ = std::move(elements);
  return r;
}

const std::string& Reply::as_string() const {
  if (type_ != Type::kString && type_ != Type::kStatus) throw_type_error("a string");
  return text_;
}

std::int64_t Reply::as_integer() const {
  if (type_ != Type::kInteger) throw_type_error("an integer");
  return integer_;
}

const std::vector<Reply>& Reply::elements() const {
  if (type_ != Type::kArray) throw_type_error("an array");
  return elements_;
}

const std::string& Reply::error_message() const {
  if (type_ != Type::kError) throw_type_error("an error");
  return text_;
}

std::string Reply::describe() const {
  switch (type_) {
    case Type::kString:
      return "bulk string (" + std::to_string(text_.size()) + " bytes)";
    case Type::kArray:
      return "array (" + std::to_string(elements_.size()) + " elements)";
    case Type::kError:
      return "error '" + text_ + "'";
    default:
      return std::string(to_string(type_));
  }
}

void Reply::throw_type_error(std::string_view expected) const {
  throw RedisReplyTypeError("expected " + std::string(expected) + " reply, got " + describe());
}

std::string_view to_string(Reply::Type type) noexcept {
  switch (type) {
    case Reply::Type::kNil:
      return "nil";
    case Reply::Type::kStatus:
      return "status";
    case Reply::Type::kError:
      return "error";
    case Reply::Type::kInteger:
      return "integer";
    case Reply::Type::kString:
      return "bulk string";
    case Reply::Type::kArray:
      return "array";
  }
  return "unknown";
}

}  // namespace folio::cache
