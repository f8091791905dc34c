/**
 * The pitfalls 'berth doctor' looks for. Each has a stable code (for '--json' and for scripts),
 * a severity and a sentence that says what to do. Warnings make the exit status 1; notes do not.
 */
import type { BudgetReport } from '../pg/budget.js'
import type { ServerFacts } from './doctor-probe.js'

export type Severity = 'warning' | 'note'

export interface Finding {
  readonly code: string
  readonly severity: Severity
  readonly message: string
}

/** Thresholds, in one place so docs/cli.md can quote them. */
export const THRESHOLDS = Object.freeze({
  /** Median 'select 1' round trip at or above which doctor warns, ms. */
  roundTripWarnMs: 10,
  /** Median round trip at or above which doctor notes that pipelining pays, ms. */
  roundTripNoteMs: 2,
  /** A catalog lookup this many times slower than a round trip (and >= 5 ms) means a busy server. */
  querySlowFactor: 5,
  querySlowMinMs: 5,
  /** Connection setup at or above this is worth keeping connections open for, ms. */
  connectNoteMs: 100,
  /** Share of the available connections in use now at or above which doctor warns. */
  nearLimitShare: 0.8,
  /** max_connections above which each-connection-is-a-process becomes the bottleneck. */
  manyConnections: 500,
  /** A standby at least this far behind the primary's WAL position is a warning, bytes (16 MiB). */
  replicaLagBytes: 16 * 1024 * 1024,
  /** ...or whose last replayed transaction is this old while it is behind, s. */
  replicaLagS: 30,
})

export interface FindingInputs {
  readonly facts: ServerFacts
  /** What this service points at the server; null when nothing (a host list's other hosts). */
  readonly budget: BudgetReport | null
  /** Connection traffic stays on this machine (loopback or Unix socket). */
  readonly local: boolean
  /** The sslmode in effect for the URL. */
  readonly sslmode: string
}

export function findPitfalls({ facts, budget, local, sslmode }: FindingInputs): Finding[] {
  const out: Finding[] = []
  const warn = (code: string, ...message: string[]) =>
    out.push(Object.freeze({ code, severity: 'warning', message: message.filter((m) => m !== '').join(' ') }))
  const note = (code: string, ...message: string[]) =>
    out.push(Object.freeze({ code, severity: 'note', message: message.filter((m) => m !== '').join(' ') }))
  const inUse = facts.connections.reduce((n, c) => n + c.total, 0)
  const l = facts.limits
  const available = Math.max(0, l.maxConnections - l.superuserReserved - l.reserved)

  if (budget === null) {
    // nothing of this service's points here: only the server's own state counts
  } else if (budget.overBudget) warn('OVER_BUDGET', budget.summary)
  else if (inUse + budget.demand > budget.available) {
    warn(
      'NO_HEADROOM',
      `${inUse} connections are open now (${topApps(facts)}); with this service's peak of ${budget.demand}`,
      `that makes ${inUse + budget.demand} of ${budget.available} available.`,
      'If those sessions are this service, this is fine; otherwise shrink the pools or put PgBouncer in front.',
    )
  }
  if (available > 0 && inUse >= THRESHOLDS.nearLimitShare * available) {
    warn(
      'NEAR_LIMIT',
      `${inUse} of ${available} available connections are in use now (${topApps(facts)}):`,
      'new connections will soon be refused with "too many clients" (53300).',
    )
  }
  const idleTx = facts.connections.filter((c) => c.idleInTransaction > 0)
  if (idleTx.length > 0) {
    const n = idleTx.reduce((s, c) => s + c.idleInTransaction, 0)
    const oldest = Math.max(...idleTx.map((c) => c.oldestIdleInTransactionS))
    const apps = idleTx.map((c) => `${appName(c.application)}: ${c.idleInTransaction}`).join(', ')
    warn(
      'IDLE_IN_TRANSACTION',
      `${n} session(s) idle in a transaction (${apps}; oldest ${oldest.toFixed(0)} s):`,
      'each holds a connection, its locks and old row versions until the client commits or rolls back.',
      facts.idleInTransactionTimeoutMs > 0
        ? ''
        : 'Set idle_in_transaction_session_timeout (e.g. 60s) so the server ends them.',
    )
  }
  if (!local && !facts.ssl) {
    warn(
      'NO_SSL',
      `the connection to a non-loopback server is not encrypted (sslmode=${sslmode}):`,
      'the password exchange and every row cross the network in clear.',
      'Use sslmode=verify-full (or at least require).',
    )
  }
  const rtt = facts.roundTrip.median
  if (rtt >= THRESHOLDS.roundTripWarnMs) {
    warn(
      'HIGH_LATENCY',
      `round trip median ${rtt.toFixed(1)} ms: every query pays at least that.`,
      'Run the service next to the database, and keep pipelining on (the default) so concurrent queries share round trips.',
    )
  } else if (rtt >= THRESHOLDS.roundTripNoteMs) {
    note(
      'LATENCY',
      `round trip median ${rtt.toFixed(1)} ms: pipelining (berth/pg's default) saves most at this distance.`,
    )
  }
  const q = facts.query.median
  if (q >= THRESHOLDS.querySlowMinMs && q >= THRESHOLDS.querySlowFactor * rtt) {
    warn(
      'SLOW_SERVER',
      `a primary-key catalog lookup takes ${q.toFixed(1)} ms against a ${rtt.toFixed(1)} ms round trip:`,
      'the server is busy (CPU, locks or I/O); look at pg_stat_activity and the host.',
    )
  }
  if (facts.connectMs >= THRESHOLDS.connectNoteMs) {
    note(
      'SLOW_CONNECT',
      `opening a connection took ${facts.connectMs.toFixed(0)} ms:`,
      'keep connections open (pool_min_conns, a long pool_max_conn_lifetime) rather than opening them per request.',
    )
  }
  if (facts.statementTimeoutMs === 0) {
    note(
      'NO_STATEMENT_TIMEOUT',
      'statement_timeout is off: a runaway query runs until someone cancels it.',
      "Set one for the service's role (ALTER ROLE ... SET statement_timeout = '30s') or in the URL (statement_timeout=30s).",
    )
  }
  const unnamed = facts.connections.find((c) => c.application === '')
  if (unnamed !== undefined) {
    note(
      'UNNAMED_SESSIONS',
      `${unnamed.total} session(s) have no application_name:`,
      "set it in each service's URL (application_name=billing) so that pg_stat_activity and this report say who holds connections.",
    )
  }
  if (facts.limits.maxConnections > THRESHOLDS.manyConnections) {
    note(
      'MANY_CONNECTIONS',
      `max_connections is ${facts.limits.maxConnections}: every connection is a server process with its own memory;`,
      'past a few hundred, a pooler (PgBouncer) scales better than a higher limit.',
    )
  }
  if (budget !== null && budget.recommendedMaxConns < budget.maxConns && !budget.overBudget) {
    note(
      'POOL_LARGER_THAN_NEEDED',
      `the pool size judged (${budget.maxConns}) is above the recommendation (${budget.recommendedMaxConns}):`,
      'connections beyond what the load needs cost the server memory and give nothing back.',
    )
  }
  return out
}

function appName(application: string): string {
  return application === '' ? '(no application_name)' : JSON.stringify(application)
}

function topApps(facts: ServerFacts): string {
  const top = facts.connections.slice(0, 3).map((c) => `${appName(c.application)} ${c.total}`)
  const rest = facts.connections.length - top.length
  return rest > 0 ? `${top.join(', ')}, ${rest} more` : top.join(', ')
}
