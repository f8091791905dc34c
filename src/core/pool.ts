import { EventEmitter } from 'node:events'
import { type AcquireOptions, checkAcquireOptions } from './acquire-options.js'
import { CreateBackoff } from './create-backoff.js'
import { channels } from './diagnostics.js'
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  CloseTimeoutError,
  CreateFailedError,
  InvalidOptionError,
  PoolClosedError,
  PoolDestroyedError,
  type PoolErrorContext,
  QueueFullError,
} from './errors.js'
import { LatencyHistogram } from './latency-histogram.js'
import { LeakDetector, type LeakReport, captureTrace } from './leak-detector.js'
import { Lease, type LeaseOwner, kGiveBack } from './lease.js'
import { type DestroyReason, PoolEntry } from './pool-entry.js'
import { PoolInventory } from './pool-inventory.js'
import { type PoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from './pool-options.js'
import { type PoolState, type PoolStats, newCounters } from './pool-stats.js'
import { ReadyGate } from './ready-gate.js'
import { CreateJobs, DestroyJobs } from './resource-jobs.js'
import { unrefInterval, unrefTimeout, withDeadline } from './timers.js'
import { WaitList, Waiter, capture, captured, settleWaiter } from './wait-list.js'

/** Options of `close()`. */
export interface CloseOptions {
  /** How long to wait for leases to come back before escalating to `destroy()`. Default 30000. */
  timeoutMs?: number
}

/** Events a pool emits. It never emits `'error'`: nothing a pool does can crash a process that does not listen. */
export interface PoolEvents {
  leak: [LeakReport]
  createError: [unknown]
}

type Trace = { stack?: string } | undefined

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
export class Pool<T> extends EventEmitter<PoolEvents> implements LeaseOwner<T> {
  readonly #o: ResolvedPoolOptions<T>
  #state: PoolState = 'open'
  readonly #inv: PoolInventory<T>
  readonly #waiters: WaitList<T>
  /** Waiters taken off the queue while the idle resource meant for them is validated. */
  readonly #validatingFor = new Map<PoolEntry<T>, Waiter<T>>()
  readonly #byResource = new Map<T, PoolEntry<T>>()
  readonly #creates: CreateJobs<T>
  readonly #destroys: DestroyJobs<T>
  readonly #ready = new ReadyGate()
  readonly #leaks: LeakDetector<Lease<T>> | undefined
  readonly #counters = newCounters()
  readonly #waitHistogram = new LatencyHistogram()
  readonly #backoff: CreateBackoff
  /** When the next background health check is due, on the pool clock. */
  #healthCheckDue: number
  #retryTimer: NodeJS.Timeout | undefined
  #maintenanceTimer: NodeJS.Timeout | undefined
  #closeTimer: NodeJS.Timeout | undefined
  #closePromise: Promise<void> | undefined
  #destroyPromise: Promise<void> | undefined
  #onClosed: (() => void) | undefined
  #pumping = false
  #pumpAgain = false

  /** @throws InvalidOptionError naming the field and value at fault */
  constructor(options: PoolOptions<T>) {
    super()
    const o = resolvePoolOptions(options)
    this.#o = o
    this.#inv = new PoolInventory(o.name)
    this.#waiters = new WaitList(
      o.clock,
      (w) => this.#abandon(w, 'timeout'),
      () => this.#validatingFor.values(),
    )
    this.#healthCheckDue = o.clock() + o.healthCheckPeriodMs
    const period = Math.max(10, Math.min(o.healthCheckPeriodMs, o.maxIdleMs / 2, o.maxLifetimeMs / 2))
    this.#maintenanceTimer = unrefInterval(() => this.#maintain(), period)
    this.#backoff = new CreateBackoff(o.backoffInitialMs, o.backoffMaxMs, o.random)
    this.#creates = new CreateJobs(o.name, o.create, o.createTimeoutMs)
    this.#destroys = new DestroyJobs(
      o.destroy,
      o.destroyTimeoutMs,
      () => {
        this.#counters.destroyErrors++
      },
      () => this.#checkDrained(),
    )
    if (Number.isFinite(o.leakDetectionMs)) {
      this.#leaks = new LeakDetector(o.name, o.leakDetectionMs, o.clock, (r) => this.#reportLeak(r))
    }
    this.#replenish()
  }

  /** The pool's name, as given in the options. */
  get name(): string {
    return this.#o.name
  }

  /** `'open'`, `'closing'` (draining), `'destroying'` or `'closed'`. */
  get state(): PoolState {
    return this.#state
  }

  /**
   * Lends a resource: an idle one (most recently used first), a new one while under `max`, or the
   * first one given back, in FIFO order of the callers.
   * @throws PoolClosedError, AcquireTimeoutError, AcquireAbortedError, QueueFullError, CreateFailedError
   */
  acquire(options?: AcquireOptions): Promise<Lease<T>> {
    if (this.#state !== 'open') return Promise.reject(new PoolClosedError(this.#context()))
    let shared = false
    let signal: AbortSignal | undefined
    let timeoutMs = this.#o.acquireTimeoutMs
    if (options !== undefined) {
      const bad = checkAcquireOptions(options)
      if (bad) return Promise.reject(bad)
      shared = options.shared === true
      signal = options.signal
      if (options.timeoutMs !== undefined) timeoutMs = options.timeoutMs
    }
    this.#counters.acquires++ // every well-formed call counts, including one already aborted
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#counters.cancellations++
        return Promise.reject(new AcquireAbortedError(this.#context(), signal.reason))
      }
    }
    const trace = this.#leaks ? captureTrace(Pool.prototype.acquire) : undefined
    const now = this.#o.clock()
    const inv = this.#inv
    if (this.#waiters.size === 0) {
      const e = this.#takeFree(shared, now)
      if (e !== undefined) return this.#lendNow(e, shared, now, trace)
    }
    if (this.#backoff.until > now && inv.live === 0 && inv.creating === 0) {
      this.#counters.failedFast++
      return Promise.reject(this.#createFailedError(this.#backoff.until - now))
    }
    if (this.#waiters.size >= this.#o.maxWaiting) {
      this.#counters.queueFull++
      return Promise.reject(new QueueFullError(this.#context(), this.#o.maxWaiting))
    }
    this.#counters.waitedAcquires++
    const promise = new Promise<Lease<T>>(capture)
    const w = new Waiter<T>(shared, this.#waiters.nextSeq(), now, timeoutMs, signal, trace, captured)
    if (signal !== undefined) {
      w.onAbort = () => this.#abandon(w, 'abort')
      signal.addEventListener('abort', w.onAbort, { once: true })
    }
    this.#waiters.push(w)
    // Nothing was free for this caller (or others were ahead): only demand can change.
    if (inv.idle.length > 0) this.#pump()
    else this.#demand(now)
    return promise
  }

  /**
   * Lends at once what is free, without waiting or creating: a shared slot (with `shared`) or an
   * idle resource that needs no validation. Returns undefined when nothing is, or when callers are
   * already waiting (they come first); `acquire()` then waits its turn. For callers that must stay
   * synchronous, such as a gRPC channel's `createCall`.
   * @throws PoolClosedError when the pool is closing or closed
   */
  tryAcquire(options?: { shared?: boolean }): Lease<T> | undefined {
    // On a hot path (one call per gRPC call): two typeof checks, the rest only for bad input.
    let shared = false
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        throw new InvalidOptionError('tryAcquire options', options, 'an object')
      }
      shared = options.shared === true
      if (!shared && options.shared !== undefined && options.shared !== false) {
        throw new InvalidOptionError('shared', options.shared, 'a boolean')
      }
    }
    if (this.#state !== 'open') throw new PoolClosedError(this.#context())
    if (this.#waiters.size > 0) return undefined
    const now = this.#o.clock()
    const e = this.#takeFree(shared, now)
    if (e === undefined) return undefined
    this.#counters.acquires++
    this.#waitHistogram.record(0)
    return this.#lend(e, shared, now, this.#leaks ? captureTrace(Pool.prototype.tryAcquire) : undefined)
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
    if (this.#state !== 'open') return Promise.reject(new PoolClosedError(this.#context()))
    if (this.#inv.live >= this.#o.min) return Promise.resolve()
    const waiting = this.#ready.wait(options?.signal, () => this.#context())
    // Whoever awaits ready() is owed an answer: keep the process up for the pending retry.
    this.#retryTimer?.ref()
    this.#replenish()
    return waiting
  }

  /**
   * Reports a resource as broken from outside a lease (say, an idle connection that emitted an
   * error): an idle one is destroyed and replaced at once, a lent one when it comes back.
   * @returns false when the resource is not (or no longer) in this pool
   */
  invalidate(resource: T): boolean {
    const e = this.#byResource.get(resource)
    if (e === undefined) return false
    if (e.state === 'idle') {
      this.#destroyEntry(e, 'error')
      this.#afterLoss()
    } else {
      e.retire = 'error'
    }
    return true
  }

  /** A frozen snapshot of gauges, counters and acquire-wait percentiles. */
  stats(): PoolStats {
    const inv = this.#inv
    const c = this.#counters
    return Object.freeze({
      name: this.#o.name,
      state: this.#state,
      total: inv.total,
      idle: inv.idle.length,
      leased: inv.leased,
      shared: inv.shared,
      sharedLeases: inv.sharedLeases,
      validating: inv.validating,
      creating: inv.creating,
      destroying: this.#destroys.pending,
      waiting: this.#waiters.size + this.#validatingFor.size,
      max: this.#o.max,
      min: this.#o.min,
      consecutiveCreateFailures: this.#backoff.failures,
      lastCreateError: this.#backoff.lastError === undefined ? undefined : messageOf(this.#backoff.lastError),
      counters: Object.freeze({ ...c, destroys: Object.freeze({ ...c.destroys }) }),
      acquireWaitMs: this.#waitHistogram.summary(),
      resourceAgeMs: inv.ages(this.#o.clock()),
    })
  }

  /**
   * Graceful shutdown: refuses new acquires at once, serves callers already waiting, lets leases
   * come back, then destroys every resource. After `timeoutMs` it escalates to `destroy()`.
   * Idempotent: every call returns the same promise, which never rejects.
   */
  close(options?: CloseOptions): Promise<void> {
    const timeoutMs = options?.timeoutMs ?? 30_000
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(new InvalidOptionError('timeoutMs', timeoutMs, 'a duration in milliseconds >= 0'))
    }
    if (this.#closePromise) return this.#closePromise
    this.#closePromise = new Promise<void>((resolve) => {
      this.#onClosed = resolve
    })
    if (this.#state === 'open') {
      this.#state = 'closing'
      clearInterval(this.#maintenanceTimer)
      this.#ready.fail(new PoolClosedError(this.#context()))
      if (Number.isFinite(timeoutMs)) {
        // Ref'ed on purpose: whoever awaits close() is owed an answer within timeoutMs.
        this.#closeTimer = setTimeout(() => {
          const lent = this.#inv.leased + this.#inv.shared
          void this.destroy(new CloseTimeoutError(this.#o.name, timeoutMs, lent))
        }, timeoutMs)
      }
      this.#checkDrained()
    } else if (this.#state === 'closed') {
      this.#onClosed?.()
    }
    return this.#closePromise
  }

  /**
   * Forced shutdown: rejects every waiter with `PoolDestroyedError` (cause: `reason`), aborts
   * creates in progress and destroys every resource, lent ones included (a later `release()` of
   * their leases is a no-op). Idempotent; resolves once destroy callbacks finished or timed out.
   */
  destroy(reason?: unknown): Promise<void> {
    if (this.#destroyPromise) return this.#destroyPromise
    if (this.#state === 'closed') {
      this.#destroyPromise = Promise.resolve()
      return this.#destroyPromise
    }
    this.#state = 'destroying'
    this.#clearTimers()
    const cause = reason ?? new PoolDestroyedError(this.#context())
    this.#creates.abortAll(cause)
    const err = new PoolDestroyedError(this.#context(), { cause })
    for (const w of [...this.#waiters.drain(), ...this.#validatingFor.values()]) {
      if (settleWaiter(w)) w.reject(err)
    }
    this.#validatingFor.clear()
    this.#ready.fail(err)
    for (const e of [...this.#inv.entries]) this.#destroyEntry(e, 'close')
    this.#destroyPromise = (async () => {
      // Creates were aborted; a factory that ignores its signal is waited for only so long.
      await this.#creates.settled(this.#o.destroyTimeoutMs)
      await this.#destroys.settled()
      this.#finish()
    })()
    return this.#destroyPromise
  }

  /** `await using pool = new Pool(...)` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /** @internal Called by a lease when it is given back. */
  [kGiveBack](lease: Lease<T>, e: PoolEntry<T>, destroy: boolean, cause: unknown): void {
    if (!destroy && this.#handOff(lease, e)) return
    this.#giveBack(lease, e, destroy, cause)
  }

  /**
   * The hot path of a release under load: a healthy exclusive resource goes straight to the
   * oldest caller, an exclusive one, with no one to tell (no leak tracking, no diagnostics
   * subscriber). Returns false, having changed nothing, for every other case, which
   * `#giveBack` handles. Kept small so that V8 inlines it into `lease.release()`.
   */
  #handOff(lease: Lease<T>, e: PoolEntry<T>): boolean {
    const waiters = this.#waiters
    const w = waiters.exclusive.head
    if (
      w === undefined ||
      waiters.shared.size > 0 ||
      lease.shared ||
      e.state !== 'leased' ||
      e.retire !== undefined ||
      e.draining ||
      this.#leaks !== undefined ||
      channels.release.hasSubscribers ||
      channels.acquire.hasSubscribers ||
      (this.#state !== 'open' && this.#state !== 'closing')
    ) {
      return false
    }
    const now = this.#o.clock()
    if (now >= e.expiresAt) return false
    this.#counters.releases++
    e.checkedAt = now
    this.#served(w, now)
    // What `#lend` does for an exclusive lease of an entry already leased, with no leak tracking
    // and no acquire subscriber (checked above).
    w.resolve(new Lease<T>(this, e, false, now, w.trace))
    return true
  }

  /** Every release: counts it, tells subscribers, then retires the resource or reuses it. */
  #giveBack(lease: Lease<T>, e: PoolEntry<T>, destroy: boolean, cause: unknown): void {
    this.#counters.releases++
    this.#leaks?.untrack(lease)
    if (channels.release.hasSubscribers) {
      channels.release.publish({ pool: this.#o.name, shared: lease.shared, destroy, cause })
    }
    if (e.state === 'destroying') return // destroyed under its holder by destroy()
    if (destroy) e.retire = 'error'
    if (lease.shared) {
      e.sharedLeases--
      this.#inv.sharedLeases--
      if (e.sharedLeases > 0) {
        if (this.#waiters.shared.size > 0 && e.retire === undefined && !e.draining) this.#pump()
        return
      }
    }
    const now = this.#o.clock()
    if (e.retire === undefined && now >= e.expiresAt) e.retire = 'lifetime'
    if (e.retire !== undefined) {
      this.#destroyEntry(e, e.retire)
      this.#afterLoss()
      return
    }
    this.#reuse(e, now)
  }

  // --- lending -------------------------------------------------------------------------------

  /** Hands an entry that is free again to the next waiter it can serve, or makes it idle. */
  #reuse(e: PoolEntry<T>, now: number): void {
    e.checkedAt = now
    const wasDraining = e.draining
    e.draining = false
    if (this.#state === 'open' || this.#state === 'closing') {
      // A drained entry goes to the exclusive waiter it was drained for, not to an older shared one.
      const w = wasDraining ? this.#waiters.exclusive.head : this.#waiters.oldest()
      if (w !== undefined && !w.shared) {
        this.#grant(w, e, now)
        return
      }
    }
    e.idleSince = now
    this.#inv.move(e, 'idle')
    if (this.#waiters.size > 0) this.#pump()
    else this.#checkDrained()
  }

  /**
   * What a caller arriving now can have without waiting: for a shared caller the least busy shared
   * entry with room (or, with `spreadShared`, an idle entry before a busy one); else the most
   * recently used idle entry, unless it must be validated first. Expired idle entries met on the way
   * are retired.
   */
  #takeFree(shared: boolean, now: number): PoolEntry<T> | undefined {
    const inv = this.#inv
    const busy = shared ? inv.pickShared(this.#o.canShare) : undefined
    if (busy !== undefined && (busy.sharedLeases === 0 || !this.#o.spreadShared)) return busy
    let lost = false
    let found: PoolEntry<T> | undefined
    while (inv.idle.length > 0) {
      const idle = inv.idle[inv.idle.length - 1]!
      if (now >= idle.expiresAt) {
        this.#destroyEntry(idle, 'lifetime')
        lost = true
        continue
      }
      if (!this.#needsValidation(idle, now)) found = idle
      break
    }
    if (lost) this.#replenish()
    return found ?? busy
  }

  #lendNow(e: PoolEntry<T>, shared: boolean, now: number, trace: Trace): Promise<Lease<T>> {
    this.#waitHistogram.record(0)
    return Promise.resolve(this.#lend(e, shared, now, trace))
  }

  #lend(e: PoolEntry<T>, shared: boolean, now: number, trace: Trace): Lease<T> {
    if (shared) {
      if (e.state !== 'shared') this.#inv.move(e, 'shared')
      e.sharedLeases++
      this.#inv.sharedLeases++
    } else if (e.state !== 'leased') {
      this.#inv.move(e, 'leased')
    }
    const lease = new Lease<T>(this, e, shared, now, trace)
    this.#leaks?.track(lease)
    if (channels.acquire.hasSubscribers) channels.acquire.publish({ pool: this.#o.name, shared })
    return lease
  }

  #grant(w: Waiter<T>, e: PoolEntry<T>, now: number): void {
    this.#served(w, now)
    w.resolve(this.#lend(e, w.shared, now, w.trace))
  }

  /**
   * Takes a waiter that is being served off its queue: settles it (dropping its abort listener),
   * drops the deadline timer once nobody waits, and records how long it waited.
   */
  #served(w: Waiter<T>, now: number): void {
    const waiters = this.#waiters
    waiters.remove(w)
    if (w.onAbort !== undefined) settleWaiter(w)
    else w.settled = true
    if (waiters.size === 0) waiters.disarmIfEmpty(this.#validatingFor.size)
    this.#waitHistogram.record(now - w.enqueuedAt)
  }

  #needsValidation(e: PoolEntry<T>, now: number): boolean {
    return this.#o.validate !== undefined && now - e.checkedAt > this.#o.validateAfterIdleMs
  }

  /**
   * Serves waiters, oldest first, with what is free: a shared slot for shared callers (they may
   * pass an exclusive caller that no slot could serve anyway), else an idle entry. Stops at the
   * first caller nothing can serve, so a long queue costs nothing; then creates for the rest.
   */
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true
      return
    }
    this.#pumping = true
    try {
      do {
        this.#pumpAgain = false
        this.#serve()
      } while (this.#pumpAgain)
    } finally {
      this.#pumping = false
    }
  }

  #serve(): void {
    if (this.#state !== 'open' && this.#state !== 'closing') return
    const now = this.#o.clock()
    const waiters = this.#waiters
    for (;;) {
      const sh = waiters.shared.head
      if (sh !== undefined) {
        const e = this.#inv.pickShared(this.#o.canShare)
        // With spreadShared, a busy entry waits while an idle one can take the caller below.
        if (
          e !== undefined &&
          (!this.#o.spreadShared || e.sharedLeases === 0 || this.#inv.idle.length === 0)
        ) {
          this.#grant(sh, e, now)
          continue
        }
      }
      const w = waiters.oldest()
      if (w === undefined || !this.#serveFromIdle(w, now)) break
    }
    this.#demand(now)
  }

  /** Gives `w` an idle entry, validating it first if it sat idle too long. False if none is idle. */
  #serveFromIdle(w: Waiter<T>, now: number): boolean {
    const idle = this.#inv.idle
    while (idle.length > 0) {
      const e = idle[idle.length - 1]!
      if (now >= e.expiresAt) {
        this.#destroyEntry(e, 'lifetime')
        continue
      }
      if (this.#needsValidation(e, now)) {
        this.#waiters.remove(w)
        void this.#validate(e, w)
      } else {
        this.#grant(w, e, now)
      }
      return true
    }
    return false
  }

  /** Starts the creates that waiting callers need, and drains a shared entry when the budget is spent. */
  #demand(now: number): void {
    const waiters = this.#waiters
    const inv = this.#inv
    if (inv.total < this.#o.max) {
      const cap = typeof this.#o.capacity === 'number' ? this.#o.capacity : 1
      let toCreate = waiters.exclusive.size + Math.ceil(waiters.shared.size / cap) - inv.creating
      while (toCreate-- > 0 && this.#canCreate(now)) this.#startCreate()
    }
    if (inv.shared === 0) return
    if (waiters.exclusive.size === 0) inv.undrain()
    else if (inv.total >= this.#o.max) inv.drainOneShared()
  }

  // --- creating ------------------------------------------------------------------------------

  #canCreate(now: number): boolean {
    if (this.#state !== 'open' && this.#state !== 'closing') return false
    if (this.#inv.total >= this.#o.max) return false
    // While creation keeps failing, one attempt at a time after each backoff delay: no stampede.
    return this.#backoff.allows(now, this.#inv.creating)
  }

  /** Keeps `min` resources and `minIdle` idle ones. */
  #replenish(): void {
    if (this.#state !== 'open') return
    const inv = this.#inv
    const now = this.#o.clock()
    let need = Math.max(this.#o.min - inv.total, this.#o.minIdle - inv.idle.length - inv.creating)
    while (need-- > 0 && this.#canCreate(now)) this.#startCreate()
  }

  #startCreate(): void {
    this.#inv.creating++
    this.#creates.start(
      (r) => this.#created(r),
      (err) => this.#createFailed(err),
      (r) => void this.#destroys.run(r),
    )
  }

  #created(resource: T): void {
    this.#inv.creating--
    this.#backoff.succeeded()
    if (this.#state === 'destroying' || this.#state === 'closed') {
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
    this.#reuse(e, now)
    if (this.#inv.live >= o.min) this.#ready.open()
    this.#replenish()
  }

  #createFailed(cause: unknown): void {
    this.#inv.creating--
    this.#counters.createFailures++
    const delay = this.#backoff.failed(cause, this.#o.clock())
    if (this.#state === 'destroying' || this.#state === 'closed') return
    if (this.listenerCount('createError') > 0) this.emit('createError', cause)
    // The callers waiting hear the cause: all of them when nothing could serve them any more,
    // else the oldest, on whose behalf the create was made.
    const err = this.#createFailedError(delay)
    const doomed = this.#inv.live === 0 && this.#inv.creating === 0 ? this.#waiters.drain() : []
    const oldest = this.#waiters.oldest()
    if (oldest !== undefined) {
      this.#waiters.remove(oldest)
      doomed.push(oldest)
    }
    for (const w of doomed) if (settleWaiter(w)) w.reject(err)
    this.#waiters.disarmIfEmpty(this.#validatingFor.size)
    this.#ready.fail(err)
    clearTimeout(this.#retryTimer)
    this.#retryTimer = unrefTimeout(() => {
      this.#retryTimer = undefined
      // The timer firing is the end of the backoff. Node's timers run on the event loop's cached
      // millisecond clock and may fire a little before `backoffUntil` by performance.now():
      // trusting the clock here would skip the retry and leave nothing to schedule the next one.
      this.#backoff.expire()
      this.#replenish()
      this.#pump()
    }, delay)
    if (this.#waiters.size > 0) this.#retryTimer?.ref() // callers wait on this retry
    this.#checkDrained()
  }

  #createFailedError(retryInMs?: number): CreateFailedError {
    const b = this.#backoff
    return new CreateFailedError(this.#context(), b.lastError, b.failures, retryInMs)
  }

  // --- validating ----------------------------------------------------------------------------

  /** Validates `e`; on success it goes to `w` (if still waiting) or back to idle. */
  async #validate(e: PoolEntry<T>, w: Waiter<T> | undefined): Promise<void> {
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
      this.#destroyEntry(e, e.retire)
      if (waiting !== undefined) this.#waiters.unshift(waiting) // it keeps its turn
      this.#afterLoss()
      return
    }
    const now = o.clock()
    e.checkedAt = now
    if (waiting !== undefined) this.#grant(waiting, e, now)
    else {
      this.#inv.move(e, 'idle')
      if (this.#waiters.size > 0) this.#pump()
      else this.#checkDrained()
    }
  }

  // --- destroying ----------------------------------------------------------------------------

  #destroyEntry(e: PoolEntry<T>, reason: DestroyReason): void {
    if (e.state === 'destroying') return
    if (e.state === 'shared') this.#inv.sharedLeases -= e.sharedLeases
    this.#inv.move(e, 'destroying')
    this.#byResource.delete(e.resource)
    this.#counters.destroys[reason]++
    if (channels.destroy.hasSubscribers) channels.destroy.publish({ pool: this.#o.name, reason })
    void this.#destroys.run(e.resource)
  }

  /** After a resource is gone: refill to min and serve waiters with a new one. */
  #afterLoss(): void {
    this.#replenish()
    if (this.#waiters.size > 0) this.#pump()
    else this.#checkDrained()
  }

  // --- lifecycle -----------------------------------------------------------------------------

  /** While closing: once nothing is lent, waited for, created or validated, destroys the rest. */
  #checkDrained(): void {
    if (this.#state !== 'closing' || this.#waiters.size > 0) return
    const inv = this.#inv
    for (const e of [...inv.idle]) this.#destroyEntry(e, 'close')
    if (inv.live > 0 || inv.creating > 0) return
    if (this.#destroys.pending > 0) return
    this.#finish()
  }

  #finish(): void {
    this.#state = 'closed'
    this.#clearTimers()
    this.#onClosed?.()
  }

  #clearTimers(): void {
    clearInterval(this.#maintenanceTimer)
    this.#leaks?.stop()
    clearTimeout(this.#retryTimer)
    clearTimeout(this.#closeTimer)
    this.#waiters.stop()
  }

  /** Background upkeep: retire expired idle resources, reap idle ones above min, health-check. */
  #maintain(): void {
    if (this.#state !== 'open') return
    const o = this.#o
    const inv = this.#inv
    const now = o.clock()
    for (const e of [...inv.idle]) {
      if (now >= e.expiresAt) this.#destroyEntry(e, 'lifetime')
      else if (now - e.idleSince >= o.maxIdleMs && inv.total > o.min && inv.idle.length > o.minIdle) {
        this.#destroyEntry(e, 'idle')
      }
    }
    for (const e of inv.inState('shared')) if (now >= e.expiresAt) e.retire ??= 'lifetime'
    // A small tolerance: maintenance timers may fire slightly early by the pool clock, and a
    // check judged "not yet due" would wait a whole period more.
    if (o.validate !== undefined && now + TIMER_SLACK_MS >= this.#healthCheckDue) {
      // Keep to the schedule: a run that starts late must not push the next one back.
      this.#healthCheckDue += o.healthCheckPeriodMs
      if (this.#healthCheckDue <= now) this.#healthCheckDue = now + o.healthCheckPeriodMs
      for (const e of [...inv.idle])
        if (now - e.checkedAt >= o.validateAfterIdleMs) void this.#validate(e, undefined)
    }
    this.#afterLoss()
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

  /** A waiter gives up (its signal aborted or its deadline passed); it can never get a resource later. */
  #abandon(w: Waiter<T>, why: 'abort' | 'timeout'): void {
    if (w.settled) return
    const context = this.#context() // taken while the waiter still counts
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
    this.#pump()
    this.#checkDrained()
  }

  #context(): PoolErrorContext {
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

/** How early a timer may fire by performance.now(): libuv timers run on a cached ms clock. */
const TIMER_SLACK_MS = 2

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
