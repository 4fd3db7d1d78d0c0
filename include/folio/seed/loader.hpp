// Streams generated seed data into the legacy tables with COPY: the engine behind
// `folioctl seed`.
//
// The four tables load concurrently, each over its own connection with its own COPY, fed
// chunk by chunk from one Generator, so memory stays flat whatever the number of
// organizations. Each COPY runs inside a transaction, and the four commit only after every
// COPY has finished: a failure while loading (bad option, lost connection, constraint
// violation) leaves nothing behind. The four COMMITs themselves are not one atomic step: a
// crash between them can leave some tables loaded; seed such a database again from scratch. New
// organizations get ids after the largest existing one, and the revenue/expense ids are reserved
// from the shared sequence before loading, so seeding can add to a database that already has data.
//
// Thread-safety: load() runs on the given executor; its callbacks are invoked there.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "folio/seed/generator.hpp"

namespace folio::seed {

struct LoadProgress {
  std::int64_t orgs_done = 0;
  std::int64_t orgs_total = 0;
  RowCounts rows;  // rows sent so far
  std::chrono::duration<double> elapsed{};
};

struct LoadOptions {
  std::string dsn;                 // where to load (PgBouncer or direct)
  std::int64_t chunk_orgs = 1000;  // organizations generated per round of COPY writes
  std::function<void(const LoadProgress&)> on_progress;  // after every chunk
};

struct LoadReport {
  RowCounts rows;  // rows stored, as the server reported them
  std::int64_t first_org_id = 0;
  std::int64_t last_org_id = 0;
  std::int64_t first_row_id = 0;
  std::int64_t last_row_id = 0;
  std::chrono::duration<double> elapsed{};
};

// Generates `options` (its first_org_id and first_row_id are chosen by load()) and loads it.
// Throws std::invalid_argument for invalid options and folio::db errors for database
// failures, after which nothing of this load is visible.
boost::asio::awaitable<LoadReport> load(boost::asio::any_io_executor executor, SeedOptions options,
                                        LoadOptions load_options);

}  // namespace folio::seed
