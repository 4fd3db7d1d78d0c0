-- The two-way sync between the legacy tables and their partitioned copies (SPEC §2,
-- CUTOVER_PITFALLS). `folioctl switchover sync-on` attaches these functions as AFTER ROW
-- triggers named sync_<table>_insert|update|delete on both sides; this file only defines
-- them, so it is harmless before the partitioned tables exist.
--
-- Design:
--  * Whichever side a write lands on is the source; the other side is mirrored in the same
--    transaction with absolute values (never increments), so the sides cannot drift.
--  * Recursion guard: the transaction-local setting folio.sync_guard. It is set around each
--    mirror statement only (and cleared right after it), so it works through PgBouncer
--    transaction pooling and never leaves the rest of a transaction unsynced. The backfill
--    sets it for its own copy statement so copied rows do not echo back.
--  * A row whose month (or org) changes moves between partitions. PostgreSQL reports such an
--    UPDATE on the partitioned side as DELETE + INSERT; the DELETE handler sees the new
--    version and updates the legacy row in place, so a writer waiting on that legacy row
--    finds it instead of "0 rows". Legacy-side moves are mirrored as one UPDATE that moves
--    the partitioned row, which gives waiting writers a retryable 40001.
--  * Deadlocks, serialization failures, lock and statement timeouts are re-raised as they
--    are: writers retry them. Any other failure becomes SQLSTATE FS001 with a JSON DETAIL
--    {table, operation, direction, key, sqlstate, message}; folio records it in
--    sync_failures, and the write fails rather than letting the sides diverge.
--
-- Functions are generated from one template per table so that revenues, expenses and
-- balances cannot differ by a hand-made slip; their column lists come from the catalog.

CREATE FUNCTION folio_sync_generate(legacy text, legacy_key text[], partitioned_key text[],
                                    move_lookup text[])
RETURNS void LANGUAGE plpgsql AS $generate$
DECLARE
    partitioned text := legacy || '_partitioned';
    cols text[];
    dir record;
    key_cols text[];
    mirror_key text[];
    body text;
BEGIN
    SELECT array_agg(attname::text ORDER BY attnum) INTO cols
      FROM pg_attribute
     WHERE attrelid = legacy::regclass AND attnum > 0 AND NOT attisdropped;

    FOR dir IN SELECT * FROM (VALUES ('partitioned', legacy, partitioned, partitioned_key),
                                     ('legacy', partitioned, legacy, legacy_key))
                          AS d(name, source, mirror, mkey)
    LOOP
        mirror_key := dir.mkey;
        key_cols := legacy_key;
        body := format($template$
CREATE OR REPLACE FUNCTION %1$I() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    moved record;
    state_ text;
    message_ text;
    key_ json;
BEGIN
    IF current_setting('folio.sync_guard', true) = 'on' THEN
        RETURN NULL;
    END IF;
    BEGIN
        PERFORM set_config('folio.sync_guard', 'on', true);
        IF TG_OP = 'INSERT' THEN
            INSERT INTO %3$I (%4$s) VALUES (%5$s)
                ON CONFLICT (%6$s) DO UPDATE SET %7$s;
        ELSIF TG_OP = 'UPDATE' THEN
            UPDATE %3$I SET %8$s WHERE %9$s;
            IF NOT FOUND THEN
                INSERT INTO %3$I (%4$s) VALUES (%5$s)
                    ON CONFLICT (%6$s) DO UPDATE SET %7$s;
            END IF;
        ELSE
            %10$s
        END IF;
        PERFORM set_config('folio.sync_guard', '', true);
    EXCEPTION
        WHEN deadlock_detected OR serialization_failure OR lock_not_available
             OR query_canceled THEN
            RAISE;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state_ = RETURNED_SQLSTATE, message_ = MESSAGE_TEXT;
            IF TG_OP = 'DELETE' THEN
                key_ := json_build_object(%11$s);
            ELSE
                key_ := json_build_object(%12$s);
            END IF;
            RAISE EXCEPTION 'folio sync of %% %% to the %% side failed: %%',
                    %13$L, TG_OP, %14$L, message_
                USING ERRCODE = 'FS001',
                      DETAIL = json_build_object('table', %13$L, 'operation', lower(TG_OP),
                                                 'direction', %14$L, 'key', key_,
                                                 'sqlstate', state_,
                                                 'message', message_)::text,
                      HINT = 'The write was rolled back so that both sides stay identical.';
    END;
    RETURN NULL;
END;
$fn$;
$template$,
            format('folio_sync_%s_to_%s', legacy, dir.name),                             -- 1
            NULL,                                                                          -- 2 (unused)
            dir.mirror,                                                                    -- 3
            (SELECT string_agg(quote_ident(c), ', ') FROM unnest(cols) c),                 -- 4
            (SELECT string_agg('NEW.' || quote_ident(c), ', ') FROM unnest(cols) c),       -- 5
            (SELECT string_agg(quote_ident(c), ', ') FROM unnest(mirror_key) c),           -- 6
            (SELECT string_agg(format('%1$I = EXCLUDED.%1$I', c), ', ')
               FROM unnest(cols) c WHERE c <> ALL (mirror_key)),                          -- 7
            (SELECT string_agg(format('%1$I = NEW.%1$I', c), ', ') FROM unnest(cols) c),   -- 8
            (SELECT string_agg(format('%1$I = OLD.%1$I', c), ' AND ')
               FROM unnest(mirror_key) c),                                                 -- 9
            CASE WHEN dir.name = 'legacy' AND move_lookup IS NOT NULL THEN format(
                -- A cross-partition UPDATE: the new version is already visible.
                'SELECT * INTO moved FROM %1$I WHERE %2$s;
            IF FOUND THEN
                UPDATE %3$I SET %4$s WHERE %5$s;
            ELSE
                DELETE FROM %3$I WHERE %5$s;
            END IF;',
                partitioned,
                (SELECT string_agg(format('%1$I = OLD.%1$I', c), ' AND ')
                   FROM unnest(move_lookup) c),
                dir.mirror,
                (SELECT string_agg(format('%1$I = moved.%1$I', c), ', ') FROM unnest(cols) c),
                (SELECT string_agg(format('%1$I = OLD.%1$I', c), ' AND ')
                   FROM unnest(mirror_key) c))
            ELSE format('DELETE FROM %I WHERE %s;', dir.mirror,
                (SELECT string_agg(format('%1$I = OLD.%1$I', c), ' AND ')
                   FROM unnest(mirror_key) c))
            END,                                                                           -- 10
            (SELECT string_agg(format('%1$L, OLD.%1$I', c), ', ') FROM unnest(key_cols) c), -- 11
            (SELECT string_agg(format('%1$L, NEW.%1$I', c), ', ') FROM unnest(key_cols) c), -- 12
            legacy,                                                                        -- 13
            dir.name);                                                                     -- 14
        EXECUTE body;
    END LOOP;
END;
$generate$;

-- PL/pgSQL resolves table names when a function first runs, so the functions can be
-- defined before `prepare` creates the partitioned tables.
SELECT folio_sync_generate('revenues', ARRAY['id'], ARRAY['org_id', 'occurred_at', 'id'],
                           ARRAY['org_id', 'id']);
SELECT folio_sync_generate('expenses', ARRAY['id'], ARRAY['org_id', 'occurred_at', 'id'],
                           ARRAY['org_id', 'id']);
SELECT folio_sync_generate('balances', ARRAY['org_id', 'balance_date'],
                           ARRAY['org_id', 'balance_date'], NULL);
