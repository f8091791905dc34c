/**
 * What `berth doctor` reads from the server and measures, on one connection of a berth/pg pool.
 * Everything here is read-only.
 */
import { LIMITS_QUERY, type ServerConnectionLimits, limitsFromRow } from '../pg/budget.js'
import type { PgPool } from '../pg/pg-pool.js'
import { type LatencySummaryMs, summarize } from './cli-stats.js'

/** Sessions of one application_name (client backends only, the doctor's own excluded). */
export interface ApplicationConnections {
  /** `application_name`, or `''` when the clients did not set one. */
  readonly application: string
  readonly total: number
  readonly active: number
  readonly idle: number
  /** `idle in transaction` and `idle in transaction (aborted)`. */
  readonly idleInTransaction: number
  /** How long the oldest of those has been idle in its transaction, seconds; 0 when none. */
  readonly oldestIdleInTransactionS: number
  /** Sessions whose state this role may not see (another role's, without pg_read_all_stats). */
  readonly hidden: number
}

export interface ServerFacts {
  readonly serverVersion: string
  readonly limits: ServerConnectionLimits
  /** Whether the doctor's own connection is encrypted (pg_stat_ssl). */
  readonly ssl: boolean
  readonly sslVersion: string | null
  readonly superuser: boolean
  /** `statement_timeout` and `idle_in_transaction_session_timeout` for this role and database, ms (0 = off). */
  readonly statementTimeoutMs: number
  readonly idleInTransactionTimeoutMs: number
  /** Client backends open now, the doctor's own excluded, by application_name (largest first). */
  readonly connections: readonly ApplicationConnections[]
  /** Time to open the first connection: TCP, TLS, authentication, ms. */
  readonly connectMs: number
  /** `select 1` round trips, ms. */
  readonly roundTrip: LatencySummaryMs
  /** A parameterised catalog lookup by primary key (parse, plan, execute), ms. */
  readonly query: LatencySummaryMs
}

const SETTINGS_QUERY = `select current_setting('server_version') as server_version,
  current_setting('is_superuser') = 'on' as superuser,
  (select setting::bigint from pg_settings where name = 'statement_timeout') as statement_timeout,
  (select setting::bigint from pg_settings where name = 'idle_in_transaction_session_timeout') as idle_tx_timeout,
  coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false) as ssl,
  (select version from pg_stat_ssl where pid = pg_backend_pid()) as ssl_version`

const ACTIVITY_QUERY = `select coalesce(application_name, '') as application,
  count(*)::int as total,
  (count(*) filter (where state = 'active'))::int as active,
  (count(*) filter (where state = 'idle'))::int as idle,
  (count(*) filter (where state like 'idle in transaction%'))::int as idle_in_transaction,
  coalesce(extract(epoch from max(now() - state_change) filter (where state like 'idle in transaction%')), 0)::float8
    as oldest_idle_in_transaction_s,
  (count(*) filter (where state is null))::int as hidden
from pg_stat_activity
where backend_type = 'client backend' and pid <> pg_backend_pid()
group by 1
order by 2 desc, 1`

/** The catalog row of pg_class itself: always there, found through the primary key. */
const LOOKUP_QUERY = 'select relname from pg_catalog.pg_class where oid = $1'
const PG_CLASS_OID = 1259

/**
 * Opens one connection (timed), reads the server's limits, settings and sessions, then times
 * `samples` round trips and `samples` catalog lookups. Stops between statements when `signal`
 * aborts.
 */
export async function probeServer(db: PgPool, samples: number, signal: AbortSignal): Promise<ServerFacts> {
  const started = performance.now()
  const conn = await db.acquire({ signal })
  const connectMs = performance.now() - started
  try {
    const limits = limitsFromRow((await conn.queryRow(LIMITS_QUERY)) as Parameters<typeof limitsFromRow>[0])
    const s = (await conn.queryRow(SETTINGS_QUERY)) as Record<string, unknown>
    const activity = await conn.query<Record<string, unknown>>(ACTIVITY_QUERY)
    const rtt = await time(samples, signal, () => conn.query('select 1'))
    const lookups = await time(samples, signal, () => conn.query(LOOKUP_QUERY, [PG_CLASS_OID]))
    return Object.freeze({
      serverVersion: String(s['server_version']),
      limits,
      ssl: s['ssl'] === true,
      sslVersion: typeof s['ssl_version'] === 'string' ? s['ssl_version'] : null,
      superuser: s['superuser'] === true,
      statementTimeoutMs: Number(s['statement_timeout']),
      idleInTransactionTimeoutMs: Number(s['idle_tx_timeout']),
      connections: activity.rows.map((r) =>
        Object.freeze({
          application: String(r['application']),
          total: Number(r['total']),
          active: Number(r['active']),
          idle: Number(r['idle']),
          idleInTransaction: Number(r['idle_in_transaction']),
          oldestIdleInTransactionS: Number(r['oldest_idle_in_transaction_s']),
          hidden: Number(r['hidden']),
        }),
      ),
      connectMs,
      roundTrip: summarize(rtt),
      query: summarize(lookups),
    })
  } finally {
    await conn.release()
  }
}

async function time(n: number, signal: AbortSignal, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    signal.throwIfAborted()
    const t = performance.now()
    await fn()
    out.push(performance.now() - t)
  }
  return out
}
