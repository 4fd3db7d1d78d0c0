#include "folio/finance/finance_repository.hpp"

#include <fmt/format.h>

#include <functional>
#include <utility>

#include "detail/entry_sql.hpp"
#include "detail/relations.hpp"
#include "detail/unit.hpp"
#include "detail/validate.hpp"

namespace folio::finance {
namespace {

namespace asio = boost::asio;
using detail::Access;
using partitioning::Table;

using detail::entry_table;
using partitioning::Month;
using partitioning::month_of;

Timestamp start_of(Day day) { return std::chrono::time_point_cast<std::chrono::microseconds>(day); }

// A by-id write may be retried this often when the entry moved to another month between
// locating it and writing it.
constexpr int kLocateAttempts = 3;

// " AND e.occurred_at >= '<month>' AND e.occurred_at < '<next month>'": keeps a write through
// the partitioned parent to the month the locator named.
std::string month_filter(Month month) {
  const auto bound = [](Month m) {
    return fmt::format("'{:04d}-{:02d}-01 00:00:00+00'", static_cast<int>(m.year()),
                       static_cast<unsigned>(m.month()));
  };
  return fmt::format(" AND e.occurred_at >= {} AND e.occurred_at < {}", bound(month),
                     bound(month + std::chrono::months{1}));
}

std::vector<db::Statement> one(std::string sql, db::Params params) {
  std::vector<db::Statement> statements;
  statements.push_back(db::Statement{std::move(sql), std::move(params)});
  return statements;
}

[[noreturn]] void throw_currency_mismatch(const std::string& org_currency) {
  throw InvalidValue("currency", "currency must be the organization's (" + org_currency + ")");
}

// What the by-id helpers below need of a repository.
struct Deps {
  db::Pool& pool;
  partitioning::PartitioningManager& routing;
  const RepositoryOptions& options;
  const DataPaths& paths;
};

// The entry's month on the partitioned side (the locator, read on the primary).
asio::awaitable<std::optional<Month>> locate(const Deps& deps, std::int64_t org, EntryKind kind,
                                             std::int64_t id) {
  // On the primary, as the write that follows.
  const auto results =
      co_await detail::run_unit(deps.pool, deps.options, "locate", org, detail::Access::read,
                                one(detail::locate_sql(kind), db::Params::of(org, id)));
  if (results.at(0).empty()) co_return std::nullopt;
  co_return month_of(results[0].front().get<Day>(0));
}

// Runs a write of one entry by id: on legacy once; on the partitioned side against the month
// the locator names, again (a few times) while the entry keeps moving between locating and
// writing. `statements` builds the write for the relations; `done` reads its results and says
// whether it found the entry.
asio::awaitable<void> by_id_write(
    const Deps& deps, std::int64_t org, EntryKind kind, std::int64_t id,
    std::optional<Month> new_month, std::string_view operation,
    const std::function<std::vector<db::Statement>(const detail::Tables&)>& statements,
    const std::function<bool(const std::vector<db::Result>&)>& done) {
  const Table table = entry_table(kind);
  const auto route = deps.routing.route(table, org);
  if (route.target != partitioning::Target::partitioned || route.layout->hash_modulus == 0) {
    const detail::Tables tables{
        .entries = std::string(route.table_name),
        .balances = std::string(deps.routing.route(Table::balances, org).table_name)};
    co_await detail::write_unit(deps.pool, deps.paths, deps.options, operation, org,
                                statements(tables), done);
    co_return;
  }
  // Partitioned: the locator names the entry's month, so the write opens that month's leaf
  // (or, when it moves the entry to another month, the parent pruned to the old month). The
  // entry may move between locating and writing; then it is located again.
  std::optional<Month> month = co_await locate(deps, org, kind, id);
  for (int attempt = 1; month; ++attempt) {
    const Month to = new_month.value_or(*month);
    detail::Tables tables;
    tables.entries = to == *month ? route.layout->target(table, org, *month)
                                  : std::string(physical_name(table, route.target));
    tables.balances = to == *month
                          ? detail::write_target(deps.routing, Table::balances, org, *month)
                          : std::string(physical_name(Table::balances, route.target));
    tables.entry_filter = month_filter(*month);
    bool found = false;
    co_await detail::write_unit(deps.pool, deps.paths, deps.options, operation, org,
                                statements(tables), [&](const std::vector<db::Result>& results) {
                                  found = done(results);
                                  return found;
                                });
    if (found) co_return;
    if (attempt == kLocateAttempts) co_return;
    const auto again = co_await locate(deps, org, kind, id);
    if (again == month) co_return;
    month = again;
  }
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
  // The balance day is the UTC date of occurred_at, so both rows fall in the same month.
  const Month month = month_of(entry.occurred_at);
  const detail::Tables tables{
      .entries = detail::write_target(routing_, entry_table(kind), org, month),
      .balances = detail::write_target(routing_, Table::balances, org, month)};
  auto statements = one(detail::create_sql(kind, tables), std::move(params));
  // Nothing inserted (no such organization, another currency): nothing to leave behind.
  const auto inserted = [](const std::vector<db::Result>& results) {
    return !results.at(0).front()[1].is_null();
  };
  const auto results = co_await detail::write_unit(pool_, paths_, options_, "create", org,
                                                   std::move(statements), inserted);
  const db::Row row = results.at(0).front();
  const auto org_currency = row.get<std::optional<std::string>>(0);
  if (!org_currency) throw OrgNotFound();
  if (row[1].is_null()) throw_currency_mismatch(*org_currency);
  co_return detail::decode_entry(row, kind, 1);
}

asio::awaitable<std::optional<Entry>> FinanceRepository::get(std::int64_t org, EntryKind kind,
                                                             std::int64_t id) {
  const auto route = routing_.route(entry_table(kind), org);
  std::vector<db::Statement> statements;
  if (route.target == partitioning::Target::partitioned && route.layout->hash_modulus > 0) {
    statements = one(detail::get_located_sql(kind),
                     db::Params::of(org, id,
                                    static_cast<std::int32_t>(partitioning::hash_remainder(
                                        org, route.layout->hash_modulus))));
  } else {
    statements = one(detail::get_sql(kind, {.entries = std::string(route.table_name)}),
                     db::Params::of(org, id));
  }
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
  const Month first =
      month_of(after ? std::max(after->occurred_at, start_of(from)) : start_of(from));
  const Month last = month_of(to);
  const detail::Tables tables{
      .entries = first <= last ? detail::read_source(routing_, entry_table(kind), org, first, last)
                               : std::string(routing_.route(entry_table(kind), org).table_name)};
  auto statements = one(detail::list_sql(kind, tables, after.has_value()), std::move(params));
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
  // The currency check needs the organization's currency even when nothing was updated.
  const auto finish = [&](const db::Row& row) -> std::optional<Entry> {
    if (!row[1].is_null()) return detail::decode_entry(row, kind, 1);
    const auto org_currency = row.get<std::optional<std::string>>(0);
    if (org_currency && patch.currency && *patch.currency != *org_currency) {
      throw_currency_mismatch(*org_currency);
    }
    return std::nullopt;
  };
  const auto new_month =
      patch.occurred_at ? std::optional(month_of(*patch.occurred_at)) : std::nullopt;
  std::optional<Entry> out;
  co_await by_id_write(
      Deps{pool_, routing_, options_, paths_}, org, kind, id, new_month, "update",
      [&](const detail::Tables& tables) { return one(detail::update_sql(kind, tables), params); },
      [&](const std::vector<db::Result>& results) {
        out = finish(results.at(0).front());
        return out.has_value();
      });
  co_return out;
}

asio::awaitable<bool> FinanceRepository::remove(std::int64_t org, EntryKind kind, std::int64_t id) {
  bool deleted = false;
  co_await by_id_write(
      Deps{pool_, routing_, options_, paths_}, org, kind, id, std::nullopt, "delete",
      [&](const detail::Tables& tables) {
        return one(detail::delete_sql(kind, tables), db::Params::of(org, id));
      },
      [&](const std::vector<db::Result>& results) {
        deleted = results.at(0).scalar<std::int64_t>() > 0;
        return deleted;
      });
  co_return deleted;
}

asio::awaitable<std::vector<BalanceDay>> FinanceRepository::balances(std::int64_t org, Day from,
                                                                     Day to) {
  detail::check_range(from, to, true);
  const detail::Tables tables{.balances = detail::read_source(routing_, Table::balances, org,
                                                              month_of(from), month_of(to))};
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
