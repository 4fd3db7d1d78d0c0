// One unit of work of the finance repositories: the statements of one call, sent as one
// pipeline (one round trip, one implicit transaction) behind a scope statement that makes the
// transaction run as folio_app for one organization, in UTC, under a statement timeout.
//
// Deadlocks and serialization failures rerun the whole unit (db::with_retry); a sync trigger
// failure of a write is reported (cutover::report_if_sync_failure) before it propagates; a
// CHECK violation becomes InvalidValue naming the field.
//
// Thread-safety: stateless; use the pool from its own executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <exception>
#include <functional>
#include <string_view>
#include <vector>

#include "folio/db/connection.hpp"
#include "folio/db/errors.hpp"
#include "folio/db/pool.hpp"
#include "folio/finance/data_paths.hpp"
#include "folio/finance/finance_repository.hpp"

namespace folio::finance::detail {

enum class Access { read, write };

// Runs `statements` for `org` as one transaction; returns their results (the scope
// statement's left out). `operation` labels metrics ("create", "list", "pnl"...).
// REQUIRES: `operation` has static storage (a string literal).
// Throws db::Error, InvalidValue.
boost::asio::awaitable<std::vector<db::Result>> run_unit(db::Pool& pool,
                                                         const RepositoryOptions& options,
                                                         std::string_view operation,
                                                         std::int64_t org, Access access,
                                                         std::vector<db::Statement> statements);

// run_unit for a read that may be served by a replica (data_paths.hpp): looks up the
// organization's latest write position (process-local and, with a cache, fleet-wide) only
// when a replica is in rotation, then reads through the router. The pipeline also asks
// whether the organization exists (no extra round trip); when it does not, OrgNotFound. A
// replica's "no" is asked again on the primary first: a new organization may not have
// reached the replica yet.
boost::asio::awaitable<std::vector<db::Result>> read_unit(db::Pool& pool, const DataPaths& paths,
                                                          const RepositoryOptions& options,
                                                          std::string_view operation,
                                                          std::int64_t org,
                                                          std::vector<db::Statement> statements);

// Whether a write's results show that it changed anything.
using Changed = std::function<bool(const std::vector<db::Result>&)>;

// run_unit for a write on the primary, then what it leaves behind for reads: the WAL
// position (with replicas), the local marker, and the cache's version bump and shared marker.
// Those never fail the write: if the position cannot be read, the organization reads from
// the primary for the marker's lifetime. A write that changed nothing (`changed` says so from
// its results: no such organization or entry) leaves nothing behind: there is nothing to
// invalidate, and an unknown organization gets no cache keys.
boost::asio::awaitable<std::vector<db::Result>> write_unit(db::Pool& pool, const DataPaths& paths,
                                                           const RepositoryOptions& options,
                                                           std::string_view operation,
                                                           std::int64_t org,
                                                           std::vector<db::Statement> statements,
                                                           const Changed& changed);

// The InvalidValue a CHECK violation of an entry or balance table stands for, chosen by the
// constraint the server named (db::Error::constraint_name); nullptr when it is not one of
// those.
std::exception_ptr invalid_value_for(const db::Error& error);

}  // namespace folio::finance::detail
