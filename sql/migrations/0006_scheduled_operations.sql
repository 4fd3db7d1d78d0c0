-- Scheduled operations (SPEC §6, docs/operations.md): jobs that run once per fleet under a
-- fenced lease, and partitions whose DEFAULT accepts rows instead of refusing them.

-- ---- Jobs ------------------------------------------------------------------------------------
--
-- One row per job. An instance runs a job only while it holds the lease: it claims the row
-- (a new term, an expiry) in one short transaction, renews it in others, and gives it back
-- when the run ends. Nothing is held open for the length of a run and no session state is
-- used, so this works through PgBouncer in transaction mode. `term` only grows: every write
-- a run makes checks its term in the same transaction (folio_job_fence), so a holder that
-- lost its lease (paused past the expiry, partitioned away) cannot write any more, even if
-- it does not know it yet.
CREATE TABLE folio_jobs (
    name              text        PRIMARY KEY,
    term              bigint      NOT NULL DEFAULT 0,
    holder            text,                       -- instance id while leased
    lease_expires_at  timestamptz,
    next_run_at       timestamptz NOT NULL DEFAULT '-infinity',
    last_started_at   timestamptz,
    last_finished_at  timestamptz,
    last_outcome      text,
    last_success_at   timestamptz,
    CHECK ((holder IS NULL) = (lease_expires_at IS NULL))
);

-- Every run: who ran it under which term, how it ended, what it did.
CREATE TABLE folio_job_runs (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job          text        NOT NULL REFERENCES folio_jobs (name),
    term         bigint      NOT NULL,
    instance     text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    outcome      text        NOT NULL DEFAULT 'running'
                 CHECK (outcome IN ('running', 'ok', 'noop', 'failed', 'lost', 'timeout',
                                    'stopped')),
    details      jsonb       NOT NULL DEFAULT '{}',
    error        text,
    UNIQUE (job, term)
);
CREATE INDEX folio_job_runs_job_idx ON folio_job_runs (job, started_at);

-- Raises SQLSTATE FJ001 unless `job`'s lease is still held under `term` and has not expired
-- (by the clock, not the transaction start). Takes a share lock on the lease row, so a claim
-- by another instance waits until this transaction ends: a fenced write either commits
-- before the new term exists or is refused. A holder that stalls inside the transaction
-- (paused, cut off) is disconnected by the server after 10 s idle, which ends the wait.
CREATE FUNCTION folio_job_fence(job text, expected_term bigint) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    held record;
BEGIN
    PERFORM set_config('idle_in_transaction_session_timeout', '10s', true);
    SELECT term, holder, lease_expires_at INTO held
      FROM folio_jobs WHERE name = job FOR SHARE;
    IF NOT FOUND OR held.term <> expected_term OR held.holder IS NULL
       OR held.lease_expires_at <= clock_timestamp() THEN
        RAISE EXCEPTION 'job % lost its lease (term %)', job, expected_term
            USING ERRCODE = 'FJ001',
                  DETAIL = format('current term %s, holder %s, expires %s',
                                  held.term, held.holder, held.lease_expires_at);
    END IF;
END;
$fn$;

-- Phases the scheduled jobs record in cutover_audit.
ALTER TABLE cutover_audit DROP CONSTRAINT cutover_audit_phase_check;
ALTER TABLE cutover_audit ADD CONSTRAINT cutover_audit_phase_check
    CHECK (phase IN ('preflight', 'prepare', 'sync-on', 'sync-off', 'backfill', 'verify',
                     'pilot', 'cutover', 'rollback', 'finalize', 'maintenance'));

-- ---- DEFAULT partitions accept rows -----------------------------------------------------------
--
-- A write dated in a month that has no partition yet (last year's invoice booked today, a
-- date far ahead) lands in the DEFAULT partition, is read and reported from there like any
-- other row, and the maintenance job creates its month and moves it. The first version
-- refused such rows with a CHECK (false); legacy accepts them, so the migration must too.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['revenues_partitioned', 'expenses_partitioned',
                             'balances_partitioned'] LOOP
        IF to_regclass(t || '_default') IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %I DROP CONSTRAINT IF EXISTS %I',
                           t || '_default', t || '_no_month_partition');
        END IF;
    END LOOP;
END
$$;
