-- The legacy (unpartitioned) finance schema of SPEC §1: what the platform runs on before the
-- cutover, and what a new install starts from.
--
-- Revenues and expenses draw their ids from one shared sequence so that a row keeps the same
-- id on the legacy and the partitioned side (CUTOVER_PITFALLS §5). No foreign keys on the
-- hot tables: tenants are never deleted online, and per-row FK checks would double the cost
-- of every bulk load and backfill (docs/decisions/0002-no-foreign-keys-on-hot-tables.md).

CREATE SEQUENCE folio_id_seq AS bigint;

CREATE TABLE organizations (
    id          bigint      PRIMARY KEY,
    name        text        NOT NULL,
    currency    char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    timezone    text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE revenues (
    id            bigint      PRIMARY KEY DEFAULT nextval('folio_id_seq'),
    org_id        bigint      NOT NULL,
    category      text        NOT NULL
                  CHECK (category IN ('room', 'food_beverage', 'spa', 'events', 'other')),
    amount_cents  bigint      NOT NULL CHECK (amount_cents >= 0),
    currency      char(3)     NOT NULL,
    occurred_at   timestamptz NOT NULL,
    description   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revenues_org_occurred_idx ON revenues (org_id, occurred_at);

CREATE TABLE expenses (
    id            bigint      PRIMARY KEY DEFAULT nextval('folio_id_seq'),
    org_id        bigint      NOT NULL,
    category      text        NOT NULL
                  CHECK (category IN ('payroll', 'supplies', 'utilities', 'maintenance',
                                      'marketing', 'other')),
    amount_cents  bigint      NOT NULL CHECK (amount_cents >= 0),
    currency      char(3)     NOT NULL,
    occurred_at   timestamptz NOT NULL,
    description   text,
    vendor        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX expenses_org_occurred_idx ON expenses (org_id, occurred_at);

-- One row per organization per day, written in the same transaction as every revenue or
-- expense change of that day.
CREATE TABLE balances (
    org_id         bigint      NOT NULL,
    balance_date   date        NOT NULL,
    revenue_cents  bigint      NOT NULL DEFAULT 0,
    expense_cents  bigint      NOT NULL DEFAULT 0,
    net_cents      bigint      NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, balance_date),
    CHECK (net_cents = revenue_cents - expense_cents)
);
