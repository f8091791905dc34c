/**
 * How a pool lets its waiting callers go without a resource: a caller that gives up (its signal
 * aborted or its deadline passed), callers told that a create failed, every caller at a forced
 * close, and the counts each such error reports. All off the hot path; the lender
 * (pool-lender.ts) lends, this file refuses.
 */
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  CreateFailedError,
  type PoolError,
  type PoolErrorContext,
} from './errors.js'
import type { PoolEntry } from './pool-entry.js'
import type { PoolInventory } from './pool-inventory.js'
import type { LenderParts } from './pool-lender-parts.js'
import type { ResolvedPoolOptions } from './pool-options.js'
import type { PoolCounters } from './pool-stats.js'
import type { PoolSupply } from './pool-supply.js'
import type { ReadyGate } from './ready-gate.js'
import { type WaitList, type Waiter, settleWaiter } from './wait-list.js'

/** What refusing needs from its lender. */
export interface RefusalHost {
  /** Serves waiters with what is free (and lifts a drain made for a waiter that left). */
  pump(): void
  /** Something ended: a close may be drained now. */
  maybeDrained(): void
  /** A create failed: tell `createError` listeners. */
  createError(cause: unknown): void
}

export class PoolRefusals<T> {
  readonly #o: ResolvedPoolOptions<T>
  readonly #inv: PoolInventory<T>
  readonly #counters: PoolCounters
  readonly #backoff: PoolSupply<T>['backoff']
  readonly #ready: ReadyGate
  readonly #waiters: WaitList<T>
  readonly #validatingFor: Map<PoolEntry<T>, Waiter<T>>
  readonly #host: RefusalHost

  /** @param validatingFor the lender's waiters taken off the queue while their resource is validated */
  constructor(
    parts: LenderParts<T>,
    waiters: WaitList<T>,
    validatingFor: Map<PoolEntry<T>, Waiter<T>>,
    host: RefusalHost,
  ) {
    this.#o = parts.o
    this.#inv = parts.inv
    this.#counters = parts.counters
    this.#backoff = parts.supply.backoff
    this.#ready = parts.ready
    this.#waiters = waiters
    this.#validatingFor = validatingFor
    this.#host = host
  }

  /** A waiter gives up (its signal aborted or its deadline passed); it can never get a resource later. */
  abandon(w: Waiter<T>, why: 'abort' | 'timeout'): void {
    if (w.settled) return
    const context = this.context() // taken while the waiter still counts
    this.#waiters.remove(w)
    settleWaiter(w)
    if (why === 'abort') {
      this.#counters.cancellations++
      w.reject(new AcquireAbortedError(context, w.signal?.reason))
    } else {
      this.#counters.timeouts++
      const cause = this.#backoff.failures > 0 ? this.#backoff.lastError : undefined
      w.reject(new AcquireTimeoutError(context, w.timeoutMs, cause === undefined ? undefined : { cause }))
    }
    this.#waiters.disarmIfEmpty(this.#validatingFor.size)
    // Pump even with nobody left: it lifts a drain made for this waiter if it was exclusive.
    this.#host.pump()
    this.#host.maybeDrained()
  }

  /** The callers waiting hear why a create failed; the supply then schedules the retry. */
  createFailed(cause: unknown, delay: number): void {
    this.#host.createError(cause)
    // The callers waiting hear the cause: all of them when nothing could serve them any more,
    // else the oldest, on whose behalf the create was made.
    const err = this.createFailedError(delay)
    const doomed = this.#inv.live === 0 && this.#inv.creating === 0 ? this.#waiters.drain() : []
    const oldest = this.#waiters.oldest()
    if (oldest !== undefined) {
      this.#waiters.remove(oldest)
      doomed.push(oldest)
    }
    for (const w of doomed) if (settleWaiter(w)) w.reject(err)
    this.#waiters.disarmIfEmpty(this.#validatingFor.size)
    this.#ready.fail(err)
  }

  createFailedError(retryInMs?: number): CreateFailedError {
    const b = this.#backoff
    return new CreateFailedError(this.context(), b.lastError, b.failures, retryInMs)
  }

  /** Rejects every waiter with `err` (a forced close). */
  rejectAll(err: PoolError): void {
    for (const w of [...this.#waiters.drain(), ...this.#validatingFor.values()]) {
      if (settleWaiter(w)) w.reject(err)
    }
    this.#validatingFor.clear()
  }

  /** The counts an error reports. */
  context(): PoolErrorContext {
    const inv = this.#inv
    return {
      pool: this.#o.name,
      total: inv.total,
      idle: inv.idle.length,
      leased: inv.leased,
      shared: inv.shared,
      creating: inv.creating,
      waiting: this.#waiters.size + this.#validatingFor.size,
      max: this.#o.max,
    }
  }
}
