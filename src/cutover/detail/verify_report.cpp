// The verification report as JSON (folioctl's --json document and --report-file,
// cutover_audit.details) and as text.
#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <cmath>

#include "folio/cutover/verify.hpp"
#include "folio/db/params.hpp"
#include "folio/obs/human_text.hpp"
#include "months.hpp"

namespace folio::cutover {

namespace json = boost::json;

namespace {

json::value since_json(const std::optional<std::chrono::sys_days>& since) {
  if (!since) return nullptr;
  return json::value(db::format_date(*since));
}

json::object key_json(const RowKey& key) {
  if (key.day) return {{"org_id", key.first}, {"balance_date", db::format_date(*key.day)}};
  return {{"id", key.first}};
}

json::object figures_json(const SideFigures& f) {
  return {{"rows", f.rows}, {"checksum", f.checksum}};
}

json::value org_json(const std::optional<std::int64_t>& org) {
  if (!org) return nullptr;
  return *org;
}

}  // namespace

json::object to_json(const VerifyReport& report) {
  json::array tables;
  for (const auto& t : report.tables) {
    json::array buckets;
    for (const auto& b : t.mismatched_buckets) {
      buckets.push_back(json::object{{"month", detail::month_text(b.month)},
                                     {"bucket", b.bucket},
                                     {"legacy", figures_json(b.legacy)},
                                     {"partitioned", figures_json(b.partitioned)}});
    }
    json::array differences;
    for (const auto& d : t.differences) {
      differences.push_back(json::object{{"key", key_json(d.key)},
                                         {"kind", to_string(d.kind)},
                                         {"legacy_org", org_json(d.legacy_org)},
                                         {"partitioned_org", org_json(d.partitioned_org)},
                                         {"repaired", d.repaired}});
    }
    tables.push_back(json::object{{"table", t.table},
                                  {"buckets_checked", t.buckets_checked},
                                  {"rows_legacy", t.rows_legacy},
                                  {"rows_partitioned", t.rows_partitioned},
                                  {"mismatched_buckets", std::move(buckets)},
                                  {"differences", std::move(differences)},
                                  {"differences_truncated", t.differences_truncated},
                                  {"repaired", t.repaired},
                                  {"remaining", t.remaining},
                                  {"chunks", t.chunks},
                                  {"probes", t.probes},
                                  {"vanished", t.vanished}});
  }
  return {{"clean", report.clean},
          {"since", since_json(report.since)},
          {"hash_modulus", report.hash_modulus},
          {"tables", std::move(tables)},
          {"differences", report.differences},
          {"repaired", report.repaired},
          {"remaining", report.remaining},
          {"seconds", std::round(report.seconds * 1000) / 1000},
          {"rows_per_s", std::round(report.rows_per_s)}};
}

json::object audit_details(const VerifyReport& report) {
  json::object tables;
  for (const auto& t : report.tables) {
    tables[t.table] =
        json::object{{"buckets_checked", t.buckets_checked},
                     {"rows_legacy", t.rows_legacy},
                     {"rows_partitioned", t.rows_partitioned},
                     {"mismatched_buckets", static_cast<std::int64_t>(t.mismatched_buckets.size())},
                     {"differences", static_cast<std::int64_t>(t.differences.size())},
                     {"remaining", t.remaining}};
  }
  return {{"clean", report.clean},
          {"since", since_json(report.since)},
          {"differences", report.differences},
          {"repaired", report.repaired},
          {"remaining", report.remaining},
          {"seconds", std::round(report.seconds * 10) / 10},
          {"rows_per_s", std::round(report.rows_per_s)},
          {"tables", std::move(tables)}};
}

std::string format_summary(const VerifyReport& report) {
  std::string out =
      fmt::format("  {} — {} differences, {} repaired, {} remaining; compared in {}, {}{}\n",
                  report.clean ? "CLEAN" : "NOT CLEAN", obs::thousands(report.differences),
                  obs::thousands(report.repaired), obs::thousands(report.remaining),
                  obs::duration_text(report.seconds), obs::rate_text(report.rows_per_s),
                  report.since ? " (since " + db::format_date(*report.since) + ")" : "");
  out += fmt::format("  {:<9} {:>14} {:>14} {:>8} {:>10} {:>11} {:>9}\n", "table", "legacy",
                     "partitioned", "buckets", "mismatched", "differences", "remaining");
  for (const auto& t : report.tables) {
    out += fmt::format("  {:<9} {:>14} {:>14} {:>8} {:>10} {:>11} {:>9}{}\n", t.table,
                       obs::thousands(t.rows_legacy), obs::thousands(t.rows_partitioned),
                       obs::thousands(t.buckets_checked),
                       obs::thousands(static_cast<std::int64_t>(t.mismatched_buckets.size())),
                       obs::thousands(static_cast<std::int64_t>(t.differences.size())),
                       obs::thousands(t.remaining),
                       t.differences_truncated ? "  (more differences not listed)" : "");
    constexpr std::size_t kShown = 10;
    for (std::size_t i = 0; i < t.differences.size() && i < kShown; ++i) {
      const auto& d = t.differences[i];
      const std::string key = d.key.day ? fmt::format("org_id={} balance_date={}", d.key.first,
                                                      db::format_date(*d.key.day))
                                        : fmt::format("id={}", d.key.first);
      out += fmt::format("    {} {}{}\n", key, to_string(d.kind), d.repaired ? " (repaired)" : "");
    }
    if (t.differences.size() > kShown) {
      out += fmt::format("    ... {} more (see --json or --report-file)\n",
                         t.differences.size() - kShown);
    }
  }
  return out;
}

}  // namespace folio::cutover
