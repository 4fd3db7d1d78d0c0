#include "folio/finance/reports_repository.hpp"

#include <fmt/format.h>

#include <utility>

#include "detail/relations.hpp"
#include "detail/unit.hpp"
#include "detail/validate.hpp"

namespace folio::finance {
namespace {

namespace asio = boost::asio;
using detail::Access;
using partitioning::Table;

// Every period of [from, to] ($2, $3) left-joined to the balances rows of the range, which
// are summed per period. The day series needs no time zone: dates and plain timestamps.
std::string pnl_sql(std::string_view balances, Granularity granularity) {
  const bool by_day = granularity == Granularity::day;
  return fmt::format(
      "WITH b AS (SELECT balance_date, revenue_cents, expense_cents, net_cents FROM {0} AS src"
      " WHERE org_id = $1::bigint AND balance_date BETWEEN $2::date AND $3::date)"
      " SELECT p.period::date, coalesce(sum(b.revenue_cents), 0)::bigint,"
      " coalesce(sum(b.expense_cents), 0)::bigint, coalesce(sum(b.net_cents), 0)::bigint"
      " FROM generate_series({1}, $3::date::timestamp, interval '1 {2}') AS p (period)"
      " LEFT JOIN b ON {3} = p.period"
      " GROUP BY p.period ORDER BY p.period",
      balances, by_day ? "$2::date::timestamp" : "date_trunc('month', $2::date::timestamp)",
      by_day ? "day" : "month",
      by_day ? "b.balance_date::timestamp" : "date_trunc('month', b.balance_date::timestamp)");
}

std::string categories_sql(std::string_view entries) {
  return fmt::format(
      "SELECT category, sum(amount_cents)::bigint AS amount, count(*) AS entries FROM {0} AS src"
      " WHERE org_id = $1::bigint AND occurred_at >= $2::timestamptz"
      " AND occurred_at < $3::timestamptz"
      " GROUP BY category ORDER BY amount DESC, category COLLATE \"C\"",
      entries);
}

// The opening balance (all net before $2, read from `before`) plus the running sum of the
// days of the range (read from `range`).
std::string history_sql(std::string_view before, std::string_view range) {
  return fmt::format(
      "WITH opening AS (SELECT coalesce(sum(net_cents), 0) AS cents FROM {0} AS src"
      " WHERE org_id = $1::bigint AND balance_date < $2::date),"
      " b AS (SELECT balance_date, net_cents FROM {1} AS src"
      " WHERE org_id = $1::bigint AND balance_date BETWEEN $2::date AND $3::date)"
      " SELECT p.day::date, coalesce(b.net_cents, 0)::bigint,"
      " ((SELECT cents FROM opening) + sum(coalesce(b.net_cents, 0)) OVER (ORDER BY p.day))"
      "::bigint"
      " FROM generate_series($2::date::timestamp, $3::date::timestamp, interval '1 day')"
      " AS p (day)"
      " LEFT JOIN b ON b.balance_date = p.day::date ORDER BY p.day",
      before, range);
}

std::vector<db::Statement> one(std::string sql, db::Params params) {
  std::vector<db::Statement> statements;
  statements.push_back(db::Statement{std::move(sql), std::move(params)});
  return statements;
}

}  // namespace

ReportsRepository::ReportsRepository(db::Pool& pool, partitioning::PartitioningManager& routing,
                                     RepositoryOptions options, DataPaths paths)
    : pool_(pool), routing_(routing), options_(options), paths_(paths) {}

asio::awaitable<std::vector<PnlRow>> ReportsRepository::profit_and_loss(std::int64_t org, Day from,
                                                                        Day to,
                                                                        Granularity granularity) {
  detail::check_range(from, to, true);
  auto statements =
      one(pnl_sql(detail::read_source(routing_, Table::balances, org, partitioning::month_of(from),
                                      partitioning::month_of(to)),
                  granularity),
          db::Params::of(org, from, to));
  const auto results =
      co_await detail::read_unit(pool_, paths_, options_, "pnl", org, std::move(statements));
  std::vector<PnlRow> out;
  out.reserve(results.at(0).size());
  for (const db::Row row : results[0]) {
    out.push_back(PnlRow{.period_start = row.get<Day>(0),
                         .revenue_cents = row.get<std::int64_t>(1),
                         .expense_cents = row.get<std::int64_t>(2),
                         .net_cents = row.get<std::int64_t>(3)});
  }
  co_return out;
}

asio::awaitable<std::vector<CategoryRow>> ReportsRepository::categories(std::int64_t org,
                                                                        EntryKind kind, Day from,
                                                                        Day to) {
  detail::check_range(from, to, false);
  const Table table = kind == EntryKind::revenue ? Table::revenues : Table::expenses;
  const Timestamp start = std::chrono::time_point_cast<std::chrono::microseconds>(from);
  const Timestamp end =
      std::chrono::time_point_cast<std::chrono::microseconds>(to + std::chrono::days(1));
  auto statements =
      one(categories_sql(detail::read_source(routing_, table, org, partitioning::month_of(from),
                                             partitioning::month_of(to))),
          db::Params::of(org, start, end));
  const auto results =
      co_await detail::read_unit(pool_, paths_, options_, "categories", org, std::move(statements));
  std::vector<CategoryRow> out;
  out.reserve(results.at(0).size());
  for (const db::Row row : results[0]) {
    out.push_back(CategoryRow{.category = row.get<std::string>(0),
                              .amount_cents = row.get<std::int64_t>(1),
                              .entries = row.get<std::int64_t>(2)});
  }
  co_return out;
}

asio::awaitable<std::vector<BalanceHistoryRow>> ReportsRepository::balance_history(std::int64_t org,
                                                                                   Day from,
                                                                                   Day to) {
  detail::check_range(from, to, true);
  const auto first = partitioning::month_of(from);
  auto statements = one(
      history_sql(
          detail::read_source(routing_, Table::balances, org, detail::kFirstMonth, first),
          detail::read_source(routing_, Table::balances, org, first, partitioning::month_of(to))),
      db::Params::of(org, from, to));
  const auto results = co_await detail::read_unit(pool_, paths_, options_, "balance_history", org,
                                                  std::move(statements));
  std::vector<BalanceHistoryRow> out;
  out.reserve(results.at(0).size());
  for (const db::Row row : results[0]) {
    out.push_back(BalanceHistoryRow{.date = row.get<Day>(0),
                                    .net_cents = row.get<std::int64_t>(1),
                                    .closing_cents = row.get<std::int64_t>(2)});
  }
  co_return out;
}

}  // namespace folio::finance
