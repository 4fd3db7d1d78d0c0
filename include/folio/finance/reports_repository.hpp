// ReportsRepository: read-only reports of one organization, computed in SQL on the tables
// routing picks (legacy or partitioned). Scoped and secured like FinanceRepository (one
// round trip per report, in a read-only transaction). Every report throws
// InvalidValue("to") when to < from, and (profit_and_loss, balance_history) when the range
// exceeds kMaxRangeDays; OrgNotFound when the organization does not exist (asked in the same
// round trip, confirmed on the primary); db::Error otherwise.
//
// Thread-safety: as the pool: use from the pool's executor.
// REQUIRES: pool and routing outlive the repository.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <vector>

#include "folio/db/pool.hpp"
#include "folio/finance/data_paths.hpp"
#include "folio/finance/finance_repository.hpp"
#include "folio/finance/model.hpp"
#include "folio/partitioning/partitioning_manager.hpp"

namespace folio::finance {

class ReportsRepository {
 public:
  // `pool` is the primary's; `paths` adds replicas and the shared markers (data_paths.hpp).
  ReportsRepository(db::Pool& pool, partitioning::PartitioningManager& routing,
                    RepositoryOptions options = {}, DataPaths paths = {});

  // Revenue, expense and net per day or per calendar month (UTC) over [from, to], from the
  // balances table; every period of the range appears, with zeros when empty. A month
  // period covers only the days of the range inside it.
  boost::asio::awaitable<std::vector<PnlRow>> profit_and_loss(std::int64_t org, Day from, Day to,
                                                              Granularity granularity);

  // Sum and count of revenue (or expense) entries per category over [from, to], largest
  // amount first (ties by category name); categories without entries are left out.
  boost::asio::awaitable<std::vector<CategoryRow>> categories(std::int64_t org, EntryKind kind,
                                                              Day from, Day to);

  // Every day of [from, to] with its net and the closing balance (all history up to the
  // day), ascending.
  boost::asio::awaitable<std::vector<BalanceHistoryRow>> balance_history(std::int64_t org, Day from,
                                                                         Day to);

 private:
  db::Pool& pool_;
  partitioning::PartitioningManager& routing_;
  RepositoryOptions options_;
  DataPaths paths_;
};

}  // namespace folio::finance
