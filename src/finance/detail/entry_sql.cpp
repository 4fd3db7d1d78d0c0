#include "detail/entry_sql.hpp"

#include <fmt/format.h>

#include "folio/partitioning/table.hpp"

namespace folio::finance::detail {
namespace {

// The entry columns in decode order; currency as text (char(3) is bpchar).
std::string columns(EntryKind kind, std::string_view alias) {
  return fmt::format(
      "{0}.id, {0}.org_id, {0}.category, {0}.amount_cents, {0}.currency::text AS currency, "
      "{0}.occurred_at, {0}.description, {1}, {0}.created_at, {0}.updated_at",
      alias, kind == EntryKind::expense ? fmt::format("{}.vendor", alias) : "NULL::text AS vendor");
}
constexpr int kColumns = 10;

// A CTE `bal` adding the per-day sums of CTE `delta(org_id, d, amount)` to the balances
// table. Days in ascending order, so concurrent writers lock balance rows in one order.
// One INSERT may touch a key only once, hence the GROUP BY.
std::string balance_upsert(EntryKind kind, std::string_view balances, bool skip_zero) {
  const bool revenue = kind == EntryKind::revenue;
  return fmt::format(
      "bal AS ("
      " INSERT INTO {0} AS b (org_id, balance_date, revenue_cents, expense_cents, net_cents,"
      " updated_at)"
      " SELECT org_id, d, {1}, {2}, {3}, now()"
      " FROM (SELECT org_id, d, sum(amount)::bigint AS amount FROM delta GROUP BY org_id, d) s"
      " {4} ORDER BY d"
      " ON CONFLICT (org_id, balance_date) DO UPDATE SET"
      " revenue_cents = b.revenue_cents + EXCLUDED.revenue_cents,"
      " expense_cents = b.expense_cents + EXCLUDED.expense_cents,"
      " net_cents = b.net_cents + EXCLUDED.net_cents,"
      " updated_at = EXCLUDED.updated_at"
      " RETURNING 1)",
      balances, revenue ? "amount" : "0", revenue ? "0" : "amount", revenue ? "amount" : "-amount",
      skip_zero ? "WHERE amount <> 0" : "");
}

constexpr std::string_view kDay = "(occurred_at AT TIME ZONE 'UTC')::date";

}  // namespace

partitioning::Table entry_table(EntryKind kind) {
  return kind == EntryKind::revenue ? partitioning::Table::revenues : partitioning::Table::expenses;
}

Entry decode_entry(const db::Row& row, EntryKind kind, int first) {
  Entry e;
  e.id = row.get<std::int64_t>(first);
  e.org_id = row.get<std::int64_t>(first + 1);
  e.kind = kind;
  e.category = row.get<std::string>(first + 2);
  e.amount_cents = row.get<std::int64_t>(first + 3);
  e.currency = row.get<std::string>(first + 4);
  e.occurred_at = row.get<Timestamp>(first + 5);
  e.description = row.get<std::optional<std::string>>(first + 6);
  e.vendor = row.get<std::optional<std::string>>(first + 7);
  e.created_at = row.get<Timestamp>(first + 8);
  e.updated_at = row.get<Timestamp>(first + 9);
  static_assert(kColumns == 10);
  return e;
}

std::string create_sql(EntryKind kind, const Tables& tables) {
  const bool expense = kind == EntryKind::expense;
  return fmt::format(
      "WITH org AS (SELECT currency::text AS currency FROM organizations WHERE id = $1::bigint),"
      " ins AS ("
      " INSERT INTO {0} AS e (org_id, category, amount_cents, currency, occurred_at, description"
      "{1})"
      " SELECT $1::bigint, $2::text, $3::bigint, org.currency, $5::timestamptz, $6::text{2}"
      " FROM org WHERE $4::text IS NULL OR $4::text = org.currency"
      " RETURNING {3}),"
      " delta AS (SELECT org_id, {4} AS d, amount_cents AS amount FROM ins),"
      " {5}"
      " SELECT (SELECT currency FROM org) AS org_currency, ins.*"
      " FROM (VALUES (1)) AS one (x) LEFT JOIN ins ON true",
      tables.entries, expense ? ", vendor" : "", expense ? ", $7::text" : "", columns(kind, "e"),
      kDay, balance_upsert(kind, tables.balances, false));
}

std::string get_sql(EntryKind kind, const Tables& tables) {
  return fmt::format("SELECT {1} FROM {0} AS e WHERE e.org_id = $1::bigint AND e.id = $2::bigint",
                     tables.entries, columns(kind, "e"));
}

std::string get_located_sql(EntryKind kind) {
  return fmt::format("SELECT {1} FROM {0}($1::bigint, $2::bigint, $3::int) AS e",
                     partitioning::by_id_function(entry_table(kind)), columns(kind, "e"));
}

std::string locate_sql(EntryKind kind) {
  return fmt::format("SELECT month FROM {} WHERE org_id = $1::bigint AND id = $2::bigint",
                     partitioning::locator_name(entry_table(kind)));
}

std::string list_sql(EntryKind kind, const Tables& tables, bool after_cursor) {
  // The plain occurred_at bound beside the row comparison lets an index on (org_id,
  // occurred_at) start at the cursor.
  return fmt::format(
      "SELECT {1} FROM {0} AS e"
      " WHERE e.org_id = $1::bigint AND e.occurred_at >= $2::timestamptz"
      " AND e.occurred_at < $3::timestamptz{2}"
      " ORDER BY e.occurred_at, e.id LIMIT $4::bigint",
      tables.entries, columns(kind, "e"),
      after_cursor ? " AND e.occurred_at >= $5::timestamptz"
                     " AND (e.occurred_at, e.id) > ($5::timestamptz, $6::bigint)"
                   : "");
}

std::string update_sql(EntryKind kind, const Tables& tables) {
  const bool expense = kind == EntryKind::expense;
  // The FOR UPDATE subquery yields the row's values before the update (RETURNING shows only
  // the new ones); locking it first makes both the latest committed version.
  return fmt::format(
      "WITH org AS (SELECT currency::text AS currency FROM organizations WHERE id = $1::bigint),"
      " upd AS ("
      " UPDATE {0} AS e SET"
      " category = CASE WHEN $3::boolean THEN $4::text ELSE e.category END,"
      " amount_cents = CASE WHEN $5::boolean THEN $6::bigint ELSE e.amount_cents END,"
      " currency = CASE WHEN $7::boolean THEN $8::text ELSE e.currency::text END,"
      " occurred_at = CASE WHEN $9::boolean THEN $10::timestamptz ELSE e.occurred_at END,"
      " description = CASE WHEN $11::boolean THEN $12::text ELSE e.description END,{1}"
      " updated_at = now()"
      " FROM (SELECT id, amount_cents, occurred_at FROM {0} AS e"
      " WHERE e.org_id = $1::bigint AND e.id = $2::bigint{6} FOR UPDATE) AS old"
      " WHERE e.org_id = $1::bigint AND e.id = old.id{6}"
      " AND (NOT $7::boolean OR $8::text = (SELECT currency FROM org))"
      " RETURNING {2}, old.amount_cents AS old_amount, old.occurred_at AS old_occurred_at),"
      " delta AS ("
      " SELECT org_id, (old_occurred_at AT TIME ZONE 'UTC')::date AS d, -old_amount AS amount"
      " FROM upd"
      " UNION ALL SELECT org_id, {3}, amount_cents FROM upd),"
      " {4}"
      " SELECT (SELECT currency FROM org) AS org_currency, {5}"
      " FROM (VALUES (1)) AS one (x) LEFT JOIN upd ON true",
      tables.entries,
      expense ? " vendor = CASE WHEN $13::boolean THEN $14::text ELSE e.vendor END," : "",
      columns(kind, "e"), kDay, balance_upsert(kind, tables.balances, true),
      "upd.id, upd.org_id, upd.category, upd.amount_cents, upd.currency, upd.occurred_at,"
      " upd.description, upd.vendor, upd.created_at, upd.updated_at",
      tables.entry_filter);
}

std::string delete_sql(EntryKind kind, const Tables& tables) {
  return fmt::format(
      "WITH del AS (DELETE FROM {0} AS e WHERE e.org_id = $1::bigint AND e.id = $2::bigint{3}"
      " RETURNING org_id, occurred_at, amount_cents),"
      " delta AS (SELECT org_id, {1} AS d, -amount_cents AS amount FROM del),"
      " {2}"
      " SELECT count(*) FROM del",
      tables.entries, kDay, balance_upsert(kind, tables.balances, false), tables.entry_filter);
}

std::string balances_sql(const Tables& tables) {
  return fmt::format(
      "SELECT balance_date, revenue_cents, expense_cents, net_cents FROM {0} AS src"
      " WHERE org_id = $1::bigint AND balance_date BETWEEN $2::date AND $3::date"
      " ORDER BY balance_date",
      tables.balances);
}

}  // namespace folio::finance::detail
