-- pgbench: what ReportsRepository::profit_and_loss sends for a month-granularity report over
-- a quarter after cutover, in one pipeline, through PgBouncer. Keep in step with
-- src/finance/reports_repository.cpp and src/finance/detail/unit.cpp.
\set org random(1, :orgs)
\startpipeline
SELECT set_config('role', 'folio_app', true), set_config('folio.org_id', :org::text, true), set_config('TimeZone', 'UTC', true), set_config('statement_timeout', '5000', true), set_config('transaction_read_only', 'on', true);
WITH b AS (SELECT balance_date, revenue_cents, expense_cents, net_cents FROM balances_partitioned WHERE org_id = :org::bigint AND balance_date BETWEEN '2026-06-01'::date AND '2026-08-31'::date) SELECT p.period::date, coalesce(sum(b.revenue_cents), 0)::bigint, coalesce(sum(b.expense_cents), 0)::bigint, coalesce(sum(b.net_cents), 0)::bigint FROM generate_series(date_trunc('month', '2026-06-01'::date::timestamp), '2026-08-31'::date::timestamp, interval '1 month') AS p (period) LEFT JOIN b ON date_trunc('month', b.balance_date::timestamp) = p.period GROUP BY p.period ORDER BY p.period;
\endpipeline
