-- pgbench: what FinanceRepository::create sends for a revenue after cutover, in one pipeline
-- (one round trip, one implicit transaction), through PgBouncer. Keep in step with
-- src/finance/detail/{unit,entry_sql}.cpp.
\set org random(1, :orgs)
\set amount random(1, 100000)
\set day random(1, 28)
\startpipeline
SELECT set_config('role', 'folio_app', true), set_config('folio.org_id', :org::text, true), set_config('TimeZone', 'UTC', true), set_config('statement_timeout', '5000', true), set_config('transaction_read_only', 'off', true);
WITH org AS (SELECT currency::text AS currency FROM organizations WHERE id = :org::bigint), ins AS ( INSERT INTO revenues_partitioned AS e (org_id, category, amount_cents, currency, occurred_at, description) SELECT :org::bigint, 'room'::text, :amount::bigint, org.currency, ('2026-09-01T12:00:00Z'::timestamptz + (:day - 1) * interval '1 day'), NULL::text FROM org WHERE NULL::text IS NULL OR NULL::text = org.currency RETURNING e.id, e.org_id, e.category, e.amount_cents, e.currency::text AS currency, e.occurred_at, e.description, NULL::text AS vendor, e.created_at, e.updated_at), delta AS (SELECT org_id, (occurred_at AT TIME ZONE 'UTC')::date AS d, amount_cents AS amount FROM ins), bal AS ( INSERT INTO balances_partitioned AS b (org_id, balance_date, revenue_cents, expense_cents, net_cents, updated_at) SELECT org_id, d, amount, 0, amount, now() FROM (SELECT org_id, d, sum(amount)::bigint AS amount FROM delta GROUP BY org_id, d) s ORDER BY d ON CONFLICT (org_id, balance_date) DO UPDATE SET revenue_cents = b.revenue_cents + EXCLUDED.revenue_cents, expense_cents = b.expense_cents + EXCLUDED.expense_cents, net_cents = b.net_cents + EXCLUDED.net_cents, updated_at = EXCLUDED.updated_at RETURNING 1) SELECT (SELECT currency FROM org) AS org_currency, ins.* FROM (VALUES (1)) AS one (x) LEFT JOIN ins ON true;
\endpipeline
