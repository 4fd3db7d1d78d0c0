#include "folio/finance/finance_repository.hpp"

#include <utility>

#include "detail/entry_sql.hpp"
#include "detail/unit.hpp"
#include "detail/validate.hpp"

namespace folio::finance {
namespace {

namespace asio = boost::asio;
using detail::Access;
using partitioning::Table;

Table entry_table(EntryKind kind) {
  return kind == EntryKind::revenue ? Table::revenues : Table::expenses;
}

detail::Tables tables_for(partitioning::PartitioningManager& routing, EntryKind kind,
                          std::int64_t org) {
  return {.entries = routing.route(entry_table(kind), org).table_name,
          .balances = routing.route(Table::balances, org).table_name};
}

Timestamp start_of(Day day) { return std::chrono::time_point_cast<std::chrono::microseconds>(day); }

std::vector<db::Statement> one(std::string sql, db::Params params) {
  std::vector<db::Statement> statements;
  statements.push_back(db::Statement{std::move(sql), std::move(params)});
  return statements;
}

[[noreturn]] void throw_currency_mismatch(const std::string& org_currency) {
  throw InvalidValue("currency", "currency must be the organization's (" + org_currency + ")");
}

}  // namespace

FinanceRepository::FinanceRepository(db::Pool& pool, partitioning::PartitioningManager& routing,
                                     RepositoryOptions options, DataPaths paths)
    : pool_(pool), routing_(routing), options_(options), paths_(paths) {}

asio::awaitable<Entry> FinanceRepository::create(std::int64_t org, EntryKind kind, NewEntry entry) {
  detail::check_new_entry(kind, entry);
  auto params = db::Params::of(org, entry.category, entry.amount_cents, entry.currency,
                               entry.occurred_at, entry.description);
  if (kind == EntryKind::expense) params.add(entry.vendor);
  auto statements =
      one(detail::create_sql(kind, tables_for(routing_, kind, org)), std::move(params));
  const auto results =
      co_await detail::write_unit(pool_, paths_, options_, "create", org, std::move(statements));
  const db::Row row = results.at(0).front();
  const auto org_currency = row.get<std::optional<std::string>>(0);
  if (!org_currency) throw OrgNotFound();
  if (row[1].is_null()) throw_currency_mismatch(*org_currency);
  co_return detail::decode_entry(row, kind, 1);
}

asio::awaitable<std::optional<Entry>> FinanceRepository::get(std::int64_t org, EntryKind kind,
                                                             std::int64_t id) {
  auto statements =
      one(detail::get_sql(kind, tables_for(routing_, kind, org)), db::Params::of(org, id));
  const auto results =
      co_await detail::read_unit(pool_, paths_, options_, "get", org, std::move(statements));
  if (results.at(0).empty()) co_return std::nullopt;
  co_return detail::decode_entry(results[0].front(), kind);
}

asio::awaitable<EntryPage> FinanceRepository::list(std::int64_t org, EntryKind kind, Day from,
                                                   Day to, std::size_t limit,
                                                   std::optional<Cursor> after) {
  if (limit < 1 || limit > kMaxPageSize) {
    throw InvalidValue("limit", "limit must be between 1 and " + std::to_string(kMaxPageSize));
  }
  detail::check_range(from, to, false);
  // One more than asked for says whether another page follows.
  auto params = db::Params::of(org, start_of(from), start_of(to + std::chrono::days(1)),
                               static_cast<std::int64_t>(limit + 1));
  if (after) {
    params.add(after->occurred_at);
    params.add(after->id);
  }
  auto statements = one(detail::list_sql(kind, tables_for(routing_, kind, org), after.has_value()),
                        std::move(params));
  const auto results =
      co_await detail::read_unit(pool_, paths_, options_, "list", org, std::move(statements));
  EntryPage page;
  for (const db::Row row : results.at(0)) {
    if (page.items.size() == limit) {
      const Entry& last = page.items.back();
      page.next = Cursor{.occurred_at = last.occurred_at, .id = last.id};
      break;
    }
    page.items.push_back(detail::decode_entry(row, kind));
  }
  co_return page;
}

asio::awaitable<std::optional<Entry>> FinanceRepository::update(std::int64_t org, EntryKind kind,
                                                                std::int64_t id, EntryPatch patch) {
  detail::check_patch(kind, patch);
  if (patch.empty()) co_return co_await get(org, kind, id);
  // A revenue has no vendor: setting it NULL changes nothing.
  if (kind == EntryKind::revenue) patch.vendor.reset();

  db::Params params = db::Params::of(org, id);
  params.add(patch.category.has_value());
  params.add(patch.category);
  params.add(patch.amount_cents.has_value());
  params.add(patch.amount_cents);
  params.add(patch.currency.has_value());
  params.add(patch.currency);
  params.add(patch.occurred_at.has_value());
  params.add(patch.occurred_at);
  params.add(patch.description.has_value());
  params.add(patch.description.value_or(std::nullopt));
  if (kind == EntryKind::expense) {
    params.add(patch.vendor.has_value());
    params.add(patch.vendor.value_or(std::nullopt));
  }
  auto statements =
      one(detail::update_sql(kind, tables_for(routing_, kind, org)), std::move(params));
  const auto results =
      co_await detail::write_unit(pool_, paths_, options_, "update", org, std::move(statements));
  const db::Row row = results.at(0).front();
  if (!row[1].is_null()) co_return detail::decode_entry(row, kind, 1);
  const auto org_currency = row.get<std::optional<std::string>>(0);
  if (org_currency && patch.currency && *patch.currency != *org_currency) {
    throw_currency_mismatch(*org_currency);
  }
  co_return std::nullopt;
}

asio::awaitable<bool> FinanceRepository::remove(std::int64_t org, EntryKind kind, std::int64_t id) {
  auto statements =
      one(detail::delete_sql(kind, tables_for(routing_, kind, org)), db::Params::of(org, id));
  const auto results =
      co_await detail::write_unit(pool_, paths_, options_, "delete", org, std::move(statements));
  co_return results.at(0).scalar<std::int64_t>() > 0;
}

asio::awaitable<std::vector<BalanceDay>> FinanceRepository::balances(std::int64_t org, Day from,
                                                                     Day to) {
  detail::check_range(from, to, true);
  const detail::Tables tables{.entries = {},
                              .balances = routing_.route(Table::balances, org).table_name};
  auto statements = one(detail::balances_sql(tables), db::Params::of(org, from, to));
  const auto results =
      co_await detail::read_unit(pool_, paths_, options_, "balances", org, std::move(statements));
  std::vector<BalanceDay> out;
  out.reserve(results.at(0).size());
  for (const db::Row row : results[0]) {
    out.push_back(BalanceDay{.date = row.get<Day>(0),
                             .revenue_cents = row.get<std::int64_t>(1),
                             .expense_cents = row.get<std::int64_t>(2),
                             .net_cents = row.get<std::int64_t>(3)});
  }
  co_return out;
}

}  // namespace folio::finance
