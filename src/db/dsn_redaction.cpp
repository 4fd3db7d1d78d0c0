// redact_dsn (declared in folio/db/connection.hpp): a DSN fit for messages and logs.
#include <algorithm>
#include <string>
#include <string_view>

#include "folio/db/connection.hpp"

namespace folio::db {

std::string redact_dsn(std::string_view dsn) {
  std::string out(dsn);
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
  // key=value form, and password= in a URI's query string.
  for (std::size_t pos = out.find("password"); pos != std::string::npos;
       pos = out.find("password", pos + 1)) {
    std::size_t i = pos + 8;
    while (i < out.size() && out[i] == ' ') ++i;
    if (i >= out.size() || out[i] != '=') continue;
    ++i;
    while (i < out.size() && out[i] == ' ') ++i;
    std::size_t end = i;
    if (end < out.size() && out[end] == '\'') {
      ++end;
      while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
      end = std::min(out.size(), end + 1);
    } else {
      while (end < out.size() && out[end] != ' ' && out[end] != '&') ++end;
    }
    out.replace(i, end - i, "***");
  }
  return out;
}

}  // namespace folio::db
