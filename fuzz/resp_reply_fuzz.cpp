// Bytes as what a Redis server sends: hiredis's redisReader through ReplyParser, then every
// accessor of every reply. The same bytes fed whole and in fragments of the size the first
// byte picks must give the same replies and the same error. The bytes cut into arguments
// must come back unchanged through encode_command and the parser.
//
// Expected: replies, then either the need for more bytes or a RedisProtocolError; an
// accessor throws RedisReplyTypeError exactly when the reply has another type.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "folio/cache/errors.hpp"
#include "folio/cache/reply.hpp"
#include "folio/cache/resp.hpp"

namespace folio::fuzz {
namespace {

using cache::Reply;

struct Parsed {
  std::vector<Reply> replies;
  bool failed = false;  // RedisProtocolError
};

Parsed parse(std::string_view bytes, std::size_t fragment) {
  Parsed out;
  cache::ReplyParser parser;
  try {
    while (true) {
      const auto n = std::min(fragment, bytes.size());
      parser.feed(bytes.substr(0, n));
      bytes.remove_prefix(n);
      while (auto reply = parser.next()) out.replies.push_back(std::move(*reply));
      if (bytes.empty()) break;
    }
  } catch (const cache::RedisProtocolError&) {
    out.failed = true;
  }
  return out;
}

// Calls `access` and checks that it throws RedisReplyTypeError exactly when `fits` is false.
template <typename Access>
void check_accessor(bool fits, Access&& access) {
  bool threw = false;
  try {
    access();
  } catch (const cache::RedisReplyTypeError&) {
    threw = true;
  }
  FUZZ_CHECK(threw == !fits);
}

void walk(const Reply& r) {
  FUZZ_CHECK(!r.describe().empty());
  FUZZ_CHECK(r == r);
  using T = Reply::Type;
  check_accessor(r.type() == T::kString || r.type() == T::kStatus, [&] { r.as_string(); });
  check_accessor(r.type() == T::kInteger, [&] { r.as_integer(); });
  check_accessor(r.type() == T::kError, [&] { r.error_message(); });
  check_accessor(r.type() == T::kArray, [&] {
    for (const auto& e : r.elements()) walk(e);
  });
}

// Arguments from the bytes: each is a length byte and that many bytes (cut at the end).
std::vector<std::string_view> arguments(std::string_view bytes) {
  std::vector<std::string_view> args;
  while (!bytes.empty()) {
    const std::size_t n = static_cast<unsigned char>(bytes[0]);
    bytes.remove_prefix(1);
    args.push_back(bytes.substr(0, n));
    bytes.remove_prefix(std::min(n, bytes.size()));
  }
  return args;
}

}  // namespace
}  // namespace folio::fuzz

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace folio::fuzz;
  if (size == 0) return 0;
  const std::size_t fragment = data[0] % 16 + 1;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  const auto whole = parse(bytes, bytes.size() + 1);
  for (const auto& reply : whole.replies) walk(reply);
  const auto pieces = parse(bytes, fragment);
  FUZZ_CHECK(pieces.replies == whole.replies);
  FUZZ_CHECK(pieces.failed == whole.failed);

  const auto args = arguments(bytes);
  if (!args.empty()) {
    const auto back = parse(folio::cache::encode_command(args), 4096);
    FUZZ_CHECK(!back.failed && back.replies.size() == 1);
    const auto& elements = back.replies[0].elements();
    FUZZ_CHECK(elements.size() == args.size());
    for (std::size_t i = 0; i < args.size(); ++i) {
      FUZZ_CHECK(elements[i].is_string() && elements[i].as_string() == args[i]);
    }
  }
  return 0;
}
