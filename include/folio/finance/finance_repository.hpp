// FinanceRepository: revenues, expenses and daily balances of one organization at a time —
// with ReportsRepository the only code in the services that writes SQL.
//
// Every call is scoped to `org`: the SQL filters on org_id, and the transaction runs as the
// role folio_app with folio.org_id set (transaction-local set_config, so it works through
// PgBouncer in transaction mode), so PostgreSQL's row-level security refuses any other
// organization's rows as a second line of defence. Table names come only from the
// PartitioningManager (legacy or partitioned, decided per call). The two-way sync triggers
// mirror each write to the other side in the same transaction.
//
// Each call is one round trip: its statements go out as one pipeline, which the server runs
// as one implicit transaction (all or nothing), in UTC, under options.statement_timeout.
// A write and its balance adjustment are one statement. On the partitioned side, calls name
// the organization's leaves of the months they touch (partitioning::PartitionLayout), and an
// update or delete by id first reads the entry's month from the locator (a second round
// trip; docs/decisions/0004-partition-layout-and-access-path.md).
//
// Every revenue/expense write adjusts that day's balances row (and the old day's, when an
// update moves the amount or the day) in the same transaction. Deadlocks and serialization
// failures (expected while a cutover switches sides) are retried with backoff, up to
// options.max_attempts; a sync trigger failure is reported (cutover::report_if_sync_failure)
// and rethrown (db::SyncTriggerFailure). Other failures are db::Error; bad input is
// InvalidValue naming the field, checked before any SQL runs. Every read throws OrgNotFound
// when the organization does not exist: the read's own pipeline asks (no extra round trip),
// and a replica's "no" is checked on the primary, which a new organization reaches first.
// A write that changes nothing (no such organization or entry) leaves no marker or cache
// version behind.
//
// Metrics: folio_finance_unit_duration_seconds{operation}, folio_finance_retries_total
// {operation}, folio_finance_unit_failures_total{operation}.
//
// Arguments are taken by value: a coroutine may start after the caller's temporaries died.
//
// Thread-safety: as the pool: use from the pool's executor. Stateless otherwise.
// REQUIRES: pool and routing outlive the repository.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "folio/db/pool.hpp"
#include "folio/finance/data_paths.hpp"
#include "folio/finance/model.hpp"
#include "folio/partitioning/partitioning_manager.hpp"

namespace folio::finance {

struct RepositoryOptions {
  std::chrono::milliseconds statement_timeout{5000};
  int max_attempts = 5;  // for 40001 / 40P01
};

inline constexpr std::size_t kMaxPageSize = 500;
// Longest range, in days, of a balances query or a report.
inline constexpr int kMaxRangeDays = 3700;

class FinanceRepository {
 public:
  // `pool` is the primary's; `paths` adds replicas and the shared markers (data_paths.hpp).
  FinanceRepository(db::Pool& pool, partitioning::PartitioningManager& routing,
                    RepositoryOptions options = {}, DataPaths paths = {});

  // Inserts the entry (id from folio_id_seq, created_at = updated_at = now()) and adds its
  // amount to the day's balance. Throws OrgNotFound, InvalidValue: "currency" (not the
  // organization's, or not three upper-case letters), "category", "amount_cents" (negative),
  // "occurred_at" (outside years 1..9999, or a month the partitioned tables lack),
  // "description"/"vendor" (not UTF-8 or containing NUL; a vendor on a revenue).
  boost::asio::awaitable<Entry> create(std::int64_t org, EntryKind kind, NewEntry entry);

  // nullopt when the organization has no such entry.
  boost::asio::awaitable<std::optional<Entry>> get(std::int64_t org, EntryKind kind,
                                                   std::int64_t id);

  // Entries with occurred_at in the UTC days [from, to], ordered by (occurred_at, id),
  // at most `limit` (1..kMaxPageSize), after `after` when given. Throws InvalidValue
  // ("limit"; "to" when before from).
  boost::asio::awaitable<EntryPage> list(std::int64_t org, EntryKind kind, Day from, Day to,
                                         std::size_t limit, std::optional<Cursor> after);

  // Applies the patch (updated_at = now()) and moves the amount between balance days as
  // needed. nullopt when no such entry. An empty patch returns the entry unchanged. Throws
  // InvalidValue as create() does for the fields it sets; setting a revenue's vendor to NULL
  // is accepted and changes nothing.
  boost::asio::awaitable<std::optional<Entry>> update(std::int64_t org, EntryKind kind,
                                                      std::int64_t id, EntryPatch patch);

  // Deletes the entry and subtracts it from its day's balance (the row stays, possibly all
  // zeros). false when no such entry.
  boost::asio::awaitable<bool> remove(std::int64_t org, EntryKind kind, std::int64_t id);

  // The balances rows of the UTC days [from, to] that exist, ascending. Throws
  // InvalidValue("to") when to < from or the range exceeds kMaxRangeDays.
  boost::asio::awaitable<std::vector<BalanceDay>> balances(std::int64_t org, Day from, Day to);

 private:
  db::Pool& pool_;
  partitioning::PartitioningManager& routing_;
  RepositoryOptions options_;
  DataPaths paths_;
};

}  // namespace folio::finance
