// The vocabulary the seed generator draws from: revenue and expense categories, currencies
// with their timezones, kinds of hospitality business, name parts, vendors and descriptions,
// and the integer tables that shape amounts and seasonality.
//
// Everything is constexpr data; weights are relative integers, factors are per mille.
// Changing any table changes the generated data for every seed (the generator's output is a
// function of this catalog), so treat edits like a format change.
//
// The constexpr max_*_chars() bounds let row writers size stack buffers at compile time, and
// catalog_texts_are_escape_free() lets them copy catalog texts without escaping.
//
// Thread-safety: immutable; read from any thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "folio/seed/copy_text.hpp"

namespace folio::seed {

// The allowed categories (the API validates against the same sets).
inline constexpr std::array<std::string_view, 5> kRevenueCategories = {"room", "food_beverage",
                                                                       "spa", "events", "other"};
inline constexpr std::array<std::string_view, 6> kExpenseCategories = {
    "payroll", "supplies", "utilities", "maintenance", "marketing", "other"};

struct Timezone {
  std::string_view name;
  std::int32_t utc_offset_seconds;  // standard time; shapes the local time of day only
};

struct Currency {
  std::string_view code;
  std::uint32_t weight;             // share of organizations
  std::uint32_t per_mille_of_eur;   // amounts are planned in EUR cents, then converted
  bool whole_units;                 // JPY: amount_cents is a multiple of 100
  std::span<const Timezone> zones;  // an organization's timezone is one of these
};

namespace catalog_detail {
inline constexpr Timezone kEurZones[] = {
    {"Europe/Berlin", 3600}, {"Europe/Paris", 3600},  {"Europe/Madrid", 3600},
    {"Europe/Rome", 3600},   {"Europe/Vienna", 3600}, {"Europe/Amsterdam", 3600},
    {"Europe/Lisbon", 0},    {"Europe/Dublin", 0},    {"Europe/Athens", 7200}};
inline constexpr Timezone kUsdZones[] = {
    {"America/New_York", -18000}, {"America/Chicago", -21600},     {"America/Denver", -25200},
    {"America/Phoenix", -25200},  {"America/Los_Angeles", -28800}, {"Pacific/Honolulu", -36000}};
inline constexpr Timezone kGbpZones[] = {{"Europe/London", 0}};
inline constexpr Timezone kChfZones[] = {{"Europe/Zurich", 3600}};
inline constexpr Timezone kJpyZones[] = {{"Asia/Tokyo", 32400}};
inline constexpr Timezone kAudZones[] = {
    {"Australia/Sydney", 36000}, {"Australia/Melbourne", 36000}, {"Australia/Perth", 28800}};
inline constexpr Timezone kCadZones[] = {
    {"America/Toronto", -18000}, {"America/Vancouver", -28800}, {"America/Halifax", -14400}};
}  // namespace catalog_detail

inline constexpr Currency kCurrencies[] = {{"EUR", 40, 1000, false, catalog_detail::kEurZones},
                                           {"USD", 25, 1080, false, catalog_detail::kUsdZones},
                                           {"GBP", 10, 860, false, catalog_detail::kGbpZones},
                                           {"CHF", 6, 950, false, catalog_detail::kChfZones},
                                           {"JPY", 7, 160000, true, catalog_detail::kJpyZones},
                                           {"AUD", 6, 1650, false, catalog_detail::kAudZones},
                                           {"CAD", 6, 1470, false, catalog_detail::kCadZones}};

// A kind of business: its name word, how common it is, its size (scales every amount) and
// how its revenue and expense rows split over the categories (same order as the arrays
// above).
struct OrgKind {
  std::string_view word;
  std::uint32_t weight;
  std::uint32_t scale_per_mille;
  std::array<std::uint32_t, kRevenueCategories.size()> revenue_weights;
  std::array<std::uint32_t, kExpenseCategories.size()> expense_weights;
};

inline constexpr OrgKind kOrgKinds[] = {
    {"Hotel", 30, 1500, {55, 25, 5, 8, 7}, {10, 35, 14, 16, 10, 15}},
    {"Resort", 8, 2500, {45, 25, 15, 10, 5}, {10, 33, 15, 17, 12, 13}},
    {"Restaurant", 25, 600, {0, 85, 0, 10, 5}, {12, 45, 12, 12, 7, 12}},
    {"Spa", 10, 500, {0, 10, 75, 3, 12}, {12, 38, 14, 12, 10, 14}},
    {"Inn", 8, 700, {60, 30, 0, 3, 7}, {10, 35, 15, 18, 7, 15}},
    {"Bistro", 10, 400, {0, 90, 0, 5, 5}, {12, 48, 12, 10, 6, 12}},
    {"Lodge", 5, 800, {55, 30, 5, 3, 7}, {10, 35, 16, 18, 7, 14}},
    {"Suites", 4, 1200, {70, 15, 3, 5, 7}, {10, 32, 15, 16, 12, 15}}};

inline constexpr std::string_view kNamePrefixes[] = {
    "Harbor",  "Alpine", "Golden",   "Silver",      "Royal",    "Lakeside",   "Riverside",
    "Grand",   "Sunset", "Seaside",  "Old Town",    "Maple",    "Cedar",      "Olive Grove",
    "Coral",   "Summit", "Meadow",   "Blue Lagoon", "Vineyard", "Lighthouse", "Garden",
    "Crystal", "Palm",   "Northern", "Amber",       "Willow",   "Granite",    "Bayfront"};
inline constexpr std::string_view kNameSuffixes[] = {
    "View", "Park",  "Gardens", "Bay",   "Crest",   "Plaza",  "Court",   "House",
    "Hill", "Point", "Terrace", "Ridge", "Springs", "Square", "Harbour", "Heights"};

// Amount shape of a category: the median (EUR cents, before the organization's scale and
// the season), a narrow or wide log-normal spread, and whether it is charged in whole units.
struct AmountShape {
  std::int64_t median_eur_cents;
  bool wide;
  bool whole_units;
};

inline constexpr AmountShape kRevenueAmounts[] = {
    {18000, false, true},  // room: a night or a stay
    {6000, true, false},   // food_beverage: a table, a bar tab
    {9500, false, false},  // spa: a treatment
    {250000, true, true},  // events: a wedding, a conference
    {3000, true, false}};  // other: parking, laundry, minibar
inline constexpr AmountShape kExpenseAmounts[] = {
    {900000, false, false},  // payroll: large, steady
    {18000, true, false},    // supplies: small, frequent
    {90000, false, false},   // utilities
    {60000, true, false},    // maintenance
    {80000, true, true},     // marketing
    {12000, true, false}};   // other

// Log-normal multipliers (per mille) at quantiles i/64, i = 0..64 (ends clamped to 0.5 % and
// 99.5 %); sigma 0.35 and 0.7. Interpolated linearly between entries.
inline constexpr std::array<std::uint32_t, 65> kNarrowSpread = {
    406,  471,  521,  556,  585,  609,  630,  650,  669,  686,  702,  718,  733,
    748,  762,  776,  790,  803,  817,  830,  843,  856,  869,  882,  894,  907,
    920,  933,  946,  960,  973,  986,  1000, 1014, 1028, 1042, 1057, 1071, 1087,
    1102, 1118, 1134, 1151, 1169, 1187, 1205, 1225, 1245, 1266, 1289, 1312, 1337,
    1364, 1393, 1424, 1458, 1496, 1538, 1586, 1643, 1711, 1798, 1919, 2125, 2463};
inline constexpr std::array<std::uint32_t, 65> kWideSpread = {
    165,  221,  271,  309,  342,  371,  397,  423,  447,  470,  493,  515,  537,
    559,  581,  602,  624,  645,  667,  688,  710,  732,  755,  777,  800,  823,
    847,  871,  896,  921,  947,  973,  1000, 1028, 1056, 1086, 1116, 1148, 1181,
    1215, 1250, 1287, 1325, 1366, 1408, 1453, 1500, 1550, 1603, 1661, 1722, 1788,
    1861, 1940, 2028, 2126, 2237, 2365, 2516, 2698, 2927, 3232, 3684, 4516, 6068};

// Seasonality: activity by calendar month (January first), by weekday (Sunday first, as
// std::chrono::weekday::c_encoding) and by local hour of day. Revenue amounts also scale with
// the month factor (peak-season rates).
inline constexpr std::array<std::uint32_t, 12> kMonthFactor = {800,  820,  920,  1000, 1080, 1220,
                                                               1350, 1380, 1120, 1000, 880,  1300};
inline constexpr std::array<std::uint32_t, 7> kWeekdayFactor = {1050, 820,  850, 900,
                                                                1000, 1250, 1350};
inline constexpr std::array<std::uint32_t, 24> kHourWeight = {
    2, 1, 1, 1, 1, 2, 5, 9, 10, 8, 7, 9, 12, 11, 8, 7, 7, 9, 12, 14, 13, 10, 7, 4};

// A description: head, then (when hi > 0) a number in [lo, hi], then tail.
inline constexpr std::size_t kMaxNumberChars = 10;  // digits of a uint32
struct DescriptionTemplate {
  std::string_view head;
  std::uint32_t lo;
  std::uint32_t hi;
  std::string_view tail;
};

namespace catalog_detail {
inline constexpr DescriptionTemplate kRoom[] = {
    {"Room ", 101, 950, ""},          {"Stay, ", 1, 9, " nights"},
    {"Suite upgrade", 0, 0, ""},      {"Late checkout", 0, 0, ""},
    {"Booking #", 10000, 999999, ""}, {"Group block, ", 5, 40, " rooms"}};
inline constexpr DescriptionTemplate kFoodBeverage[] = {{"Dinner, table ", 1, 60, ""},
                                                        {"Breakfast buffet", 0, 0, ""},
                                                        {"Bar tab", 0, 0, ""},
                                                        {"Room service", 0, 0, ""},
                                                        {"Café terrace lunch", 0, 0, ""},
                                                        {"Wine pairing menu, ", 2, 12, " guests"}};
inline constexpr DescriptionTemplate kSpa[] = {{"Massage ", 30, 120, " min"},
                                               {"Facial treatment", 0, 0, ""},
                                               {"Day pass", 0, 0, ""},
                                               {"Wellness package", 0, 0, ""},
                                               {"Sauna & pool access", 0, 0, ""}};
inline constexpr DescriptionTemplate kEvents[] = {{"Wedding reception", 0, 0, ""},
                                                  {"Conference room hire", 0, 0, ""},
                                                  {"Corporate dinner, ", 10, 300, " guests"},
                                                  {"Birthday party", 0, 0, ""},
                                                  {"Seminar package, day ", 1, 5, ""}};
inline constexpr DescriptionTemplate kRevenueOther[] = {{"Parking", 0, 0, ""},
                                                        {"Laundry service", 0, 0, ""},
                                                        {"Gift shop", 0, 0, ""},
                                                        {"Minibar", 0, 0, ""},
                                                        {"Bike rental, ", 1, 7, " days"}};
inline constexpr DescriptionTemplate kPayroll[] = {{"Monthly payroll", 0, 0, ""},
                                                   {"Overtime", 0, 0, ""},
                                                   {"Temporary staff", 0, 0, ""},
                                                   {"Holiday bonus", 0, 0, ""},
                                                   {"Payroll run ", 1, 52, ""}};
inline constexpr DescriptionTemplate kSupplies[] = {
    {"Linen and towels", 0, 0, ""},  {"Food supplies", 0, 0, ""},
    {"Beverage order", 0, 0, ""},    {"Cleaning products", 0, 0, ""},
    {"Amenities restock", 0, 0, ""}, {"Purchase order PO-", 1000, 99999, ""}};
inline constexpr DescriptionTemplate kUtilities[] = {{"Electricity", 0, 0, ""},
                                                     {"Water", 0, 0, ""},
                                                     {"Gas", 0, 0, ""},
                                                     {"Internet and phone", 0, 0, ""},
                                                     {"Waste collection", 0, 0, ""}};
inline constexpr DescriptionTemplate kMaintenance[] = {{"HVAC service", 0, 0, ""},
                                                       {"Elevator inspection", 0, 0, ""},
                                                       {"Plumbing repair", 0, 0, ""},
                                                       {"Pool maintenance", 0, 0, ""},
                                                       {"Kitchen equipment repair", 0, 0, ""},
                                                       {"Work order WO-", 100, 9999, ""}};
inline constexpr DescriptionTemplate kMarketing[] = {{"Online ads", 0, 0, ""},
                                                     {"OTA commission", 0, 0, ""},
                                                     {"Print brochures", 0, 0, ""},
                                                     {"Social media campaign", 0, 0, ""},
                                                     {"Trade fair, booth ", 1, 400, ""}};
inline constexpr DescriptionTemplate kExpenseOther[] = {{"Insurance", 0, 0, ""},
                                                        {"Licenses and permits", 0, 0, ""},
                                                        {"Bank fees", 0, 0, ""},
                                                        {"Office supplies", 0, 0, ""},
                                                        {"Staff training", 0, 0, ""}};
}  // namespace catalog_detail

inline constexpr std::span<const DescriptionTemplate> kRevenueDescriptions[] = {
    catalog_detail::kRoom, catalog_detail::kFoodBeverage, catalog_detail::kSpa,
    catalog_detail::kEvents, catalog_detail::kRevenueOther};
inline constexpr std::span<const DescriptionTemplate> kExpenseDescriptions[] = {
    catalog_detail::kPayroll,     catalog_detail::kSupplies,  catalog_detail::kUtilities,
    catalog_detail::kMaintenance, catalog_detail::kMarketing, catalog_detail::kExpenseOther};

// Free-text notes appended to a few descriptions, as people type them: line breaks, tabs and
// backslashes, so every loader's COPY escaping is exercised.
inline constexpr std::string_view kDescriptionNotes[] = {
    "\nApproved by night manager", "\tref INV-2291", " (see \\\\fileserver\\invoices)",
    "\r\nsecond line", " – paid in full"};

namespace catalog_detail {
inline constexpr std::string_view kPayrollVendors[] = {"ADP", "Paychex", "Personio", "Gusto",
                                                       "DATEV"};
inline constexpr std::string_view kSuppliesVendors[] = {"Metro Cash & Carry",
                                                        "Sysco",
                                                        "Transgourmet",
                                                        "Müller Getränke GmbH",
                                                        "Ecolab",
                                                        "Hotelwäsche Schmidt",
                                                        "Boulangerie Dupont",
                                                        "Costco Business Center",
                                                        "Brakes"};
inline constexpr std::string_view kUtilitiesVendors[] = {
    "Stadtwerke",           "EDF",   "National Grid", "Con Edison",
    "Tokyo Electric Power", "Engie", "Vattenfall"};
inline constexpr std::string_view kMaintenanceVendors[] = {
    "Schindler",        "Otis",          "KONE", "Kärcher Service", "ABC Plumbing & Heating",
    "Johnson Controls", "O'Brien & Sons"};
inline constexpr std::string_view kMarketingVendors[] = {
    "Google Ads", "Meta Ads", "Booking.com", "Expedia Group", "Tripadvisor", "Local Print Co."};
inline constexpr std::string_view kOtherVendors[] = {
    "Allianz", "AXA", "Stripe", "Adyen", "Amazon Business", "Office Depot"};
}  // namespace catalog_detail

inline constexpr std::span<const std::string_view> kVendors[] = {
    catalog_detail::kPayrollVendors,   catalog_detail::kSuppliesVendors,
    catalog_detail::kUtilitiesVendors, catalog_detail::kMaintenanceVendors,
    catalog_detail::kMarketingVendors, catalog_detail::kOtherVendors};

// Longest text of each kind, so row writers can size their buffers at compile time.
namespace catalog_detail {
constexpr std::size_t longest(std::span<const std::string_view> texts) {
  std::size_t n = 0;
  for (const auto t : texts) n = std::max(n, t.size());
  return n;
}
constexpr std::size_t longest_template(
    std::span<const std::span<const DescriptionTemplate>> lists) {
  std::size_t n = 0;
  for (const auto& list : lists) {
    for (const auto& t : list) n = std::max(n, t.head.size() + kMaxNumberChars + t.tail.size());
  }
  return n;
}
constexpr bool needs_escape(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return copy_escape_letter(c) != 0; });
}
}  // namespace catalog_detail

