#include "folio/jobs/lease.hpp"

namespace folio::jobs {

namespace asio = boost::asio;

asio::awaitable<void> register_job(db::Pool& pool, std::string job) {
  co_await pool.query("INSERT INTO folio_jobs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                      job);
}

asio::awaitable<std::optional<Lease>> try_claim(db::Pool& pool, std::string job,
                                                std::string instance, std::chrono::milliseconds ttl,
                                                bool force) {
  // One statement: the row lock serializes concurrent claims, and the second claimer
  // re-reads the row after the first commits (READ COMMITTED), so it sees the lease taken.
  // A fenced transaction of the old holder holds a share lock on the row: the claim waits
  // for it at most a second (then the next tick tries again).
  auto tx = co_await db::Transaction::begin(co_await pool.acquire(),
                                            {.lock_timeout = std::chrono::seconds(1)});
  db::Result r;
  try {
    r = co_await tx.query(
        "WITH claimed AS ("
        "  UPDATE folio_jobs SET term = term + 1, holder = $2, "
        "         lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond', "
        "         last_started_at = clock_timestamp() "
        "   WHERE name = $1 AND ($4 OR next_run_at <= clock_timestamp()) "
        "     AND (holder IS NULL OR lease_expires_at <= clock_timestamp()) "
        "  RETURNING term, last_started_at), "
        "abandoned AS ("
        "  UPDATE folio_job_runs SET outcome = 'lost', finished_at = clock_timestamp(), "
        "         error = 'the holder stopped renewing its lease (died or was cut off)' "
        "   WHERE job = $1 AND outcome = 'running' AND term < (SELECT term FROM claimed)) "
        "INSERT INTO folio_job_runs (job, term, instance, started_at) "
        "SELECT $1, term, $2, last_started_at FROM claimed RETURNING term, id",
        job, instance, static_cast<std::int64_t>(ttl.count()), force);
  } catch (const db::LockNotAvailable&) {
    co_return std::nullopt;
  }
  co_await tx.commit();
  if (r.empty()) co_return std::nullopt;
  co_return Lease{std::move(job), r.front().get<std::int64_t>(0), std::move(instance),
                  r.front().get<std::int64_t>(1)};
}

asio::awaitable<bool> renew(db::Pool& pool, Lease lease, std::chrono::milliseconds ttl) {
  auto r = co_await pool.query(
      "UPDATE folio_jobs SET lease_expires_at = clock_timestamp() + $4 * interval '1 millisecond' "
      " WHERE name = $1 AND term = $2 AND holder = $3 AND lease_expires_at > clock_timestamp() "
      "RETURNING term",
      lease.job, lease.term, lease.instance, static_cast<std::int64_t>(ttl.count()));
  co_return !r.empty();
}

asio::awaitable<void> fence(db::Transaction& tx, const Lease& lease) {
  try {
    co_await tx.query("SELECT folio_job_fence($1, $2)", lease.job, lease.term);
  } catch (const db::Error& e) {
    if (e.sqlstate() != kLeaseLostState) throw;
    throw LeaseLost(e.what());
  }
}

asio::awaitable<bool> release(db::Pool& pool, Lease lease, std::string outcome,
                              std::chrono::milliseconds next_after) {
  auto r = co_await pool.query(
      "UPDATE folio_jobs SET holder = NULL, lease_expires_at = NULL, "
      "       last_outcome = $4, last_finished_at = clock_timestamp(), "
      "       last_success_at = CASE WHEN $4 IN ('ok', 'noop') THEN clock_timestamp() "
      "                              ELSE last_success_at END, "
      "       next_run_at = last_started_at + $5 * interval '1 millisecond' "
      " WHERE name = $1 AND term = $2 AND holder = $3 "
      "RETURNING term",
      lease.job, lease.term, lease.instance, outcome,
      static_cast<std::int64_t>(next_after.count()));
  co_return !r.empty();
}

asio::awaitable<std::vector<LeaseState>> lease_states(db::Pool& pool) {
  auto r = co_await pool.query(
      "SELECT name, term, holder, "
      "       extract(epoch FROM lease_expires_at - clock_timestamp())::float8, "
      "       CASE WHEN isfinite(next_run_at) "
      "            THEN extract(epoch FROM next_run_at - clock_timestamp())::float8 END, "
      "       last_outcome, "
      "       extract(epoch FROM clock_timestamp() - last_success_at)::float8 "
      "  FROM folio_jobs ORDER BY name");
  std::vector<LeaseState> out;
  for (const auto& row : r) {
    LeaseState s;
    s.job = row.get<std::string>(0);
    s.term = row.get<std::int64_t>(1);
    s.holder = row.get<std::optional<std::string>>(2);
    s.expires_in_s = row.get<std::optional<double>>(3);
    s.next_run_in_s = row.get<std::optional<double>>(4);
    s.last_outcome = row.get<std::optional<std::string>>(5);
    s.last_success_age_s = row.get<std::optional<double>>(6);
    out.push_back(std::move(s));
  }
  co_return out;
}

}  // namespace folio::jobs
