#include "folio/seed/copy_text.hpp"

namespace folio::seed {

std::string copy_escape(std::string_view text) {
  std::string out;
  append_copy_escaped(out, text);
  return out;
}

void append_copy_escaped(std::string& out, std::string_view text) {
  const std::size_t old_size = out.size();
  out.resize(old_size + kMaxEscapedFactor * text.size());
  char* end = write_copy_escaped(out.data() + old_size, text);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

std::string copy_unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    if (c != '\\' || i + 1 == field.size()) {
      out.push_back(c);
      continue;
    }
    const char next = field[++i];
    switch (next) {
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'v':
        out.push_back('\v');
        break;
      default:  // "\\" and any other escaped byte stand for that byte
        out.push_back(next);
        break;
    }
  }
  return out;
}

}  // namespace folio::seed
