// Verification of the cutover (SPEC §2 phase 5, `folioctl switchover verify`): proves that the
// legacy and the partitioned side of every table hold the same rows, every column included.
//
// The tables are walked in org_id ranges ("chunks"), both sides of a chunk read in one short
// REPEATABLE READ READ ONLY transaction through their org_id-leading indexes, and compared per
// (month, hash bucket) by row count and an order-independent checksum (sum of row_hash_sql).
// A legacy row's cell is month_sql and hash_bucket_sql of its org; a partitioned row's is the
// leaf it is stored in, which the partition bounds make the same (and cost nothing to read). The
// sync triggers are synchronous, so inside any snapshot both sides are equal even under live
// writes; no snapshot lives longer than one chunk (the chunk size adapts toward a target
// duration), so verification never holds back vacuum. A mismatching (chunk, month, bucket) is
// bisected on org_id ranges, each probe a fresh snapshot, down to one organization or a few
// hundred rows, whose rows are compared by key; every difference is re-read in a fresh
// snapshot before it is reported. `repair` re-syncs each differing key from the side its
// organization is routed to, then re-checks it.
//
// Memory stays flat whatever the table size: per (month, bucket) aggregates, and at most
// `max_differences` keys per table.
//
// Thread-safety: stateless functions; the pool must be used from its own executor. Workers
// are coroutines on that executor, each on its own pooled connection, sharing the walk's
// state without locks. REQUIRES: that executor runs on one thread (an io_context run by one
// thread, or a strand).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "folio/cutover/audit.hpp"
#include "folio/cutover/tables.hpp"
#include "folio/db/pool.hpp"

