-- Partition retention (docs/operations.md, "Retention"): after finalize, month partitions
-- older than the configured retention are detached from the partitioned tables and moved,
-- with their hash leaves, into an archive schema (default folio_archive). Each archived
-- month is recorded here with the row count and checksum it had when it was detached, so
-- the archive can be checked before it is dropped: `folioctl partitions drop-archived`
-- recomputes both and refuses when they differ.

CREATE TABLE partition_archive (
    table_name      text        NOT NULL,  -- the partitioned parent: "revenues_partitioned"
    month           date        NOT NULL,  -- first day of the archived month
    partition_name  text        NOT NULL,  -- the month table: "revenues_partitioned_y2024m01"
    archive_schema  text        NOT NULL,  -- where it and its leaves live now
    rows            bigint      NOT NULL,
    -- sum(hashtextextended(row::text, 0)) over the rows, TimeZone UTC: verification's checksum
    checksum        numeric     NOT NULL,
    archived_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    archived_by     text        NOT NULL DEFAULT current_user,
    dropped_at      timestamptz,           -- set by drop-archived; the row stays as a record
    PRIMARY KEY (table_name, month)
);

-- Phases the retention job and drop-archived record in cutover_audit.
ALTER TABLE cutover_audit DROP CONSTRAINT cutover_audit_phase_check;
ALTER TABLE cutover_audit ADD CONSTRAINT cutover_audit_phase_check
    CHECK (phase IN ('preflight', 'prepare', 'sync-on', 'sync-off', 'backfill', 'verify',
                     'pilot', 'cutover', 'rollback', 'finalize', 'maintenance', 'retention'));
