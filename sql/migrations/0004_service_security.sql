-- What the HTTP services need from the schema: API tokens (stored hashed) and row-level
-- security that confines the services' role to one organization per transaction.
--
-- The services connect as any login role that is a member of folio_app and run each
-- transaction as `SET LOCAL ROLE folio_app` with `folio.org_id` set (SET LOCAL, so it works
-- through PgBouncer in transaction mode). For folio_app the policies below admit only rows
-- of that organization, on every read and every write; a query that forgets its org_id
-- filter returns nothing of anyone else, and a missing folio.org_id is an error, not an
-- open door. The tables' owner (migrations, cutover, seed) is not subject to them.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'folio_app') THEN
        CREATE ROLE folio_app NOLOGIN;
    END IF;
EXCEPTION
    -- Roles are cluster-wide: another database of the cluster may be creating it right now.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- Enables row-level security on `t` with the organization policy on column `org_column`
-- and grants folio_app the given privileges. Idempotent; also run by `folioctl cutover
-- prepare` for the partitioned tables (policies on a partitioned parent cover every query
-- through it).
CREATE FUNCTION folio_secure_table(t regclass, org_column text, privileges text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t AND polname = 'folio_org_scope')
    THEN
        EXECUTE format(
            'CREATE POLICY folio_org_scope ON %s TO folio_app'
            ' USING (%2$I = current_setting(''folio.org_id'')::bigint)'
            ' WITH CHECK (%2$I = current_setting(''folio.org_id'')::bigint)',
            t, org_column);
    END IF;
    EXECUTE format('GRANT %s ON %s TO folio_app', privileges, t);
END;
$fn$;

SELECT folio_secure_table('organizations', 'id', 'SELECT');
SELECT folio_secure_table(t, 'org_id', 'SELECT, INSERT, UPDATE, DELETE')
  FROM unnest(ARRAY['revenues', 'expenses', 'balances']::regclass[]) t;
SELECT folio_secure_table(t, 'org_id', 'SELECT, INSERT, UPDATE, DELETE')
  FROM unnest(ARRAY['revenues_partitioned', 'expenses_partitioned',
                    'balances_partitioned']) n,
       LATERAL (SELECT to_regclass(n) AS t) r
 WHERE t IS NOT NULL;
GRANT USAGE ON SEQUENCE folio_id_seq TO folio_app;

-- Bearer tokens: only the SHA-256 of a token is stored; the token itself is shown once by
-- `folioctl token create`. scope 'org' tokens act for org_id only; 'admin' for any
-- organization and the admin endpoints.
CREATE TABLE api_tokens (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    scope       text        NOT NULL CHECK (scope IN ('org', 'admin')),
    org_id      bigint,
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK ((scope = 'org') = (org_id IS NOT NULL))
);