namespace folio::cutover {

// Progress of a walk. The whole run's fraction weighs each table by its estimated rows (both
// sides, detail/row_estimate.hpp), not by its org_id range, and counts a table done in
// proportion to its org_id range walked.
struct VerifyProgress {
  std::string table;
  double fraction = 0;                      // of the table's org_id range walked
  std::int64_t rows = 0;                    // both sides, this table so far
  std::chrono::duration<double> elapsed{};  // since verify() started
  double overall_fraction = 0;              // of every selected table's estimated rows
  std::int64_t rows_all = 0;                // both sides, every table so far
  double rows_per_s = 0;                    // rows_all / elapsed
  // The estimated rows left at the pace the walk has gone through them; once known.
  std::optional<std::chrono::duration<double>> eta;
};

struct VerifyOptions {
  // Only rows whose time column is on or after this day (midnight UTC); nullopt: everything.
  std::optional<std::chrono::sys_days> since;
  bool repair = false;
  int workers = 2;  // chunks read concurrently, one connection each
  // Each chunk's snapshot should last about this long; the org_id span adapts toward it,
  // starting from a span estimated to hold `first_chunk_rows` rows. A chunk costs a fixed
  // amount besides its rows (planning and opening every leaf of the partitioned table), so
  // the target is raised to `overhead_factor` times that cost where that is longer (0: never).
  std::chrono::milliseconds target_chunk{300};
  double overhead_factor = 8;
  std::int64_t first_chunk_rows = 100000;
  std::chrono::milliseconds statement_timeout{60000};  // per statement, 0 = server default
  // Bisection stops at one organization or at most this many rows per side.
  std::int64_t leaf_rows = 200;
  // Keys reported (and repaired) per table at most; further mismatches still make the run
  // unclean and are counted as mismatched buckets.
  std::int64_t max_differences = 10000;
  // Tables to check, by logical name; empty: all of them.
  std::vector<std::string> tables;
  // Called after every chunk, on the pool's executor.
  std::function<void(const VerifyProgress&)> on_progress;
};

enum class DifferenceKind { missing_in_partitioned, missing_in_legacy, different };
std::string_view to_string(DifferenceKind kind);

// A row key: `id` for revenues and expenses; `org_id` + `balance_date` for balances.
struct RowKey {
  std::int64_t first = 0;                    // id, or org_id
  std::optional<std::chrono::sys_days> day;  // balance_date (balances only)
  auto operator<=>(const RowKey&) const = default;
};

struct Difference {
  RowKey key;
  DifferenceKind kind = DifferenceKind::different;
  // The organization each side files the row under (equal to the key's for balances);
  // nullopt where the side has no row.
  std::optional<std::int64_t> legacy_org;
  std::optional<std::int64_t> partitioned_org;
  bool repaired = false;  // re-synced and found equal afterwards
};

struct SideFigures {
  std::int64_t rows = 0;
  std::string checksum = "0";  // sum of row hashes, decimal
};

struct BucketMismatch {
  std::chrono::year_month month;
  int bucket = 0;
  SideFigures legacy;
  SideFigures partitioned;
};

struct TableVerification {
  std::string table;
  std::int64_t buckets_checked = 0;  // (month, bucket) pairs holding rows on either side
  std::int64_t rows_legacy = 0;
  std::int64_t rows_partitioned = 0;
  std::vector<BucketMismatch> mismatched_buckets;
  std::vector<Difference> differences;  // confirmed ones, by key
  bool differences_truncated = false;   // max_differences reached: more may exist
  std::int64_t repaired = 0;
  std::int64_t remaining = 0;  // differences left at the end
  std::int64_t chunks = 0;     // snapshots of the walk
  std::int64_t probes = 0;     // snapshots of bisections and row comparisons
  // Chunk mismatches gone when re-read (both sides are read in one snapshot, so only a
  // write that healed a real divergence meanwhile makes one).
  std::int64_t vanished = 0;
};

struct VerifyReport {
  bool clean = false;
  std::optional<std::chrono::sys_days> since;
  int hash_modulus = 0;
  std::vector<TableVerification> tables;
  std::int64_t differences = 0;  // found, all tables
  std::int64_t repaired = 0;
  std::int64_t remaining = 0;
  double seconds = 0;
  double rows_per_s = 0;  // rows of both sides read by the chunk scans per second
};

// Runs the verification (and the repair when asked). Throws std::invalid_argument for bad
// options, db::ObjectNotInPrerequisiteState before `prepare`, and what the server throws.
// REQUIRES: pool.options().max_size >= options.workers + 1.
boost::asio::awaitable<VerifyReport> verify(db::Pool& pool, const VerifyOptions& options);

// The verification as one audited phase ("verify" in cutover_audit): status 'ok' only when
// the run is clean (after a repair: when the re-check is clean), 'failed' otherwise; details
// hold {clean, since, differences, repaired, remaining, seconds, rows_per_s, tables}.
struct VerifyPhase {
  AuditedPhase audit;
  VerifyReport report;
};
boost::asio::awaitable<VerifyPhase> verify_phase(db::Pool& pool, const VerifyOptions& options,
                                                 StatsLevel stats);

// The full report: {clean, since, hash_modulus, tables: [{table, buckets_checked,
// rows_legacy, rows_partitioned, mismatched_buckets: [{month, bucket, legacy: {rows,
// checksum}, partitioned: {...}}], differences: [{key, kind, legacy_org, partitioned_org,
// repaired}], ...}], differences, repaired, remaining, seconds, rows_per_s}.
boost::json::object to_json(const VerifyReport& report);
// The small summary recorded in cutover_audit.details.
boost::json::object audit_details(const VerifyReport& report);
// A few lines for a terminal, indented to follow format_phase's header: the verdict
// (CLEAN / NOT CLEAN), durations and rates in plain units, one aligned row per table and the
// first differences of each.
std::string format_summary(const VerifyReport& report);

// The per-chunk aggregate statement of one side: $1, $2 the org_id range, $3 the `since`
// bound when `with_since`; one row per cell (legacy) or leaf (partitioned) with its count and
// checksum. Exposed for EXPLAIN (tests, the benchmark, operators).
std::string chunk_sql(const TableSpec& spec, Side side, int hash_modulus, bool with_since);

// EXPLAIN of the chunk statements of every selected table and side for a chunk from each
// table's smallest org_id, `org_span` ids wide (0: as wide as verify()'s first chunk): shows
// how chunk scans reach their rows (index or bitmap scans on org_id ranges; a sequential
// scan would read the whole table for every chunk). One "== table side ==" header per plan.
// Throws like verify().
boost::asio::awaitable<std::string> explain_chunks(db::Pool& pool, const VerifyOptions& options,
                                                   std::int64_t org_span = 0);

}  // namespace folio::cutover
