import type { AcquireOptions } from './acquire-options.js'
import { InvalidOptionError, PoolClosedError, PoolDestroyedError } from './errors.js'
import { LatencyHistogram } from './latency-histogram.js'
import { LeakDetector, type LeakReport } from './leak-detector.js'
import type { Lease } from './lease.js'
import { Lifecycle, type LifecycleState } from './lifecycle.js'
import { PoolInventory } from './pool-inventory.js'
import { PoolLender } from './pool-lender.js'
import { type PoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from './pool-options.js'
import { type PoolStats, newCounters } from './pool-stats.js'
import { PoolSupply } from './pool-supply.js'
import { PoolUpkeep } from './pool-upkeep.js'
import { ReadyGate } from './ready-gate.js'
import { type PoolAcquireContext, poolTracing, tracing } from './tracing.js'

/** Events a pool emits. It never emits `'error'`: nothing a pool does can crash a process that does not listen. */
export interface PoolEvents {
  leak: [LeakReport]
  createError: [unknown]
}

/**
 * A generic async resource pool: exclusive and shared (multiplexed) leases out of one `max`
 * budget, FIFO waiting, min/minIdle upkeep, lifetimes with jitter, idle reaping, health checks,
 * leak detection, create backoff, graceful close and frozen stats.
 *
 * ```ts
 * const pool = new Pool({ create: (signal) => connect(signal), destroy: (c) => c.end(), max: 8 })
 * await using lease = await pool.acquire({ signal })
 * await lease.resource.query('select 1')
 * ```
 */
export class Pool<T> extends Lifecycle<PoolEvents> {
  readonly #o: ResolvedPoolOptions<T>
  readonly #inv: PoolInventory<T>
  readonly #lender: PoolLender<T>
  readonly #supply: PoolSupply<T>
  readonly #upkeep: PoolUpkeep<T>
  readonly #ready = new ReadyGate()
  readonly #leaks: LeakDetector<Lease<T>> | undefined
  readonly #counters = newCounters()
  readonly #waitHistogram = new LatencyHistogram()
  readonly #backoff: PoolSupply<T>['backoff']
  /** Resolves the drain of a close. */
  #drained: (() => void) | undefined

  /** @throws InvalidOptionError naming the field and value at fault */
  constructor(options: PoolOptions<T>) {
    super()
    const pool = this
    const o = resolvePoolOptions(options)
    this.#o = o
    this.#inv = new PoolInventory(o.name)
    // The supply and upkeep hear back through these few calls, never through the pool's internals.
    this.#supply = new PoolSupply(o, this.#inv, this.#counters, {
      get state() {
        return pool.state
      },
      waiting: () => this.#lender.queued,
      created: (e, now) => this.#lender.added(e, now),
      createFailed: (cause, delay) => this.#lender.createFailed(cause, delay),
      retry: () => this.#lender.pump(),
      maybeDrained: () => this.#checkDrained(),
    })
    this.#backoff = this.#supply.backoff
    this.#upkeep = new PoolUpkeep(o, this.#inv, this.#supply, {
      get state() {
        return pool.state
      },
      validate: (e) => void this.#lender.validate(e, undefined),
      afterPass: () => this.#lender.afterLoss(),
    })
    if (Number.isFinite(o.leakDetectionMs)) {
      this.#leaks = new LeakDetector(o.name, o.leakDetectionMs, o.clock, (r) => this.#reportLeak(r))
    }
    const parts = {
      o,
      inv: this.#inv,
      counters: this.#counters,
      waitHistogram: this.#waitHistogram,
      ready: this.#ready,
      supply: this.#supply,
      leaks: this.#leaks,
    }
    this.#lender = new PoolLender(parts, this, {
      maybeDrained: () => this.#checkDrained(),
      createError: (cause) => {
        if (this.listenerCount('createError') > 0) this.emit('createError', cause)
      },
    })
    this.#supply.replenish()
  }

  /** The pool's name, as given in the options. */
  get name(): string {
    return this.#o.name
  }

  /**
   * Lends a resource: an idle one (most recently used first), a new one while under `max`, or the
   * first one given back, in FIFO order of the callers.
   * @throws PoolClosedError, AcquireTimeoutError, AcquireAbortedError, QueueFullError, CreateFailedError
   */
  acquire(options?: AcquireOptions): Promise<Lease<T>> {
    if (!tracing(poolTracing.acquire)) return this.#lender.acquire(options, Pool.prototype.acquire)
    return this.#tracedAcquire(options)
  }

  /** `acquire()` under a `berth:pool:acquire` trace (somebody subscribed). */
  #tracedAcquire(options: AcquireOptions | undefined): Promise<Lease<T>> {
    const ctx: PoolAcquireContext = { pool: this.#o.name, shared: options?.shared === true }
    const started = performance.now()
    const waited = () => {
      ctx.waitMs = performance.now() - started
    }
    return poolTracing.acquire.tracePromise(
      () =>
        this.#lender.acquire(options, Pool.prototype.acquire).then(
          (lease) => {
            waited()
            return lease
          },
          (err: unknown) => {
            waited()
            throw err
          },
        ),
      ctx,
    )
  }

  /**
   * Lends at once what is free, without waiting or creating: a shared slot (with `shared`) or an
   * idle resource that needs no validation. Returns undefined when nothing is, or when callers are
   * already waiting (they come first); `acquire()` then waits its turn. For callers that must stay
   * synchronous, such as a gRPC channel's `createCall`.
   * @throws PoolClosedError when the pool is closing or closed
   */
  tryAcquire(options?: { shared?: boolean }): Lease<T> | undefined {
    return this.#lender.tryAcquire(options, Pool.prototype.tryAcquire)
  }

  /**
   * Resolves once `min` resources exist (at once when `min` is 0). Rejects with the create error
   * if one fails first, or when the pool closes.
   */
  ready(options?: { signal?: AbortSignal }): Promise<void> {
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        return Promise.reject(new InvalidOptionError('ready options', options, 'an object'))
      }
      if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
        return Promise.reject(new InvalidOptionError('signal', options.signal, 'an AbortSignal'))
      }
    }
    if (this.state !== 'open') return Promise.reject(new PoolClosedError(this.#lender.context()))
    if (this.#inv.live >= this.#o.min) return Promise.resolve()
    const waiting = this.#ready.wait(options?.signal, () => this.#lender.context())
    // Whoever awaits ready() is owed an answer: keep the process up for the pending retry.
    this.#supply.holdRetry()
    this.#supply.replenish()
    return waiting
  }

  /**
   * Reports a resource as broken from outside a lease (say, an idle connection that emitted an
   * error): an idle one is destroyed and replaced at once, a lent one when it comes back.
   * @returns false when the resource is not (or no longer) in this pool
   */
  invalidate(resource: T): boolean {
    const e = this.#supply.entryOf(resource)
    if (e === undefined) return false
    if (e.state === 'idle') {
      this.#supply.retire(e, 'error')
      this.#lender.afterLoss()
    } else {
      e.retire = 'error'
    }
    return true
  }

  /**
   * Retires every resource (pgxpool's `Reset()`): idle ones are destroyed now and lent ones when
   * they come back, and the pool refills to `min` with new ones. For when every connection is
   * known to point at the wrong place: a failover, or a host name that now resolves elsewhere.
   * @returns how many resources were retired
   */
  reset(): number {
    let n = 0
    for (const e of [...this.#inv.entries]) if (this.invalidate(e.resource)) n++
    return n
  }

  /** A frozen snapshot of gauges, counters and acquire-wait percentiles. */
  stats(): PoolStats {
    const inv = this.#inv
    const c = this.#counters
    return Object.freeze({
      name: this.#o.name,
      state: this.state,
      total: inv.total,
      idle: inv.idle.length,
      leased: inv.leased,
      shared: inv.shared,
      sharedLeases: inv.sharedLeases,
      validating: inv.validating,
      creating: inv.creating,
      destroying: this.#supply.destroying,
      waiting: this.#lender.waiting,
      max: this.#o.max,
      min: this.#o.min,
      consecutiveCreateFailures: this.#backoff.failures,
      lastCreateError: this.#backoff.lastError === undefined ? undefined : messageOf(this.#backoff.lastError),
      counters: Object.freeze({ ...c, destroys: Object.freeze({ ...c.destroys }) }),
      acquireWaitMs: this.#waitHistogram.summary(),
      createMs: this.#supply.createHistogram.summary(),
      resourceAgeMs: inv.ages(this.#o.clock()),
    })
  }

  // --- lifecycle ----------------------------------------------------------------------------

  /** Drain: resolves once nothing is lent, waited for, created or validated, and all is destroyed. */
  protected override onClose(): Promise<void> {
    const drained = new Promise<void>((resolve) => {
      this.#drained = resolve
    })
    this.#checkDrained()
    return drained
  }

  /** Resolves once destroy callbacks finished or timed out (onTransition did the rest). */
  protected override onDestroy(): Promise<void> {
    return this.#supply.settled()
  }

  /** Resources lent out, for the message of a close that timed out. */
  protected override inUse(): number {
    return this.#inv.leased + this.#inv.shared
  }

  /** Every side effect of a change of lifecycle state. */
  protected override onTransition(_from: LifecycleState, to: LifecycleState, reason: unknown): void {
    switch (to) {
      case 'closing':
        this.#upkeep.stop()
        this.#ready.fail(new PoolClosedError(this.#lender.context()))
        return
      case 'destroying': {
        this.#clearTimers()
        const cause = reason ?? new PoolDestroyedError(this.#lender.context())
        this.#supply.abort(cause)
        const err = new PoolDestroyedError(this.#lender.context(), { cause })
        this.#lender.rejectAll(err)
        this.#ready.fail(err)
        for (const e of [...this.#inv.entries]) this.#supply.retire(e, 'close')
        return
      }
      case 'closed':
        this.#clearTimers()
        return
      case 'open':
        return
    }
  }

  /** While closing: once nothing is lent, waited for, created or validated, destroys the rest. */
  #checkDrained(): void {
    if (this.state !== 'closing' || this.#lender.queued > 0) return
    const inv = this.#inv
    for (const e of [...inv.idle]) this.#supply.retire(e, 'close')
    if (inv.live > 0 || inv.creating > 0) return
    if (this.#supply.destroying > 0) return
    this.#drained?.()
  }

  #clearTimers(): void {
    this.#upkeep.stop()
    this.#supply.stop()
    this.#leaks?.stop()
    this.#lender.stop()
  }

  #reportLeak(report: LeakReport): void {
    this.#counters.leaks++
    if (this.listenerCount('leak') > 0) this.emit('leak', report)
    else {
      process.emitWarning(
        `Pool '${report.pool}': a lease has been held for ${Math.round(report.heldMs)} ms (leakDetectionMs=${this.#o.leakDetectionMs}). Acquired at:\n${report.stack ?? '(no stack)'}`,
        { code: 'BERTH_LEASE_LEAK' },
      )
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
