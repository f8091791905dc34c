import type { Lease } from './lease.js'
import { WaiterQueue } from './waiter-queue.js'

/** The settle functions of the promise most recently made with {@link capture}. */
export const captured: { resolve: (v: never) => void; reject: (e: unknown) => void } = {
  resolve: () => {},
  reject: () => {},
}

/**
 * A promise executor shared by every waiter: `new Promise(capture)` then read `captured`. It
 * saves allocating a closure per waiting caller on the pool's hottest path.
 */
export function capture(resolve: (v: never) => void, reject: (e: unknown) => void): void {
  captured.resolve = resolve
  captured.reject = reject
}

/** A caller of `acquire()` that could not be served at once. */
export class Waiter<T> {
  readonly shared: boolean
  /** Arrival order over both queues, so FIFO holds between exclusive and shared callers. */
  readonly seq: number
  readonly enqueuedAt: number
  readonly timeoutMs: number
  readonly signal: AbortSignal | undefined
  readonly trace: { stack?: string } | undefined
  readonly resolve: (lease: Lease<T>) => void
  readonly reject: (err: unknown) => void
  onAbort: (() => void) | undefined = undefined
  settled = false
  slot = 0

  constructor(
    shared: boolean,
    seq: number,
    now: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    trace: { stack?: string } | undefined,
    settle: { resolve: (v: never) => void; reject: (e: unknown) => void },
  ) {
    this.shared = shared
    this.seq = seq
    this.enqueuedAt = now
    this.timeoutMs = timeoutMs
    this.signal = signal
    this.trace = trace
    this.resolve = settle.resolve as (lease: Lease<T>) => void
    this.reject = settle.reject
  }

  /** On the pool clock; `Infinity` when it waits without a timeout. Derived, to keep waiters small. */
  get deadline(): number {
    return this.enqueuedAt + this.timeoutMs
  }
}

/**
 * The callers waiting on a pool: one FIFO for exclusive and one for shared callers, merged by
 * arrival order, so that the pool can find "the oldest caller this resource can serve" in O(1)
 * instead of walking a long queue. It also owns the single deadline timer for all of them.
 */
export class WaitList<T> {
  readonly exclusive = new WaiterQueue<Waiter<T>>()
  readonly shared = new WaiterQueue<Waiter<T>>()
  #seq = 0
  #timer: NodeJS.Timeout | undefined
  #timerAt = Number.POSITIVE_INFINITY
  readonly #clock: () => number
  readonly #onExpired: (w: Waiter<T>) => void
  readonly #detached: () => Iterable<Waiter<T>>

  /**
   * @param onExpired called for each waiter whose deadline passed
   * @param detached waiters held outside the queues (their resource is being validated) whose
   *   deadlines count too
   */
  constructor(clock: () => number, onExpired: (w: Waiter<T>) => void, detached: () => Iterable<Waiter<T>>) {
    this.#clock = clock
    this.#onExpired = onExpired
    this.#detached = detached
  }

  get size(): number {
    return this.exclusive.size + this.shared.size
  }

  nextSeq(): number {
    return this.#seq++
  }

  push(w: Waiter<T>): void {
    ;(w.shared ? this.shared : this.exclusive).push(w)
    if (w.deadline < this.#timerAt) this.#arm(w.deadline)
  }

  /** Puts a waiter back at the front of its queue (it keeps its turn after a failed validation). */
  unshift(w: Waiter<T>): void {
    ;(w.shared ? this.shared : this.exclusive).unshift(w)
    if (w.deadline < this.#timerAt) this.#arm(w.deadline)
  }

  remove(w: Waiter<T>): void {
    ;(w.shared ? this.shared : this.exclusive).remove(w)
  }

  /** The oldest waiter of either kind. */
  oldest(): Waiter<T> | undefined {
    const e = this.exclusive.head
    const s = this.shared.head
    if (e === undefined) return s
    if (s === undefined) return e
    return e.seq < s.seq ? e : s
  }

  /** Removes and returns every waiter, oldest first in each queue. */
  drain(): Waiter<T>[] {
    const all: Waiter<T>[] = []
    for (const q of [this.exclusive, this.shared])
      for (let w = q.shift(); w !== undefined; w = q.shift()) all.push(w)
    return all
  }

  /**
   * Drops the deadline timer when nobody waits (`detached` counts waiters held outside the queues,
   * such as those whose resource is being validated), so an idle pool never keeps the process alive.
   */
  disarmIfEmpty(detached: number): void {
    if (this.#timer !== undefined && this.size === 0 && detached === 0) this.stop()
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
  }

  /** Re-arms the timer for a detached waiter's deadline. */
  watch(deadline: number): void {
    if (deadline < this.#timerAt) this.#arm(deadline)
  }

  /** One timer for all deadlines, armed for the earliest: far cheaper than a timer per waiter. */
  #arm(at: number): void {
    clearTimeout(this.#timer)
    this.#timerAt = at
    // Ref'ed while callers wait: a caller with a timeout is owed an answer.
    this.#timer = setTimeout(() => this.#sweep(), Math.max(0, Math.ceil(at - this.#clock())))
  }

  /** Expires every waiter past its deadline, queued or detached, and re-arms for the next one. */
  #sweep(): void {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    const now = this.#clock()
    let next = Number.POSITIVE_INFINITY
    // Collect first: expiring a waiter pumps the pool, which would disturb a live iteration.
    const expired: Waiter<T>[] = []
    const check = (w: Waiter<T>) => {
      if (w.settled) return
      if (w.deadline <= now) expired.push(w)
      else if (w.deadline < next) next = w.deadline
    }
    for (const q of [this.exclusive, this.shared]) for (const w of q.toArray()) check(w)
    for (const w of this.#detached()) check(w)
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next)
    for (const w of expired) this.#onExpired(w)
  }
}

/** Marks a waiter settled and drops its abort listener; returns false if it was settled already. */
export function settleWaiter<T>(w: Waiter<T>): boolean {
  if (w.settled) return false
  w.settled = true
  if (w.onAbort !== undefined) {
    w.signal!.removeEventListener('abort', w.onAbort)
    w.onAbort = undefined
  }
  return true
}
