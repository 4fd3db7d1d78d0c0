// Unit tests of the I/O-free parts of folio::cache: URL parsing and redaction, RESP encoding
// and reply parsing (fed whole and in fragments).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "folio/cache/errors.hpp"
#include "folio/cache/redis_config.hpp"
#include "folio/cache/reply.hpp"
#include "folio/cache/resp.hpp"

namespace folio::cache {

// Lets gtest print replies in failure messages (gtest looks for this exact name).
// NOLINTNEXTLINE(readability-identifier-naming)
void PrintTo(const Reply& reply, std::ostream* os) { *os << reply.describe(); }

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::string_literals;

// ---------------------------------------------------------------- URLs

TEST(RedisConfigTest, ParsesAFullTlsUrl) {
  const auto c = RedisConfig::from_url("rediss://default:s3cret@cache.example:6390/2");
  EXPECT_TRUE(c.tls);
  EXPECT_EQ(c.host, "cache.example");
  EXPECT_EQ(c.port, 6390);
  EXPECT_EQ(c.username, "default");
  EXPECT_EQ(c.password, "s3cret");
  EXPECT_EQ(c.db, 2);
  EXPECT_EQ(c.verify_name(), "cache.example");
  EXPECT_EQ(c.address(), "cache.example:6390");
}

TEST(RedisConfigTest, PlainSchemeDefaultsAndPasswordOnly) {
  const auto c = RedisConfig::from_url("redis://:pw@127.0.0.1");
  EXPECT_FALSE(c.tls);
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 6379);
  EXPECT_EQ(c.username, "");
  EXPECT_EQ(c.password, "pw");
  EXPECT_EQ(c.db, 0);

  const auto bare = RedisConfig::from_url("REDISS://localhost/");
  EXPECT_TRUE(bare.tls);
  EXPECT_EQ(bare.password, "");
  EXPECT_EQ(bare.db, 0);
}

TEST(RedisConfigTest, DecodesPercentEncodingAndIpv6) {
  const auto c = RedisConfig::from_url("rediss://app%40eu:p%3Aw%2Fd%40@[::1]:7000/15");
  EXPECT_EQ(c.username, "app@eu");
  EXPECT_EQ(c.password, "p:w/d@");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.address(), "[::1]:7000");
  EXPECT_EQ(c.db, 15);
}

TEST(RedisConfigTest, ServerNameOverridesTheVerifiedName) {
  auto c = RedisConfig::from_url("rediss://10.0.0.5:6379");
  c.server_name = "redis.internal";
  EXPECT_EQ(c.verify_name(), "redis.internal");
}

TEST(RedisConfigTest, RejectsBadUrlsClearlyWithoutThePassword) {
  struct Case {
    std::string url;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"http://u:topsecret@host:6379/0", "unsupported scheme 'http'"},
      {"rediss://u:topsecret@host:99999/0", "port must be 1..65535"},
      {"rediss://u:topsecret@host:0/0", "port must be 1..65535"},
      {"rediss://u:topsecret@host:6379/x", "database number"},
      {"rediss://u:topsecret@host:6379/-1", "database number"},
      {"rediss://u:topsecret@host:6379/0/1", "database number"},
      {"rediss://u:topsecret@host:6379/0?ssl_cert_reqs=none", "query parameters"},
      {"rediss://u:topsecret@:6379/0", "no host"},
      {"rediss://alice@host:6379", "user name without a password"},
      {"not a url topsecret", "invalid Redis URL"},
      {"rediss://u:top secret@host", "invalid Redis URL"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    try {
      RedisConfig::from_url(c.url);
      ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.why));
      EXPECT_THAT(e.what(), HasSubstr("invalid Redis URL"));
      if (c.url.find('@') != std::string::npos) {
        EXPECT_THAT(e.what(), Not(HasSubstr("topsecret")));
      }
    }
  }
}

TEST(RedactUrlTest, HidesPasswordsOnly) {
  EXPECT_EQ(redact_url("rediss://default:pw@127.0.0.1:6390/0"),
            "rediss://default:***@127.0.0.1:6390/0");
  EXPECT_EQ(redact_url("redis://:pw@host"), "redis://:***@host");
  EXPECT_EQ(redact_url("redis://host:6379/0"), "redis://host:6379/0");
  EXPECT_EQ(redact_url("rediss://lonely@host"), "rediss://***@host");
  // A malformed password with '@' and '/' is still hidden entirely.
  EXPECT_EQ(redact_url("rediss://u:a/b@c@host/0"), "rediss://u:***@host/0");
  EXPECT_EQ(redact_url(""), "");
}

// ---------------------------------------------------------------- encoding

TEST(RespEncodeTest, EncodesArraysOfBulkStrings) {
  const std::vector<std::string_view> ping = {"PING"};
  EXPECT_EQ(encode_command(ping), "*1\r\n$4\r\nPING\r\n");

  const std::string binary = "a\0b\r\nc"s;
  const std::vector<std::string_view> set = {"SET", "k", binary, ""};
  EXPECT_EQ(encode_command(set), "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\na\0b\r\nc\r\n$0\r\n\r\n"s);
}

TEST(RespEncodeTest, AppendsSeveralCommandsForAPipeline) {
  std::string out;
  const std::vector<std::string> incr = {"INCR", "n"};
  const std::vector<std::string_view> get = {"GET", "n"};
  append_command(out, incr);
  append_command(out, get);
  EXPECT_EQ(out, "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*2\r\n$3\r\nGET\r\n$1\r\nn\r\n");
}

