/**
 * The lending path of a pool: callers waiting in FIFO order, idle resources lent most recently
 * used first, shared slots on the least busy resource, validation before a lend, and the fast
 * hand-off of a released resource to the oldest waiter. The Pool (pool.ts) owns the lifecycle
 * and the public API; the supply (pool-supply.ts) makes and retires resources.
 */
import { type AcquireOptions, checkAcquireOptions } from './acquire-options.js'
import { channels } from './diagnostics.js'
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  CreateFailedError,
  InvalidOptionError,
  PoolClosedError,
  type PoolError,
  type PoolErrorContext,
  QueueFullError,
} from './errors.js'
import type { LatencyHistogram } from './latency-histogram.js'
import { type LeakDetector, captureTrace } from './leak-detector.js'
import { Lease, type LeaseOwner, kGiveBack } from './lease.js'
import type { LifecycleState } from './lifecycle.js'
import type { PoolEntry } from './pool-entry.js'
import type { PoolInventory } from './pool-inventory.js'
import type { ResolvedPoolOptions } from './pool-options.js'
import type { PoolCounters } from './pool-stats.js'
import type { PoolSupply } from './pool-supply.js'
import type { ReadyGate } from './ready-gate.js'
import { withDeadline } from './timers.js'
import { WaitList, Waiter, capture, captured, settleWaiter } from './wait-list.js'

type Trace = { stack?: string } | undefined

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

export class PoolLender<T> implements LeaseOwner<T> {
  readonly #o: ResolvedPoolOptions<T>
  readonly #inv: PoolInventory<T>
  readonly #waiters: WaitList<T>
  /** Waiters taken off the queue while the idle resource meant for them is validated. */
  readonly #validatingFor = new Map<PoolEntry<T>, Waiter<T>>()
  readonly #supply: PoolSupply<T>
  readonly #ready: ReadyGate
  readonly #leaks: LeakDetector<Lease<T>> | undefined
  readonly #counters: PoolCounters
  readonly #waitHistogram: LatencyHistogram
  readonly #backoff: PoolSupply<T>['backoff']
  readonly #owner: LenderOwner
  readonly #hooks: LenderHooks
  #pumping = false
  #pumpAgain = false