constexpr std::size_t max_category_chars() {
  return std::max(catalog_detail::longest(kRevenueCategories),
                  catalog_detail::longest(kExpenseCategories));
}

// Unescaped; only the notes may need escaping.
constexpr std::size_t max_description_chars() {
  return std::max(catalog_detail::longest_template(kRevenueDescriptions),
                  catalog_detail::longest_template(kExpenseDescriptions)) +
         catalog_detail::longest(kDescriptionNotes);
}

constexpr std::size_t max_vendor_chars() {
  std::size_t n = 0;
  for (const auto& list : kVendors) n = std::max(n, catalog_detail::longest(list));
  return n;
}

constexpr std::size_t max_zone_chars() {
  std::size_t n = 0;
  for (const auto& c : kCurrencies) {
    for (const auto& z : c.zones) n = std::max(n, z.name.size());
  }
  return n;
}

// Prefix, suffix and kind word of an organization name (without separators and number).
constexpr std::size_t max_org_name_words_chars() {
  std::size_t kind = 0;
  for (const auto& k : kOrgKinds) kind = std::max(kind, k.word.size());
  return catalog_detail::longest(kNamePrefixes) + catalog_detail::longest(kNameSuffixes) + kind;
}

// True when no catalog text other than kDescriptionNotes contains a byte COPY text format
// escapes, so writers may copy those texts verbatim.
constexpr bool catalog_texts_are_escape_free() {
  using catalog_detail::needs_escape;
  const auto all_plain = [](std::span<const std::string_view> texts) {
    return std::none_of(texts.begin(), texts.end(), needs_escape);
  };
  const auto templates_plain = [](std::span<const std::span<const DescriptionTemplate>> lists) {
    for (const auto& list : lists) {
      for (const auto& t : list) {
        if (needs_escape(t.head) || needs_escape(t.tail)) return false;
      }
    }
    return true;
  };
  if (!all_plain(kRevenueCategories) || !all_plain(kExpenseCategories)) return false;
  if (!all_plain(kNamePrefixes) || !all_plain(kNameSuffixes)) return false;
  if (!templates_plain(kRevenueDescriptions) || !templates_plain(kExpenseDescriptions)) {
    return false;
  }
  for (const auto& list : kVendors) {
    if (!all_plain(list)) return false;
  }
  for (const auto& k : kOrgKinds) {
    if (needs_escape(k.word)) return false;
  }
  for (const auto& c : kCurrencies) {
    if (needs_escape(c.code)) return false;
    for (const auto& z : c.zones) {
      if (needs_escape(z.name)) return false;
    }
  }
  return true;
}

}  // namespace folio::seed
