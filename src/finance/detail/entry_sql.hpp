// The SQL of FinanceRepository's entry statements, built for the physical tables routing
// picked (legacy or partitioned) and the kind of entry, and the decoding of their rows.
//
// Relation names come from partitioning (physical_name, PartitionLayout: the legacy table, the
// partitioned parent, an organization's leaf or a UNION ALL of its leaves; never input); every
// value is a parameter. Each write is one statement: the entry change and the balance upsert
// of the day(s) it touches, chained by data-modifying CTEs.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "folio/db/result.hpp"
#include "folio/finance/model.hpp"
#include "folio/partitioning/table.hpp"

namespace folio::finance::detail {

// The logical table of an entry kind.
partitioning::Table entry_table(EntryKind kind);

struct Tables {
  std::string entries;   // what to read or write: revenues, a leaf of revenues_partitioned...
  std::string balances;  // the same for balances
  // Extra conditions on the entry row a by-id write starts from (" AND e.occurred_at >= ..."),
  // so that a write through a partitioned parent prunes to the month the row is in.
  std::string entry_filter;
};

// Decodes the entry columns that start at `first` (the order every entry statement returns).
Entry decode_entry(const db::Row& row, EntryKind kind, int first = 0);

// $1 org, $2 category, $3 amount_cents, $4 currency (NULL: the organization's),
// $5 occurred_at, $6 description, $7 vendor (expenses only). One row: org_currency (NULL when
// the organization does not exist), then the entry columns (NULL when nothing was inserted).
std::string create_sql(EntryKind kind, const Tables& tables);

// $1 org, $2 id. The entry columns, or no row.
std::string get_sql(EntryKind kind, const Tables& tables);

// The same on the partitioned side through the locator (folio_<kind>_by_id of
// sql/migrations/0005_entry_locator.sql): $1 org, $2 id, $3 the org's hash remainder.
std::string get_located_sql(EntryKind kind);

// $1 org, $2 id. The entry's month (first day) by the locator, or no row.
std::string locate_sql(EntryKind kind);

// $1 org, $2 from (inclusive), $3 to (exclusive), $4 limit, and with a cursor $5 occurred_at,
// $6 id. Entry rows in (occurred_at, id) order.
std::string list_sql(EntryKind kind, const Tables& tables, bool after_cursor);

// $1 org, $2 id, then (set flag, value) pairs: $3/$4 category, $5/$6 amount_cents,
// $7/$8 currency, $9/$10 occurred_at, $11/$12 description, and for expenses $13/$14 vendor.
// One row: org_currency, then the updated entry's columns (NULL when nothing was updated:
// no such entry, or a currency other than the organization's).
std::string update_sql(EntryKind kind, const Tables& tables);

// $1 org, $2 id. One row: the number of entries deleted (0 or 1).
std::string delete_sql(EntryKind kind, const Tables& tables);

// $1 org, $2 from day, $3 to day (inclusive). balance_date, revenue, expense, net.
std::string balances_sql(const Tables& tables);

}  // namespace folio::finance::detail
