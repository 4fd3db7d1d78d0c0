// Input checks of the finance repositories, done before any SQL runs so that bad input is an
// InvalidValue naming its field rather than a database error (and never a silently truncated
// parameter: libpq's text parameters end at a NUL byte).
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "folio/finance/finance_repository.hpp"
#include "folio/finance/model.hpp"

namespace folio::finance::detail {

// Each throws InvalidValue(field, ...) when the value is not acceptable.
void check_category(EntryKind kind, std::string_view category);
void check_amount(std::int64_t amount_cents);
void check_currency(std::string_view currency);  // three upper-case letters
void check_time(Timestamp t, std::string_view field);
// Valid UTF-8 without NUL bytes.
void check_text(std::string_view text, std::string_view field);
void check_optional_text(const std::optional<std::string>& text, std::string_view field);
// Vendors are for expenses only.
void check_vendor(EntryKind kind, const std::optional<std::string>& vendor);
// from <= to, both supported; at most kMaxRangeDays days when `bounded`.
void check_range(Day from, Day to, bool bounded);

void check_new_entry(EntryKind kind, const NewEntry& entry);
void check_patch(EntryKind kind, const EntryPatch& patch);

}  // namespace folio::finance::detail
