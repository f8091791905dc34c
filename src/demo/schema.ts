/**
 * The billing database of the demo (seed 001's `invoices` and `accounts`), in a schema of its own
 * so that it never touches the tables of a database it is pointed at with DATABASE_URL.
 *
 * Idempotent: every statement is `IF NOT EXISTS` or `ON CONFLICT DO NOTHING`, and the whole setup
 * runs in one transaction under an advisory lock, so two demos starting against one database at
 * once do not trip over each other's `CREATE TABLE`.
 */
import type { PgPool } from '../pg/pg-pool.js'

/** Postgres schema holding the demo's tables. */
export const BILLING_SCHEMA = 'billing'

/** Sample data: how many accounts and invoices the seed inserts. */
export const SEED_ACCOUNTS = 1000
export const SEED_INVOICES = 10_000
/** Starting balance of every account, in cents. */
export const SEED_BALANCE_CENTS = 1_000_000

/** Key of the advisory lock that serialises concurrent setups (arbitrary, fixed). */
const SETUP_LOCK_KEY = 0x62_65_72_74 // 'bert'

const DDL = [
  `CREATE SCHEMA IF NOT EXISTS ${BILLING_SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${BILLING_SCHEMA}.accounts (
    id bigint PRIMARY KEY,
    owner text NOT NULL,
    balance_cents bigint NOT NULL CHECK (balance_cents >= 0)
  )`,
  `CREATE TABLE IF NOT EXISTS ${BILLING_SCHEMA}.invoices (
    id bigint PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES ${BILLING_SCHEMA}.accounts (id),
    total_cents bigint NOT NULL,
    currency text NOT NULL,
    created_at timestamptz NOT NULL
  )`,
  // The idempotency keys of Transfer: a retried call (the client retries UNAVAILABLE) whose first
  // attempt did commit finds its row here and is not applied twice.
  `CREATE TABLE IF NOT EXISTS ${BILLING_SCHEMA}.transfers (
    id uuid PRIMARY KEY,
    from_account bigint NOT NULL,
    to_account bigint NOT NULL,
    cents bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
]

const SEED = [
  `INSERT INTO ${BILLING_SCHEMA}.accounts (id, owner, balance_cents)
   SELECT i, 'customer-' || i, ${SEED_BALANCE_CENTS} FROM generate_series(1, ${SEED_ACCOUNTS}) AS i
   ON CONFLICT (id) DO NOTHING`,
  // Deterministic pseudo-random amounts and dates, so a re-run inserts exactly the same rows.
  `INSERT INTO ${BILLING_SCHEMA}.invoices (id, account_id, total_cents, currency, created_at)
   SELECT i,
          1 + (i * 7919) % ${SEED_ACCOUNTS},
          100 + (i * 104729) % 99900,
          (ARRAY['EUR', 'USD', 'GBP'])[1 + i % 3],
          timestamptz '2026-01-01 00:00:00+00' + make_interval(mins => (i * 37) % 500000)
   FROM generate_series(1, ${SEED_INVOICES}) AS i
   ON CONFLICT (id) DO NOTHING`,
]

/** What {@link ensureBillingSchema} found and did. */
export interface SchemaReport {
  readonly accounts: number
  readonly invoices: number
}

/** Creates the billing schema and its sample data where missing. Safe to run any number of times. */
export async function ensureBillingSchema(
  db: Pick<PgPool, 'tx'>,
  signal?: AbortSignal,
): Promise<SchemaReport> {
  return db.tx(
    async (tx) => {
      await tx.exec('SELECT pg_advisory_xact_lock($1)', [SETUP_LOCK_KEY])
      for (const statement of [...DDL, ...SEED]) await tx.exec(statement)
      const row = await tx.queryRow<{ accounts: string; invoices: string }>(
        `SELECT (SELECT count(*) FROM ${BILLING_SCHEMA}.accounts) AS accounts,
                (SELECT count(*) FROM ${BILLING_SCHEMA}.invoices) AS invoices`,
      )
      return Object.freeze({ accounts: Number(row?.accounts ?? 0), invoices: Number(row?.invoices ?? 0) })
    },
    { signal },
  )
}
