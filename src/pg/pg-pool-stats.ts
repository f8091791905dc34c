/** PgPool's `stats()`: pgxpool's Stat() fields read off the core pool's snapshot, plus query latency. */
import type { LatencySummary } from '../core/latency-histogram.js'
import type { LifecycleState } from '../core/lifecycle.js'
import type { OwnerStats } from '../core/owner.js'
import type { PoolStats } from '../core/pool-stats.js'

/** pgxpool's Stat() fields, berth's core snapshot, and query latency. */
export interface PgPoolStats extends OwnerStats {
  /** The pool's lifecycle state: open, closing, destroying, closed. */
  readonly state: LifecycleState
  /** Connections lent out (pgxpool AcquiredConns). */
  readonly acquiredConns: number
  readonly idleConns: number
  readonly totalConns: number
  readonly constructingConns: number
  readonly maxConns: number
  readonly acquireCount: number
  /** Total time callers spent waiting for connections, ms (pgxpool AcquireDuration). */
  readonly acquireDurationMs: number
  /** Acquires that had to wait because no connection was idle. */
  readonly emptyAcquireCount: number
  /** Acquires that ended by cancellation or timeout. */
  readonly canceledAcquireCount: number
  readonly newConnsCount: number
  readonly maxLifetimeDestroyCount: number
  readonly maxIdleDestroyCount: number
  /** Wait for a connection, ms: p50, p90, p99, max. */
  readonly acquireWaitMs: LatencySummary
  /** Query round trips, ms. */
  readonly queryMs: LatencySummary
  /** Ages of the open connections, ms. */
  readonly connectionAgeMs: PoolStats['resourceAgeMs']
  /** The generic pool's full snapshot. */
  readonly pool: PoolStats
}

/**
 * A frozen PgPoolStats. `state` is the PgPool's own, which may still read 'closing' for a moment
 * after its core pool (`pool.state`) is 'closed'.
 */
export function pgPoolStats(state: LifecycleState, p: PoolStats, queryMs: LatencySummary): PgPoolStats {
  const c = p.counters
  return Object.freeze({
    name: p.name,
    state,
    acquiredConns: p.leased + p.shared,
    idleConns: p.idle,
    totalConns: p.total,
    constructingConns: p.creating,
    maxConns: p.max,
    acquireCount: c.acquires,
    acquireDurationMs: p.acquireWaitMs.mean * p.acquireWaitMs.count,
    emptyAcquireCount: c.waitedAcquires,
    canceledAcquireCount: c.cancellations + c.timeouts,
    newConnsCount: c.creates,
    maxLifetimeDestroyCount: c.destroys.lifetime,
    maxIdleDestroyCount: c.destroys.idle,
    acquireWaitMs: p.acquireWaitMs,
    queryMs,
    connectionAgeMs: p.resourceAgeMs,
    pool: p,
  })
}
