/**
 * Background upkeep of a pool, kept apart from the lending path (as pgxpool sits on puddle): on
 * a timer it retires resources past their lifetime, reaps idle ones above `min`/`minIdle`, and
 * health-checks idle ones on schedule. It decides; the pool and its supply do the work.
 */
import type { LifecycleState } from './lifecycle.js'
import type { PoolEntry } from './pool-entry.js'
import type { PoolInventory } from './pool-inventory.js'
import type { ResolvedPoolOptions } from './pool-options.js'
import type { PoolSupply } from './pool-supply.js'
import { unrefInterval } from './timers.js'

/** How early a timer may fire by performance.now(): libuv timers run on a cached ms clock. */
const TIMER_SLACK_MS = 2

/** What upkeep needs from its pool. */
export interface UpkeepHost<T> {
  readonly state: LifecycleState
  /** Health-checks an idle entry (it goes back to idle, or is destroyed). */
  validate(e: PoolEntry<T>): void
  /** After a pass: refill to min and serve waiters. */
  afterPass(): void
}

export class PoolUpkeep<T> {
  readonly #o: ResolvedPoolOptions<T>
  readonly #inv: PoolInventory<T>
  readonly #supply: PoolSupply<T>
  readonly #host: UpkeepHost<T>
  /** When the next health check is due, on the pool clock. */
  #healthCheckDue: number
  #timer: NodeJS.Timeout | undefined

  constructor(o: ResolvedPoolOptions<T>, inv: PoolInventory<T>, supply: PoolSupply<T>, host: UpkeepHost<T>) {
    this.#o = o
    this.#inv = inv
    this.#supply = supply
    this.#host = host
    this.#healthCheckDue = o.clock() + o.healthCheckPeriodMs
    // Often enough to honour the shortest of the three limits it keeps.
    const period = Math.max(10, Math.min(o.healthCheckPeriodMs, o.maxIdleMs / 2, o.maxLifetimeMs / 2))
    this.#timer = unrefInterval(() => this.#pass(), period)
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  #pass(): void {
    if (this.#host.state !== 'open') return
    const o = this.#o
    const inv = this.#inv
    const now = o.clock()
    for (const e of [...inv.idle]) {
      if (now >= e.expiresAt) this.#supply.retire(e, 'lifetime')
      else if (now - e.idleSince >= o.maxIdleMs && inv.total > o.min && inv.idle.length > o.minIdle) {
        this.#supply.retire(e, 'idle')
      }
    }
    for (const e of inv.inState('shared')) if (now >= e.expiresAt) e.retire ??= 'lifetime'
    // A small tolerance: maintenance timers may fire slightly early by the pool clock, and a
    // check judged "not yet due" would wait a whole period more.
    if (o.validate !== undefined && now + TIMER_SLACK_MS >= this.#healthCheckDue) {
      // Keep to the schedule: a run that starts late must not push the next one back.
      this.#healthCheckDue += o.healthCheckPeriodMs
      if (this.#healthCheckDue <= now) this.#healthCheckDue = now + o.healthCheckPeriodMs
      for (const e of [...inv.idle]) if (now - e.checkedAt >= o.validateAfterIdleMs) this.#host.validate(e)
    }
    this.#host.afterPass()
  }
}
