/**
 * What a pool hands its lender (pool-lender.ts), which passes it on to its helpers
 * (pool-validation.ts, pool-refusals.ts): the parts they share with the pool, where the lifecycle
 * state is read, and what the lender tells the pool back.
 */
import type { LatencyHistogram } from './latency-histogram.js'
import type { LeakDetector } from './leak-detector.js'
import type { Lease } from './lease.js'
import type { LifecycleState } from './lifecycle.js'
import type { PoolInventory } from './pool-inventory.js'
import type { ResolvedPoolOptions } from './pool-options.js'
import type { PoolCounters } from './pool-stats.js'
import type { PoolSupply } from './pool-supply.js'
import type { ReadyGate } from './ready-gate.js'

/** Where the lender reads the lifecycle state: the pool itself (a plain getter on the hot path). */
export interface LenderOwner {
  readonly state: LifecycleState
}

/** What the lender tells its pool. */
export interface LenderHooks {
  /** Something ended (a waiter, a resource): a close may be drained now. */
  maybeDrained(): void
  /** A create failed: tell `createError` listeners. */
  createError(cause: unknown): void
}

/** The parts of a pool the lender shares with it (the pool reads them for stats). */
export interface LenderParts<T> {
  readonly o: ResolvedPoolOptions<T>
  readonly inv: PoolInventory<T>
  readonly counters: PoolCounters
  readonly waitHistogram: LatencyHistogram
  readonly ready: ReadyGate
  readonly supply: PoolSupply<T>
  readonly leaks: LeakDetector<Lease<T>> | undefined
}
