-- State of the online cutover (SPEC §2 and §3): where each organization's queries go, what
-- every phase did, where the backfill stands, and which sync writes failed.

-- Routing: one 'fleet' row (org_id 0) holds the fleet-wide target; 'pilot' rows override it
-- for single organizations. No row at all means "the environment default"
-- (USE_PARTITIONED_TABLES). Every change is announced on the channel folio_partition_routing,
-- whichever client made it, so running servers can follow within a second.
CREATE TABLE partition_routing (
    scope       text        NOT NULL CHECK (scope IN ('fleet', 'pilot')),
    org_id      bigint      NOT NULL DEFAULT 0,
    target      text        NOT NULL CHECK (target IN ('legacy', 'partitioned')),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_by  text        NOT NULL DEFAULT current_user,
    PRIMARY KEY (scope, org_id),
    CHECK ((scope = 'fleet') = (org_id = 0))
);

-- Bumped by every routing change; pollers compare it instead of reading the whole table.
CREATE SEQUENCE partition_routing_version AS bigint;

CREATE FUNCTION folio_partition_routing_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_ partition_routing;
BEGIN
    IF TG_OP = 'DELETE' THEN row_ := OLD; ELSE row_ := NEW; END IF;
    PERFORM pg_notify('folio_partition_routing', json_build_object(
        'version', nextval('partition_routing_version'),
        'operation', lower(TG_OP),
        'scope', row_.scope,
        'org_id', row_.org_id,
        'target', CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE row_.target END)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER partition_routing_notify
    AFTER INSERT OR UPDATE OR DELETE ON partition_routing
    FOR EACH ROW EXECUTE FUNCTION folio_partition_routing_notify();

-- One row per phase run: what ran, how it ended, and the row counts and checksums of both
-- sides before and after (JSON arrays of {table, side, rows, checksum}).
CREATE TABLE cutover_audit (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phase        text        NOT NULL CHECK (phase IN ('preflight', 'prepare', 'sync-on',
                             'sync-off', 'backfill', 'verify', 'pilot', 'cutover',
                             'rollback', 'finalize')),
    status       text        NOT NULL CHECK (status IN ('running', 'ok', 'noop', 'failed')),
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    actor        text        NOT NULL DEFAULT current_user,
    details      jsonb       NOT NULL DEFAULT '{}',
    before_stats jsonb,
    after_stats  jsonb,
    error        text
);
CREATE INDEX cutover_audit_phase_idx ON cutover_audit (phase, finished_at);

-- Sync writes that failed. The failing transaction rolls back, so the folio process that
-- sees the trigger's error (SQLSTATE FS001) records it here in a transaction of its own.
CREATE TABLE sync_failures (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name   text        NOT NULL,
    operation    text        NOT NULL,
    direction    text        NOT NULL,
    row_key      jsonb       NOT NULL,
    sqlstate     text        NOT NULL,
    message      text        NOT NULL,
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Backfill checkpoints: one row per (table, id range) a worker owns. A batch's copy and
-- its checkpoint commit together, so a kill at any moment resumes exactly where it stopped.
CREATE TABLE backfill_progress (
    table_name   text        NOT NULL,
    range_start  bigint      NOT NULL,
    range_end    bigint      NOT NULL,   -- inclusive
    next_start   bigint      NOT NULL,
    rows_copied  bigint      NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (table_name, range_start),
    CHECK (range_start <= range_end)
);