// ---------------------------------------------------------------- parsing

// Every reply type, nested arrays, nils and binary strings, one after another.
const std::string every_type_stream =
    "+OK\r\n"
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    ":-42\r\n"
    ":9223372036854775807\r\n"
    "$6\r\na\0b\r\nc\r\n"s
    "$0\r\n\r\n"
    "$-1\r\n"
    "*-1\r\n"
    "*0\r\n"
    "*3\r\n:1\r\n*2\r\n$1\r\nx\r\n*1\r\n$-1\r\n+inner\r\n";

std::vector<Reply> expected_replies() {
  return {
      Reply::status("OK"),
      Reply::error("WRONGTYPE Operation against a key holding the wrong kind of value"),
      Reply::integer(-42),
      Reply::integer(9223372036854775807),
      Reply::string("a\0b\r\nc"s),
      Reply::string(""),
      Reply::nil(),
      Reply::nil(),
      Reply::array({}),
      Reply::array({Reply::integer(1),
                    Reply::array({Reply::string("x"), Reply::array({Reply::nil()})}),
                    Reply::status("inner")}),
  };
}

std::vector<Reply> parse_in_chunks(std::string_view stream, std::size_t chunk) {
  ReplyParser parser;
  std::vector<Reply> out;
  for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
    parser.feed(stream.substr(pos, chunk));
    while (auto reply = parser.next()) out.push_back(std::move(*reply));
  }
  EXPECT_FALSE(parser.next().has_value());
  return out;
}

TEST(ReplyParserTest, ParsesEveryTypeFedAtOnce) {
  EXPECT_EQ(parse_in_chunks(every_type_stream, every_type_stream.size()), expected_replies());
}

TEST(ReplyParserTest, ParsesEveryTypeFedInFragments) {
  for (const std::size_t chunk : {1, 2, 3, 5, 7, 13}) {
    SCOPED_TRACE(chunk);
    EXPECT_EQ(parse_in_chunks(every_type_stream, chunk), expected_replies());
  }
}

TEST(ReplyParserTest, WaitsForTheWholeBulkString) {
  ReplyParser parser;
  const std::string big(100000, 'v');
  parser.feed("$100000\r\n");
  EXPECT_FALSE(parser.next().has_value());
  parser.feed(big.substr(0, 60000));
  EXPECT_FALSE(parser.next().has_value());
  parser.feed(big.substr(60000));
  EXPECT_FALSE(parser.next().has_value());  // the final CRLF is still missing
  parser.feed("\r\n");
  const auto reply = parser.next();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->as_string(), big);
}

TEST(ReplyParserTest, RejectsBytesThatAreNotResp) {
  ReplyParser parser;
  parser.feed("\x15\x03\x03\x00\x02\x02\x46"s);  // a TLS alert
  EXPECT_THROW(parser.next(), RedisProtocolError);
}

// hiredis reserves the element pointers an array announces before they arrive: without a
// bound, these 13 bytes made the reader calloc 16 GiB (found by fuzz/resp_reply_fuzz).
TEST(ReplyParserTest, RefusesArraysLongerThanTheBound) {
  ReplyParser parser;
  parser.feed("*2147483647\r\n");
  try {
    parser.next();
    ADD_FAILURE() << "accepted";
  } catch (const RedisProtocolError& e) {
    EXPECT_THAT(e.what(), HasSubstr("an array of more than 1048576 elements"));
  }
  // The parser stays failed, like the connection it belongs to.
  EXPECT_THROW(parser.feed(":1\r\n"), RedisProtocolError);
  EXPECT_THROW(parser.next(), RedisProtocolError);

  ReplyParser nested;
  nested.feed("*1\r\n*" + std::to_string(kMaxArrayElements + 1) + "\r\n");
  EXPECT_THROW(nested.next(), RedisProtocolError);
}

TEST(ReplyParserTest, AcceptsArraysUpToTheBound) {
  ReplyParser parser;
  parser.feed("*" + std::to_string(kMaxArrayElements) + "\r\n");
  EXPECT_FALSE(parser.next().has_value());  // waits for the elements
  parser.feed("*2\r\n:1\r\n");
  EXPECT_FALSE(parser.next().has_value());
}

TEST(ReplyTest, AccessorsCheckTheType) {
  EXPECT_EQ(Reply::status("PONG").as_string(), "PONG");
  EXPECT_EQ(Reply::string("v").as_string(), "v");
  EXPECT_EQ(Reply::integer(7).as_integer(), 7);
  EXPECT_EQ(Reply::error("ERR x").error_message(), "ERR x");
  EXPECT_TRUE(Reply().is_nil());

  EXPECT_THROW(Reply::nil().as_string(), RedisReplyTypeError);
  EXPECT_THROW(Reply::error("ERR x").as_string(), RedisReplyTypeError);
  EXPECT_THROW(Reply::string("1").as_integer(), RedisReplyTypeError);
  EXPECT_THROW(Reply::integer(1).elements(), RedisReplyTypeError);
  EXPECT_THROW(Reply::status("OK").error_message(), RedisReplyTypeError);
  try {
    Reply::string("private data").as_integer();
    ADD_FAILURE() << "accepted";
  } catch (const RedisReplyTypeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("expected an integer reply, got bulk string (12 bytes)"));
    EXPECT_THAT(e.what(), Not(HasSubstr("private")));
  }
}

}  // namespace
}  // namespace folio::cache
