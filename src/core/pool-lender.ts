/**
 * The lending path of a pool: callers waiting in FIFO order, idle resources lent most recently
 * used first, shared slots on the least busy resource, validation before a lend, and the fast
 * hand-off of a released resource to the oldest waiter. The Pool (pool.ts) owns the lifecycle
 * and the public API; the supply (pool-supply.ts) makes and retires resources. Elsewhere: choosing
 * (pool-choices.ts), validating (pool-validation.ts), letting callers go (pool-refusals.ts).
 */
import { type AcquireOptions, checkAcquireOptions, tryAcquireShared } from './acquire-options.js'
import { channels } from './diagnostics.js'
import {
  AcquireAbortedError,
  PoolClosedError,
  type PoolError,
  type PoolErrorContext,
  QueueFullError,
} from './errors.js'
import type { LatencyHistogram } from './latency-histogram.js'
import { type LeakDetector, captureTrace } from './leak-detector.js'
import { Lease, type LeaseOwner, kGiveBack } from './lease.js'
import { demand, takeFree } from './pool-choices.js'
import type { PoolEntry } from './pool-entry.js'
import type { PoolInventory } from './pool-inventory.js'
import type { LenderHooks, LenderOwner, LenderParts } from './pool-lender-parts.js'
import type { ResolvedPoolOptions } from './pool-options.js'
import { PoolRefusals } from './pool-refusals.js'
import type { PoolCounters } from './pool-stats.js'
import type { PoolSupply } from './pool-supply.js'
import { PoolValidation, needsValidation } from './pool-validation.js'
import type { ReadyGate } from './ready-gate.js'
import { WaitList, Waiter, capture, captured, settleWaiter } from './wait-list.js'

type Trace = { stack?: string } | undefined

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
  readonly #validation: PoolValidation<T>
  readonly #refusals: PoolRefusals<T>
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
      (w) => this.#refusals.abandon(w, 'timeout'),
      () => this.#validatingFor.values(),
    )
    // The cold paths hear back through these few calls, never through the lender's internals.
    const host = {
      grant: (w: Waiter<T>, e: PoolEntry<T>, now: number) => this.#grant(w, e, now),
      pump: () => this.pump(),
      afterLoss: () => this.afterLoss(),
      maybeDrained: () => hooks.maybeDrained(),
      createError: (cause: unknown) => hooks.createError(cause),
    }
    this.#validation = new PoolValidation(parts, this.#waiters, this.#validatingFor, host)
    this.#refusals = new PoolRefusals(parts, this.#waiters, this.#validatingFor, host)
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
    this.#refusals.rejectAll(err)
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
      const e = takeFree(this.#o, inv, this.#supply, shared, now)
      if (e !== undefined) return this.#lendNow(e, shared, now, trace)
    }
    if (this.#backoff.until > now && inv.live === 0 && inv.creating === 0) {
      this.#counters.failedFast++
      return Promise.reject(this.#refusals.createFailedError(this.#backoff.until - now))
    }
    if (this.#waiters.size >= this.#o.maxWaiting) {
      this.#counters.queueFull++
      return Promise.reject(new QueueFullError(this.context(), this.#o.maxWaiting))
    }
    this.#counters.waitedAcquires++
    const promise = new Promise<Lease<T>>(capture)
    const w = new Waiter<T>(shared, this.#waiters.nextSeq(), now, timeoutMs, signal, trace, captured)
    if (signal !== undefined) {
      w.onAbort = () => this.#refusals.abandon(w, 'abort')
      signal.addEventListener('abort', w.onAbort, { once: true })
    }
    this.#waiters.push(w)
    // Nothing was free for this caller (or others were ahead): only demand can change.
    if (inv.idle.length > 0) this.pump()
    else demand(this.#o, inv, this.#supply, this.#waiters, now)
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
    const shared = options === undefined ? false : tryAcquireShared(options)
    if (this.#owner.state !== 'open') throw new PoolClosedError(this.context())
    if (this.#waiters.size > 0) return undefined
    const now = this.#o.clock()
    const e = takeFree(this.#o, this.#inv, this.#supply, shared, now)
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
    // Only a closing pool drains; checked here so an open pool's release makes no call for it.
    else if (this.#owner.state === 'closing') this.#hooks.maybeDrained()
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
    demand(this.#o, this.#inv, this.#supply, this.#waiters, now)
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
      if (needsValidation(this.#o, e, now)) {
        this.#waiters.remove(w)
        void this.#validation.validate(e, w)
      } else {
        this.#grant(w, e, now)
      }
      return true
    }
    return false
  }

  // --- supply --------------------------------------------------------------------------------

  /** A new resource: lent to a waiter or kept idle. */
  added(e: PoolEntry<T>, now: number): void {
    this.#reuse(e, now)
    if (this.#inv.live >= this.#o.min) this.#ready.open()
  }

  /** The callers waiting hear why a create failed; the supply then schedules the retry. */
  createFailed(cause: unknown, delay: number): void {
    this.#refusals.createFailed(cause, delay)
  }

  /** After a resource is gone: refill to min and serve waiters with a new one. */
  afterLoss(): void {
    this.#supply.replenish()
    if (this.#waiters.size > 0) this.pump()
    // Only a closing pool drains; checked here so an open pool's release makes no call for it.
    else if (this.#owner.state === 'closing') this.#hooks.maybeDrained()
  }

  /** Validates `e` (a health check when `w` is undefined); see pool-validation.ts. */
  validate(e: PoolEntry<T>, w: Waiter<T> | undefined): Promise<void> {
    return this.#validation.validate(e, w)
  }

  /** The counts an error reports. */
  context(): PoolErrorContext {
    return this.#refusals.context()
  }
}
