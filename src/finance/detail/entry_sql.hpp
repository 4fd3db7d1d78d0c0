// The SQL of FinanceRepository's entry statements, built for the physical tables routing
// picked (legacy or partitioned) and the kind of entry, and the decoding of their rows.
//
// Table names come from partitioning::physical_name (static strings, never input); every
// value is a parameter. Each write is one statement: the entry change and the balance upsert
// of the day(s) it touches, chained by data-modifying CTEs.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "folio/db/result.hpp"
#include "folio/finance/model.hpp"

namespace folio::finance::detail {

struct Tables {
  std::string_view entries;   // revenues / expenses (or their _partitioned copies)
  std::string_view balances;  // balances / balances_partitioned
};

// Decodes the entry columns that start at `first` (the order every entry statement returns).
Entry decode_entry(const db::Row& row, EntryKind kind, int first = 0);

// $1 org, $2 category, $3 amount_cents, $4 currency (NULL: the organization's),
// $5 occurred_at, $6 description, $7 vendor (expenses only). One row: org_currency (NULL when
// the organization does not exist), then the entry columns (NULL when nothing was inserted).
std::string create_sql(EntryKind kind, Tables tables);

// $1 org, $2 id. The entry columns, or no row.
std::string get_sql(EntryKind kind, Tables tables);

// $1 org, $2 from (inclusive), $3 to (exclusive), $4 limit, and with a cursor $5 occurred_at,
// $6 id. Entry rows in (occurred_at, id) order.
std::string list_sql(EntryKind kind, Tables tables, bool after_cursor);

// $1 org, $2 id, then (set flag, value) pairs: $3/$4 category, $5/$6 amount_cents,
// $7/$8 currency, $9/$10 occurred_at, $11/$12 description, and for expenses $13/$14 vendor.
// One row: org_currency, then the updated entry's columns (NULL when nothing was updated:
// no such entry, or a currency other than the organization's).
std::string update_sql(EntryKind kind, Tables tables);

// $1 org, $2 id. One row: the number of entries deleted (0 or 1).
std::string delete_sql(EntryKind kind, Tables tables);

// $1 org, $2 from day, $3 to day (inclusive). balance_date, revenue, expense, net.
std::string balances_sql(Tables tables);

}  // namespace folio::finance::detail
