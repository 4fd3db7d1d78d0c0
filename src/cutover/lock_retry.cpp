#include "folio/cutover/lock_retry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "folio/db/errors.hpp"
#include "folio/obs/log.hpp"

namespace folio::cutover {

namespace asio = boost::asio;

namespace {

// Who holds locks on `tables` now: "pid 123 (idle in transaction for 42 s): UPDATE ...".
asio::awaitable<std::string> describe_holders(db::Pool& pool,
                                              const std::vector<std::string>& tables) {
  std::string names;
  for (const auto& t : tables) names += (names.empty() ? "" : ",") + t;
  try {
    auto conn = co_await pool.acquire();
    auto r = co_await conn->query(
        "SELECT DISTINCT a.pid, coalesce(a.state, '?'), "
        "       coalesce(extract(epoch FROM clock_timestamp() - a.xact_start)::bigint, 0), "
        "       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 120) "
        "  FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
        " WHERE l.granted AND l.relation IN (SELECT c.oid FROM pg_class c "
        "        WHERE c.relname = ANY (string_to_array($1, ','))) "
        "   AND a.pid <> pg_backend_pid() ORDER BY 1 LIMIT 5",
        names);
    std::string out;
    for (const auto& row : r) {
      out += fmt::format("{}pid {} ({} for {} s): {}", out.empty() ? "" : "; ",
                         row.get<std::int32_t>(0), row.get<std::string>(1),
                         row.get<std::int64_t>(2), row.get<std::string>(3));
    }
    if (out.empty()) out = "no holder visible now";
    co_return out;
  } catch (const std::exception& e) {
    co_return std::string("holders unknown: ") + e.what();
  }
}

}  // namespace

asio::awaitable<void> with_lock_retry(db::Pool& pool, std::string what,
                                      std::vector<std::string> tables,
                                      const LockRetryOptions& options,
                                      std::function<asio::awaitable<void>(db::Transaction&)> body) {
  static const obs::Logger log("cutover.locks");
  auto backoff = options.backoff;
  const int attempts = std::max(options.attempts, 1);
  for (int attempt = 1;; ++attempt) {
    std::exception_ptr timed_out;
    try {
      db::TransactionOptions tx_options;
      tx_options.lock_timeout = options.lock_timeout;
      auto tx = co_await db::Transaction::begin(co_await pool.acquire(), tx_options);
      if (options.fence) co_await options.fence(tx);
      co_await body(tx);
      co_await tx.commit();
      co_return;
    } catch (const db::LockNotAvailable& e) {
      timed_out = std::current_exception();
    }
    if (attempt >= attempts) {
      // Co_await is not allowed in a handler, so the error is looked at out here.
      const std::string holders = co_await describe_holders(pool, tables);
      try {
        std::rethrow_exception(timed_out);
      } catch (const db::LockNotAvailable& e) {
        throw db::LockNotAvailable(
            e.sqlstate(),
            fmt::format("{}: gave up after {} attempts of {} ms lock_timeout each, so as not to "
                        "queue writers behind a long-running transaction on {}. Holders: {}. "
                        "Retry when it has finished.",
                        what, attempts, options.lock_timeout.count(), fmt::join(tables, ", "),
                        holders),
            e.detail());
      }
    }
    log.warn("lock not available, retrying",
             {{"what", what},
              {"attempt", attempt},
              {"of", attempts},
              {"backoff_ms", static_cast<std::int64_t>(backoff.count())}});
    asio::steady_timer timer(co_await asio::this_coro::executor, backoff);
    co_await timer.async_wait(asio::use_awaitable);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
  }
}

}  // namespace folio::cutover
