// redact_dsn (declared in folio/db/connection.hpp): a DSN fit for messages and logs.
#include <algorithm>
#include <string>
#include <string_view>

#include "folio/db/connection.hpp"

namespace folio::db {

namespace {

// The characters libpq's isspace() skips between key=value pairs (the C locale's).
bool is_space(char c) { return std::string_view(" \t\n\v\f\r").find(c) != std::string_view::npos; }

}  // namespace

std::string redact_dsn(std::string_view dsn) {
  std::string out(dsn);
  // libpq reads a URI when the DSN starts with one of its schemes, key=value pairs otherwise.
  const bool uri = out.starts_with("postgresql://") || out.starts_with("postgres://");
  // URI form: scheme://user:password@host...
  if (const auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto auth_begin = scheme + 3;
    const auto at = out.find('@', auth_begin);
    const auto slash = out.find('/', auth_begin);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const auto colon = out.find(':', auth_begin);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // key=value form, and password= in a URI's query string. The value ends where libpq ends
  // it: at the next '&' in a URI; at the closing quote, or else at any whitespace, in
  // key=value form, where a backslash escapes the character after it.
  for (std::size_t pos = out.find("password"); pos != std::string::npos;
       pos = out.find("password", pos + 1)) {
    std::size_t i = pos + 8;
    while (i < out.size() && is_space(out[i])) ++i;
    if (i >= out.size() || out[i] != '=') continue;
    ++i;
    while (i < out.size() && is_space(out[i])) ++i;
    std::size_t end = i;
    std::string_view stars = "***";
    if (uri) {
      while (end < out.size() && out[end] != '&') ++end;
    } else if (end < out.size() && out[end] == '\'') {
      ++end;
      while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
      end = std::min(out.size(), end + 1);
      // libpq reads a pair right after the quote ('x'dbname=d): keep them apart.
      if (end < out.size() && !is_space(out[end])) stars = "*** ";
    } else {
      while (end < out.size() && !is_space(out[end])) end += out[end] == '\\' ? 2 : 1;
      end = std::min(out.size(), end);
    }
    out.replace(i, end - i, stars);
  }
  return out;
}

}  // namespace folio::db
