// PostgreSQL WAL positions (pg_lsn) as plain numbers, so positions read from different servers
// can be compared and subtracted: "16/B374D848" is (0x16 << 32) | 0xB374D848.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace folio::db {

using Lsn = std::uint64_t;  // a WAL position

// "16/B374D848" -> value: two groups of 1 to 8 hex digits (either case) around a '/', nothing
// else (no spaces). nullopt if malformed.
std::optional<Lsn> parse_lsn(std::string_view text);

// value -> "16/B374D848", uppercase hex without leading zeros, as PostgreSQL prints it.
std::string format_lsn(Lsn lsn);

}  // namespace folio::db