  constructor(parts: LenderParts<T>, owner: LenderOwner, hooks: LenderHooks) {
    this.#o = parts.o
    this.#inv = parts.inv
    this.#counters = parts.counters
    this.#waitHistogram = parts.waitHistogram
    this.#ready = parts.ready
    this.#supply = parts.supply
    this.#backoff = parts.supply.backoff
    this.#leaks = parts.leaks
    this.#owner = owner
    this.#hooks = hooks
    this.#waiters = new WaitList(
      parts.o.clock,
      (w) => this.#abandon(w, 'timeout'),
      () => this.#validatingFor.values(),
    )
  }

  get name(): string {
    return this.#o.name
  }

  /** Callers waiting, those whose resource is being validated included. */
  get waiting(): number {
    return this.#waiters.size + this.#validatingFor.size
  }

  /** Callers in the queue (not those whose resource is being validated). */
  get queued(): number {
    return this.#waiters.size
  }

  /** Rejects every waiter with `err` (a forced close). */
  rejectAll(err: PoolError): void {
    for (const w of [...this.#waiters.drain(), ...this.#validatingFor.values()]) {
      if (settleWaiter(w)) w.reject(err)
    }
    this.#validatingFor.clear()
  }

  /** Stops the waiters' deadline timer. */
  stop(): void {
    this.#waiters.stop()
  }

  /**
   * Lends a resource: an idle one (most recently used first), a new one while under `max`, or the
   * first one given back, in FIFO order of the callers.
   * @throws PoolClosedError, AcquireTimeoutError, AcquireAbortedError, QueueFullError, CreateFailedError
   */
  acquire(options: AcquireOptions | undefined, traceFrom: (...args: never[]) => unknown): Promise<Lease<T>> {
    if (this.#owner.state !== 'open') return Promise.reject(new PoolClosedError(this.context()))
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
        return Promise.reject(new AcquireAbortedError(this.context(), signal.reason))
      }
    }
    const trace = this.#leaks ? captureTrace(traceFrom) : undefined
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
      return Promise.reject(new QueueFullError(this.context(), this.#o.maxWaiting))
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
    if (inv.idle.length > 0) this.pump()
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
  tryAcquire(
    options: { shared?: boolean } | undefined,
    traceFrom: (...args: never[]) => unknown,
  ): Lease<T> | undefined {
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
    if (this.#owner.state !== 'open') throw new PoolClosedError(this.context())
    if (this.#waiters.size > 0) return undefined
    const now = this.#o.clock()
    const e = this.#takeFree(shared, now)
    if (e === undefined) return undefined
    this.#counters.acquires++
    this.#waitHistogram.record(0)
    return this.#lend(e, shared, now, this.#leaks ? captureTrace(traceFrom) : undefined)
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
      (this.#owner.state !== 'open' && this.#owner.state !== 'closing')
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
        if (this.#waiters.shared.size > 0 && e.retire === undefined && !e.draining) this.pump()
        return
      }
    }
    const now = this.#o.clock()
    if (e.retire === undefined && now >= e.expiresAt) e.retire = 'lifetime'
    if (e.retire !== undefined) {
      this.#supply.retire(e, e.retire)
      this.afterLoss()
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
    if (this.#owner.state === 'open' || this.#owner.state === 'closing') {
      // A drained entry goes to the exclusive waiter it was drained for, not to an older shared one.
      const w = wasDraining ? this.#waiters.exclusive.head : this.#waiters.oldest()
      if (w !== undefined && !w.shared) {
        this.#grant(w, e, now)
        return
      }
    }
    e.idleSince = now
    this.#inv.move(e, 'idle')
    if (this.#waiters.size > 0) this.pump()
    else this.#hooks.maybeDrained()
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
        this.#supply.retire(idle, 'lifetime')
        lost = true
        continue
      }
      if (!this.#needsValidation(idle, now)) found = idle
      break
    }
    if (lost) this.#supply.replenish()
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
  pump(): void {
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
    if (this.#owner.state !== 'open' && this.#owner.state !== 'closing') return
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
        this.#supply.retire(e, 'lifetime')
        continue
      }
      if (this.#needsValidation(e, now)) {
        this.#waiters.remove(w)
        void this.validate(e, w)
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
      const toCreate = waiters.exclusive.size + Math.ceil(waiters.shared.size / cap) - inv.creating
      this.#supply.grow(toCreate, now)
    }
    if (inv.shared === 0) return
    if (waiters.exclusive.size === 0) inv.undrain()
    else if (inv.total >= this.#o.max) inv.drainOneShared()
  }

  // --- supply --------------------------------------------------------------------------------

  /** A new resource: lent to a waiter or kept idle. */
  added(e: PoolEntry<T>, now: number): void {
    this.#reuse(e, now)
    if (this.#inv.live >= this.#o.min) this.#ready.open()
  }

  /** The callers waiting hear why a create failed; the supply then schedules the retry. */
  createFailed(cause: unknown, delay: number): void {
    this.#hooks.createError(cause)
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
  }

  #createFailedError(retryInMs?: number): CreateFailedError {
    const b = this.#backoff
    return new CreateFailedError(this.context(), b.lastError, b.failures, retryInMs)
  }

  // --- validating ----------------------------------------------------------------------------

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
      this.afterLoss()
      return
    }
    const now = o.clock()
    e.checkedAt = now
    if (waiting !== undefined) this.#grant(waiting, e, now)
    else {
      this.#inv.move(e, 'idle')
      if (this.#waiters.size > 0) this.pump()
      else this.#hooks.maybeDrained()
    }
  }

  /** After a resource is gone: refill to min and serve waiters with a new one. */
  afterLoss(): void {
    this.#supply.replenish()
    if (this.#waiters.size > 0) this.pump()
    else this.#hooks.maybeDrained()
  }

  /** A waiter gives up (its signal aborted or its deadline passed); it can never get a resource later. */
  #abandon(w: Waiter<T>, why: 'abort' | 'timeout'): void {
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
    this.pump()
    this.#hooks.maybeDrained()
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
