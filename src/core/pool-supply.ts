/**
 * The supply side of a pool: making resources (with backoff while creation fails), retiring them,
 * and keeping `min`/`minIdle`. The lending path (pool.ts) asks it for resources and hears back
 * through a small host interface; it never reaches into waiters or leases.
 */
import { CreateBackoff } from './create-backoff.js'
import { channels } from './diagnostics.js'
import { LatencyHistogram } from './latency-histogram.js'
import type { LifecycleState } from './lifecycle.js'
import { type DestroyReason, PoolEntry } from './pool-entry.js'
import type { PoolInventory } from './pool-inventory.js'
import type { ResolvedPoolOptions } from './pool-options.js'
import type { PoolCounters } from './pool-stats.js'
import { CreateJobs, DestroyJobs } from './resource-jobs.js'
import { unrefTimeout } from './timers.js'

/** What the supply needs from its pool. */
export interface SupplyHost<T> {
  readonly state: LifecycleState
  /** Callers waiting for a resource. */
  waiting(): number
  /** A new resource is ready to be lent or kept idle. */
  created(e: PoolEntry<T>, now: number): void
  /** A create failed; `delay` is the backoff before the next attempt. */
  createFailed(cause: unknown, delay: number): void
  /** The backoff after a failure ended: try again for whoever still needs a resource. */
  retry(): void
  /** A create or a destroy callback ended: a close may be drained now. */
  maybeDrained(): void
}

export class PoolSupply<T> {
  readonly backoff: CreateBackoff
  readonly #o: ResolvedPoolOptions<T>
  readonly #inv: PoolInventory<T>
  readonly #counters: PoolCounters
  readonly #host: SupplyHost<T>
  readonly #byResource = new Map<T, PoolEntry<T>>()
  readonly #creates: CreateJobs<T>
  readonly #destroys: DestroyJobs<T>
  /** Durations of the creates that succeeded, start to resource, in ms (`stats().createMs`). */
  readonly createHistogram = new LatencyHistogram()
  #retryTimer: NodeJS.Timeout | undefined

  constructor(o: ResolvedPoolOptions<T>, inv: PoolInventory<T>, counters: PoolCounters, host: SupplyHost<T>) {
    this.#o = o
    this.#inv = inv
    this.#counters = counters
    this.#host = host
    this.backoff = new CreateBackoff(o.backoffInitialMs, o.backoffMaxMs, o.random)
    this.#creates = new CreateJobs(o.name, o.create, o.createTimeoutMs)
    this.#destroys = new DestroyJobs(
      o.destroy,
      o.destroyTimeoutMs,
      () => {
        this.#counters.destroyErrors++
      },
      () => host.maybeDrained(),
    )
  }

  /** Destroy callbacks still running. */
  get destroying(): number {
    return this.#destroys.pending
  }

  /** The entry of a resource this pool owns (not being destroyed). */
  entryOf(resource: T): PoolEntry<T> | undefined {
    return this.#byResource.get(resource)
  }

  /** Keeps `min` resources and `minIdle` idle ones, while the pool is open. */
  replenish(): void {
    if (this.#host.state !== 'open') return
    const inv = this.#inv
    const now = this.#o.clock()
    let need = Math.max(this.#o.min - inv.total, this.#o.minIdle - inv.idle.length - inv.creating)
    while (need-- > 0 && this.#canCreate(now)) this.#startCreate()
  }

  /** Starts up to `count` creates for waiting callers, as far as `max` and the backoff allow. */
  grow(count: number, now: number): void {
    for (let i = 0; i < count && this.#canCreate(now); i++) this.#startCreate()
  }

  /** Destroys an entry (idempotent) and counts why. */
  retire(e: PoolEntry<T>, reason: DestroyReason): void {
    if (e.state === 'destroying') return
    if (e.state === 'shared') this.#inv.sharedLeases -= e.sharedLeases
    this.#inv.move(e, 'destroying')
    this.#byResource.delete(e.resource)
    this.#counters.destroys[reason]++
    if (channels.destroy.hasSubscribers) channels.destroy.publish({ pool: this.#o.name, reason })
    void this.#destroys.run(e.resource)
  }

  /** Keeps the process up for the pending retry: somebody awaits its outcome. */
  holdRetry(): void {
    this.#retryTimer?.ref()
  }

  /** Forced shutdown, step one: abort creates in progress and stop retrying. */
  abort(cause: unknown): void {
    this.stop()
    this.#creates.abortAll(cause)
  }

  /** Forced shutdown, step two: resolves once creates and destroy callbacks settled or timed out. */
  async settled(): Promise<void> {
    // Creates were aborted; a factory that ignores its signal is waited for only so long.
    await this.#creates.settled(this.#o.destroyTimeoutMs)
    await this.#destroys.settled()
  }

  stop(): void {
    clearTimeout(this.#retryTimer)
  }

  #canCreate(now: number): boolean {
    const state = this.#host.state
    if (state !== 'open' && state !== 'closing') return false
    if (this.#inv.total >= this.#o.max) return false
    // While creation keeps failing, one attempt at a time after each backoff delay: no stampede.
    return this.backoff.allows(now, this.#inv.creating)
  }

  #startCreate(): void {
    this.#inv.creating++
    const started = this.#o.clock()
    this.#creates.start(
      (r) => {
        this.createHistogram.record(this.#o.clock() - started)
        this.#created(r)
      },
      (err) => this.#createFailed(err),
      (r) => void this.#destroys.run(r),
    )
  }

  #created(resource: T): void {
    this.#inv.creating--
    this.backoff.succeeded()
    const state = this.#host.state
    if (state === 'destroying' || state === 'closed') {
      void this.#destroys.run(resource)
      return
    }
    const o = this.#o
    const now = o.clock()
    let capacity = 1
    if (typeof o.capacity === 'number') capacity = o.capacity
    else {
      const n = o.capacity(resource)
      capacity = Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1
    }
    const e = new PoolEntry(
      resource,
      now,
      now + o.maxLifetimeMs + o.maxLifetimeJitterMs * o.random(),
      capacity,
    )
    this.#byResource.set(resource, e)
    this.#counters.creates++
    if (channels.create.hasSubscribers) channels.create.publish({ pool: o.name })
    this.#host.created(e, now)
    this.replenish()
  }

  #createFailed(cause: unknown): void {
    this.#inv.creating--
    this.#counters.createFailures++
    const delay = this.backoff.failed(cause, this.#o.clock())
    const state = this.#host.state
    if (state === 'destroying' || state === 'closed') return
    this.#host.createFailed(cause, delay)
    clearTimeout(this.#retryTimer)
    this.#retryTimer = unrefTimeout(() => {
      this.#retryTimer = undefined
      // The timer firing is the end of the backoff. Node's timers run on the event loop's cached
      // millisecond clock and may fire a little before `backoffUntil` by performance.now():
      // trusting the clock here would skip the retry and leave nothing to schedule the next one.
      this.backoff.expire()
      this.replenish()
      this.#host.retry()
    }, delay)
    if (this.#host.waiting() > 0) this.#retryTimer?.ref() // callers wait on this retry
    this.#host.maybeDrained()
  }
}
