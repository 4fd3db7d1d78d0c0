// cutover_audit: every phase run leaves one row saying what ran, how it ended, and the row
// counts and checksums of both sides of every table before and after, so an operator can
// prove at each step that nothing was lost.
//
// Thread-safety: stateless functions; the pool must be used from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "folio/cutover/tables.hpp"
#include "folio/db/pool.hpp"

namespace folio::cutover {

struct SideStats {
  std::string table;  // logical name: revenues, expenses, balances
  Side side = Side::legacy;
  bool exists = false;
  std::int64_t rows = 0;
  std::optional<std::string> checksum;  // sum of row hashes (decimal), when computed
};

enum class StatsLevel { full, counts, none };
// "full", "counts", "none"; nullopt otherwise.
std::optional<StatsLevel> parse_stats_level(std::string_view text);

// Counts (and checksums at `full`) of every table on both sides; a side that does not
// exist is reported with exists = false. Each figure is read in one REPEATABLE READ
// snapshot per table so the two sides of a table are comparable.
boost::asio::awaitable<std::vector<SideStats>> collect_stats(db::Pool& pool, StatsLevel level);

struct PhaseOutcome {
  // "ok"; "noop" when there was nothing to do; "failed" when the phase ran to the end but
  // its result is bad (a verification with differences) and the details should be kept.
  std::string status = "ok";
  boost::json::object details;
};

struct AuditedPhase {
  std::int64_t audit_id = 0;
  std::string phase;
  std::string status;  // ok, noop, failed
  boost::json::object details;
  std::vector<SideStats> before;
  std::vector<SideStats> after;
  double seconds = 0;
  std::string error;  // set when failed
};

// Inserts a 'running' cutover_audit row, takes the "before" figures, runs `body`, takes the
// "after" figures and completes the row. When `body` throws, the row is completed as
// 'failed' with the error text and the exception is rethrown. `phase` is one of the values
// cutover_audit accepts.
boost::asio::awaitable<AuditedPhase> run_audited(
    db::Pool& pool, std::string phase, StatsLevel level,
    std::function<boost::asio::awaitable<PhaseOutcome>()> body);

// The phase for a terminal: a header line (phase, status, duration, audit id), the error,
// the details as aligned "label  value" lines in plain units (durations "12.4 s", rates
// "61,200 rows/s", counts "1,234,567"; nested objects indented beneath their label) or,
// when given, `details_text` in their place (a caller that shows the result its own way, such
// as verify's summary), then per table and side the rows (and checksums, where computed)
// before and after. Never prints JSON or a number with an exponent.
std::string format_phase(const AuditedPhase& phase,
                         std::optional<std::string_view> details_text = std::nullopt);

// The phase as one JSON document: {phase, status, audit_id, seconds, details, before: [{table,
// side, exists, rows, checksum}], after: [...], error (when failed)}. Serialize it with
// obs::to_json_text so that seconds reads 1.369, not 1.369236024E0.
boost::json::object to_json(const AuditedPhase& phase);

}  // namespace folio::cutover
