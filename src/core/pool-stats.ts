import type { LatencySummary } from './latency-histogram.js'
import type { DestroyReason } from './pool-entry.js'

import type { LifecycleState } from './lifecycle.js'

/** The lifecycle state of a pool (the same states as every owner's). */
export type PoolState = LifecycleState

/** Monotonic counters of a pool, since it was made. */
export interface PoolCounters {
  /** Calls to `acquire()` (exclusive and shared). */
  acquires: number
  /** Acquires that could not be served at once and had to wait. */
  waitedAcquires: number
  /** Acquires that ended with `AcquireTimeoutError`. */
  timeouts: number
  /** Acquires cancelled by their AbortSignal. */
  cancellations: number
  /** Acquires refused with `QueueFullError`. */
  queueFull: number
  /** Acquires refused at once with `CreateFailedError` while backing off. */
  failedFast: number
  /** Leases given back (released or destroyed). */
  releases: number
  /** Resources created. */
  creates: number
  /** `create()` calls that failed (threw, rejected or timed out). */
  createFailures: number
  /** `validate()` calls that said a resource was unusable. */
  validationFailures: number
  /** Resources destroyed, by reason. */
  destroys: Record<DestroyReason, number>
  /** `destroy()` callbacks that threw or timed out. */
  destroyErrors: number
  /** Leases reported as leaked (held longer than `leakDetectionMs`). */
  leaks: number
}

/** A frozen point-in-time view of a pool. */
export interface PoolStats {
  readonly name: string
  readonly state: PoolState
  /** Live resources plus those being created (what counts against `max`). */
  readonly total: number
  readonly idle: number
  /** Resources held by an exclusive lease. */
  readonly leased: number
  /** Resources carrying one or more shared leases. */
  readonly shared: number
  /** Shared leases in flight, over all resources. */
  readonly sharedLeases: number
  readonly validating: number
  readonly creating: number
  /** Resources whose destroy callback is still running (not counted in `total`). */
  readonly destroying: number
  readonly waiting: number
  readonly max: number
  readonly min: number
  /** Creates that failed in a row; 0 once one succeeds. */
  readonly consecutiveCreateFailures: number
  /** Message of the last create failure, if any. */
  readonly lastCreateError: string | undefined
  readonly counters: Readonly<PoolCounters> & { readonly destroys: Readonly<Record<DestroyReason, number>> }
  /** Time from `acquire()` to a lease, over all acquires (served-at-once ones count as ~0). */
  readonly acquireWaitMs: LatencySummary
  /** Time the `create` callbacks that succeeded took, since the pool was made (failures: `counters`). */
  readonly createMs: LatencySummary
  /** Ages of the live resources, in ms. */
  readonly resourceAgeMs: { readonly min: number; readonly max: number; readonly mean: number }
}

export function newCounters(): PoolCounters {
  return {
    acquires: 0,
    waitedAcquires: 0,
    timeouts: 0,
    cancellations: 0,
    queueFull: 0,
    failedFast: 0,
    releases: 0,
    creates: 0,
    createFailures: 0,
    validationFailures: 0,
    destroys: { lifetime: 0, idle: 0, health: 0, error: 0, close: 0 },
    destroyErrors: 0,
    leaks: 0,
  }
}
