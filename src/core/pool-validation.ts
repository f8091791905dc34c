/**
 * Validation before a lend: an idle resource that sat unused longer than `validateAfterIdleMs` is
 * checked with `validate` (under `validateTimeoutMs`) before a caller gets it; upkeep's health
 * checks take the same path. The caller it is meant for waits off the queue meanwhile and keeps its
 * turn if the check fails. The lender (pool-lender.ts) decides when to validate and lends the result.
 */
import type { PoolEntry } from './pool-entry.js'
import type { PoolInventory } from './pool-inventory.js'
import type { LenderParts } from './pool-lender-parts.js'
import type { ResolvedPoolOptions } from './pool-options.js'
import type { PoolCounters } from './pool-stats.js'
import type { PoolSupply } from './pool-supply.js'
import { withDeadline } from './timers.js'
import type { WaitList, Waiter } from './wait-list.js'

/** Whether an idle entry must be validated before it is lent. On the hot path: kept tiny. */
export function needsValidation<T>(o: ResolvedPoolOptions<T>, e: PoolEntry<T>, now: number): boolean {
  return o.validate !== undefined && now - e.checkedAt > o.validateAfterIdleMs
}

/** What validation needs from its lender. */
export interface ValidationHost<T> {
  /** Lends `e` to `w`, which is still waiting. */
  grant(w: Waiter<T>, e: PoolEntry<T>, now: number): void
  /** Serves waiters with what is free. */
  pump(): void
  /** After a resource is gone: refill to min and serve waiters with a new one. */
  afterLoss(): void
  /** Something ended: a close may be drained now. */
  maybeDrained(): void
}

export class PoolValidation<T> {
  readonly #o: ResolvedPoolOptions<T>
  readonly #inv: PoolInventory<T>
  readonly #counters: PoolCounters
  readonly #supply: PoolSupply<T>
  readonly #waiters: WaitList<T>
  readonly #validatingFor: Map<PoolEntry<T>, Waiter<T>>
  readonly #host: ValidationHost<T>

  /** @param validatingFor the lender's waiters taken off the queue while their resource is validated */
  constructor(
    parts: LenderParts<T>,
    waiters: WaitList<T>,
    validatingFor: Map<PoolEntry<T>, Waiter<T>>,
    host: ValidationHost<T>,
  ) {
    this.#o = parts.o
    this.#inv = parts.inv
    this.#counters = parts.counters
    this.#supply = parts.supply
    this.#waiters = waiters
    this.#validatingFor = validatingFor
    this.#host = host
  }

  /** Validates `e`; on success it goes to `w` (if still waiting) or back to idle. */
  async validate(e: PoolEntry<T>, w: Waiter<T> | undefined): Promise<void> {
    this.#inv.move(e, 'validating')
    if (w !== undefined) this.#validatingFor.set(e, w)
    const o = this.#o
    const ac = new AbortController()
    let ok: boolean
    try {
      const check = Promise.resolve().then(() => o.validate!(e.resource, ac.signal))
      ok = (await withDeadline(check, o.validateTimeoutMs, () => ac.abort())) !== false
    } catch {
      ok = false
    }
    this.#validatingFor.delete(e)
    this.#waiters.disarmIfEmpty(this.#validatingFor.size)
    if (e.state !== 'validating') return // destroyed meanwhile
    const waiting = w !== undefined && !w.settled ? w : undefined
    if (!ok) {
      this.#counters.validationFailures++
      e.retire ??= 'health'
    }
    if (e.retire !== undefined) {
      this.#supply.retire(e, e.retire)
      if (waiting !== undefined) this.#waiters.unshift(waiting) // it keeps its turn
      this.#host.afterLoss()
      return
    }
    const now = o.clock()
    e.checkedAt = now
    if (waiting !== undefined) this.#host.grant(waiting, e, now)
    else {
      this.#inv.move(e, 'idle')
      if (this.#waiters.size > 0) this.#host.pump()
      else this.#host.maybeDrained()
    }
  }
}
