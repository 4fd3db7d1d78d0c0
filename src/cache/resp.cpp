#include "folio/cache/resp.hpp"

#include <hiredis/hiredis.h>

#include <cassert>
#include <cstdio>
#include <new>

#include "folio/cache/errors.hpp"

namespace folio::cache {

namespace {

template <typename String>
void append_any(std::string& out, std::span<const String> args) {
  assert(!args.empty());
  std::size_t size = 16;
  for (const auto& arg : args) size += arg.size() + 16;
  out.reserve(out.size() + size);
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& arg : args) {
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out.append(arg.data(), arg.size());
    out += "\r\n";
  }
}

Reply convert(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_STRING:
      return Reply::string(std::string(r.str, r.len));
    case REDIS_REPLY_STATUS:
      return Reply::status(std::string(r.str, r.len));
    case REDIS_REPLY_ERROR:
      return Reply::error(std::string(r.str, r.len));
    case REDIS_REPLY_INTEGER:
      return Reply::integer(r.integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) elements.push_back(convert(*r.element[i]));
      return Reply::array(std::move(elements));
    }
    default:
      return Reply::nil();
  }
}

struct FreeReply {
  void operator()(void* reply) const noexcept { freeReplyObject(reply); }
};

// hiredis allocates an array's element pointers as soon as it has read the count ("*N\r\n"),
// so a few bytes could make it reserve gigabytes. The reader's functions are hiredis's own
// with createArray refusing counts above kMaxArrayElements; the refusal, which hiredis can
// only report as out of memory, is flagged here for next() to report as a protocol error.
thread_local bool array_refused = false;
void* (*hiredis_create_array)(const redisReadTask*, int) = nullptr;

void* create_array(const redisReadTask* task, int elements) {
  if (elements > kMaxArrayElements) {
    array_refused = true;
    return nullptr;
  }
  return hiredis_create_array(task, elements);
}

redisReplyObjectFunctions* bounded_functions() {
  static redisReplyObjectFunctions functions = [] {
    redisReader* probe = redisReaderCreate();
    if (probe == nullptr) throw std::bad_alloc();
    redisReplyObjectFunctions f = *probe->fn;
    redisReaderFree(probe);
    hiredis_create_array = f.createArray;
    f.createArray = &create_array;
    return f;
  }();
  return &functions;
}

}  // namespace

void append_command(std::string& out, std::span<const std::string_view> args) {
  append_any(out, args);
}

void append_command(std::string& out, std::span<const std::string> args) { append_any(out, args); }

std::string encode_command(std::span<const std::string_view> args) {
  std::string out;
  append_command(out, args);
  return out;
}

void ReplyParser::Free::operator()(redisReader* reader) const noexcept { redisReaderFree(reader); }

ReplyParser::ReplyParser() : reader_(redisReaderCreateWithFunctions(bounded_functions())) {
  if (!reader_) throw std::bad_alloc();
}

ReplyParser::ReplyParser(ReplyParser&&) noexcept = default;
ReplyParser& ReplyParser::operator=(ReplyParser&&) noexcept = default;
ReplyParser::~ReplyParser() = default;

void ReplyParser::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  if (redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) != REDIS_OK) {
    if (reader_->err == REDIS_ERR_OOM) throw std::bad_alloc();
    throw RedisProtocolError(std::string("unparseable reply: ") + reader_->errstr);
  }
}

std::optional<Reply> ReplyParser::next() {
  void* raw = nullptr;
  array_refused = false;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    if (array_refused) {
      // Later calls fail the same way: the reader keeps its error.
      reader_->err = REDIS_ERR_PROTOCOL;
      std::snprintf(reader_->errstr, sizeof(reader_->errstr), "an array of more than %d elements",
                    kMaxArrayElements);
    }
    if (reader_->err == REDIS_ERR_OOM) throw std::bad_alloc();
    throw RedisProtocolError(std::string("unparseable reply: ") + reader_->errstr);
  }
  if (raw == nullptr) return std::nullopt;
  const std::unique_ptr<void, FreeReply> owner(raw);
  return convert(*static_cast<const redisReply*>(raw));
}

}  // namespace folio::cache
