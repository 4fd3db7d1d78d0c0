-- Where each revenue and expense lives on the partitioned side: its month, by id
-- (docs/decisions/0004-partition-layout-and-access-path.md). A get, update or delete by id
-- names no month, so without this it would open every month's leaf of the organization;
-- with it, it opens one.
--
-- The locator is kept by an AFTER ROW trigger on the partitioned tables (installed by
-- `folioctl switchover prepare`, or below when they already exist), so every writer keeps it
-- right: the services, the sync triggers that mirror legacy writes, verify --repair, and any
-- other client. A cross-partition UPDATE fires DELETE on the old leaf and INSERT on the new
-- one; the INSERT upserts and the DELETE removes the row only while it still names the old
-- month, so either order leaves the new month. The bulk backfill switches the trigger off
-- for its own statements (folio.locator_guard, transaction-local) and writes the locator rows
-- of each batch in the same statement.
--
-- The locator must be complete and right: a row it lacks, or places in the wrong month, is not
-- found by id. Only these triggers, folio_locator_install and the backfill write it.

CREATE TABLE revenues_locator (
    id      bigint PRIMARY KEY,
    org_id  bigint NOT NULL,
    month   date   NOT NULL
);
CREATE TABLE expenses_locator (LIKE revenues_locator INCLUDING ALL);

SELECT folio_secure_table(t, 'org_id', 'SELECT, INSERT, UPDATE, DELETE')
  FROM unnest(ARRAY['revenues_locator', 'expenses_locator']::regclass[]) t;

-- One trigger function per table, so each keeps its own cached plans.
CREATE FUNCTION folio_locator_generate(entries text) RETURNS void LANGUAGE plpgsql AS $generate$
BEGIN
    EXECUTE format($template$
CREATE OR REPLACE FUNCTION %1$I() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF current_setting('folio.locator_guard', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO %2$I (id, org_id, month)
        VALUES (NEW.id, NEW.org_id, date_trunc('month', NEW.occurred_at AT TIME ZONE 'UTC')::date)
        ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id, month = EXCLUDED.month;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE %2$I SET org_id = NEW.org_id,
               month = date_trunc('month', NEW.occurred_at AT TIME ZONE 'UTC')::date
         WHERE id = NEW.id;
    ELSE
        DELETE FROM %2$I
         WHERE id = OLD.id
           AND month = date_trunc('month', OLD.occurred_at AT TIME ZONE 'UTC')::date;
    END IF;
    RETURN NULL;
END;
$fn$;
$template$, format('folio_locate_%s', entries), entries || '_locator');
END;
$generate$;

SELECT folio_locator_generate('revenues');
SELECT folio_locator_generate('expenses');

-- A revenue or expense by id on the partitioned side in one round trip: the locator gives
-- the month, the caller the organization's hash remainder, so the query names one leaf (or,
-- for a month without a partition, the parent bounded to that month, which prunes to the
-- DEFAULT partition). Runs as the caller, so row-level security applies to the leaf too.
-- No locator row means no such entry: every writer keeps the locator (see above).
CREATE FUNCTION folio_by_id_generate(entries text) RETURNS void LANGUAGE plpgsql AS $generate$
BEGIN
    EXECUTE format($template$
CREATE OR REPLACE FUNCTION %1$I(_org bigint, _id bigint, _remainder int)
RETURNS SETOF %2$I LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    m date;
    leaf text;
BEGIN
    SELECT l.month INTO m FROM %3$I l WHERE l.id = _id AND l.org_id = _org;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    leaf := format('%2$s_y%%sm%%s_h%%s', to_char(m, 'YYYY'), to_char(m, 'MM'),
                   CASE WHEN _remainder < 10 THEN '0' ELSE '' END || _remainder);
    IF to_regclass(leaf) IS NOT NULL THEN
        RETURN QUERY EXECUTE format('SELECT * FROM %%I WHERE org_id = $1 AND id = $2', leaf)
            USING _org, _id;
    ELSE
        RETURN QUERY EXECUTE 'SELECT * FROM %2$I WHERE org_id = $1 AND id = $2'
                             ' AND occurred_at >= $3 AND occurred_at < $4'
            USING _org, _id, m::timestamp AT TIME ZONE 'UTC',
                  (m + interval '1 month') AT TIME ZONE 'UTC';
    END IF;
END;
$fn$;
$template$, format('folio_%s_by_id', entries), entries || '_partitioned', entries || '_locator');
END;
$generate$;

-- Installs the locator trigger on <entries>_partitioned, fills the locator from its rows and
-- defines folio_<entries>_by_id. Idempotent. Run by prepare after it creates the table, and
-- here for databases prepared before this migration. An UPDATE that keeps its partition can only change the month inside
-- the DEFAULT partition (a leaf holds one month), hence the WHEN clause.
CREATE FUNCTION folio_locator_install(entries text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    parent regclass := to_regclass(entries || '_partitioned');
BEGIN
    IF parent IS NULL THEN
        RETURN;
    END IF;
    PERFORM folio_by_id_generate(entries);  -- its result type is the partitioned table's row
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = parent
                                              AND tgname = 'folio_locate_' || entries) THEN
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR DELETE ON %s'
                       ' FOR EACH ROW EXECUTE FUNCTION %I()',
                       'folio_locate_' || entries, parent, 'folio_locate_' || entries);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE OF occurred_at, org_id ON %s'
                       ' FOR EACH ROW WHEN (OLD.occurred_at IS DISTINCT FROM NEW.occurred_at'
                       ' OR OLD.org_id IS DISTINCT FROM NEW.org_id)'
                       ' EXECUTE FUNCTION %I()',
                       'folio_locate_' || entries || '_update', parent,
                       'folio_locate_' || entries);
    END IF;
    EXECUTE format('INSERT INTO %I (id, org_id, month)'
                   ' SELECT id, org_id, date_trunc(''month'', occurred_at AT TIME ZONE ''UTC'')::date'
                   ' FROM %s ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id,'
                   ' month = EXCLUDED.month',
                   entries || '_locator', parent);
END;
$fn$;

-- Row-level security and privileges for a partitioned table and every partition under it:
-- queries that name a leaf directly are not covered by the parent's policy. Idempotent.
CREATE FUNCTION folio_secure_partitions(parent regclass) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT relid FROM pg_partition_tree(parent) LOOP
        PERFORM folio_secure_table(part, 'org_id', 'SELECT, INSERT, UPDATE, DELETE');
    END LOOP;
END;
$fn$;


SELECT folio_locator_install('revenues');
SELECT folio_locator_install('expenses');
SELECT folio_secure_partitions(t)
  FROM unnest(ARRAY['revenues_partitioned', 'expenses_partitioned',
                    'balances_partitioned']) n,
       LATERAL (SELECT to_regclass(n) AS t) r
 WHERE t IS NOT NULL;
