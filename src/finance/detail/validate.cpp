#include "detail/validate.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace folio::finance::detail {
namespace {

[[noreturn]] void invalid(std::string_view field, const std::string& message) {
  throw InvalidValue(std::string(field), message);
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

void check_category(EntryKind kind, std::string_view category) {
  if (!is_category(kind, category)) {
    std::string allowed;
    for (const auto c : categories(kind)) {
      if (!allowed.empty()) allowed += ", ";
      allowed += c;
    }
    invalid("category", std::string("not a ") + std::string(to_string(kind)) +
                            " category (one of " + allowed + ")");
  }
}

void check_amount(std::int64_t amount_cents) {
  if (amount_cents < 0) invalid("amount_cents", "amount_cents must not be negative");
}

void check_currency(std::string_view currency) {
  const bool ok = currency.size() == 3 && std::all_of(currency.begin(), currency.end(),
                                                      [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!ok) invalid("currency", "currency must be an ISO-4217 code (three upper-case letters)");
}

void check_time(Timestamp t, std::string_view field) {
  if (!is_supported_time(t)) invalid(field, std::string(field) + " is out of range");
}

void check_text(std::string_view text, std::string_view field) {
  if (!valid_utf8(text)) {
    invalid(field, std::string(field) + " must be UTF-8 text without NUL characters");
  }
}

void check_optional_text(const std::optional<std::string>& text, std::string_view field) {
  if (text) check_text(*text, field);
}

void check_vendor(EntryKind kind, const std::optional<std::string>& vendor) {
  if (!vendor) return;
  if (kind == EntryKind::revenue) invalid("vendor", "revenues have no vendor");
  check_text(*vendor, "vendor");
}

void check_range(Day from, Day to, bool bounded) {
  using namespace std::chrono;
  check_time(from, "from");
  check_time(to, "to");
  if (from > to) invalid("to", "to is before from");
  if (bounded && to - from >= days(kMaxRangeDays)) {
    invalid("to", "the range spans more than " + std::to_string(kMaxRangeDays) + " days");
  }
}

void check_new_entry(EntryKind kind, const NewEntry& entry) {
  check_category(kind, entry.category);
  check_amount(entry.amount_cents);
  if (entry.currency) check_currency(*entry.currency);
  check_time(entry.occurred_at, "occurred_at");
  check_optional_text(entry.description, "description");
  check_vendor(kind, entry.vendor);
}

void check_patch(EntryKind kind, const EntryPatch& patch) {
  if (patch.category) check_category(kind, *patch.category);
  if (patch.amount_cents) check_amount(*patch.amount_cents);
  if (patch.currency) check_currency(*patch.currency);
  if (patch.occurred_at) check_time(*patch.occurred_at, "occurred_at");
  if (patch.description) check_optional_text(*patch.description, "description");
  if (patch.vendor) check_vendor(kind, *patch.vendor);
}

}  // namespace folio::finance::detail
