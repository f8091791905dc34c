import { channels } from './diagnostics.js'
import { unrefInterval } from './timers.js'

/** What a `'leak'` event carries. */
export interface LeakReport {
  readonly pool: string
  /** How long the lease had been held when reported, in ms. */
  readonly heldMs: number
  readonly shared: boolean
  /** Stack of the code that acquired it. */
  readonly stack: string | undefined
}

/** What the detector needs of a lease. */
export interface TrackedLease {
  readonly acquiredAt: number
  readonly shared: boolean
  readonly acquireStack: string | undefined
}

/**
 * Finds leases held longer than a limit. One unref'ed sweep timer for all of them (a timer per
 * lease would cost more than the acquire itself); each leak is reported once.
 */
export class LeakDetector<L extends TrackedLease> {
  readonly #active = new Set<L>()
  readonly #reported = new WeakSet<L>()
  readonly #timer: NodeJS.Timeout | undefined
  readonly #pool: string
  readonly #limitMs: number
  readonly #clock: () => number
  readonly #onLeak: (report: LeakReport) => void

  constructor(pool: string, limitMs: number, clock: () => number, onLeak: (report: LeakReport) => void) {
    this.#pool = pool
    this.#limitMs = limitMs
    this.#clock = clock
    this.#onLeak = onLeak
    this.#timer = unrefInterval(() => this.#sweep(), Math.max(5, limitMs / 4))
  }

  track(lease: L): void {
    this.#active.add(lease)
  }

  untrack(lease: L): void {
    this.#active.delete(lease)
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  #sweep(): void {
    const now = this.#clock()
    for (const lease of this.#active) {
      if (now - lease.acquiredAt < this.#limitMs || this.#reported.has(lease)) continue
      this.#reported.add(lease)
      const report: LeakReport = Object.freeze({
        pool: this.#pool,
        heldMs: now - lease.acquiredAt,
        shared: lease.shared,
        stack: lease.acquireStack,
      })
      if (channels.leak.hasSubscribers) channels.leak.publish(report)
      this.#onLeak(report)
    }
  }
}

/**
 * Captures the caller's stack, hiding `above` and the frames above it. V8 formats the stack
 * lazily, on first read: capturing is cheap until a leak is actually reported.
 */
export function captureTrace(above: (...args: never[]) => unknown): { stack?: string } {
  const holder: { stack?: string } = {}
  Error.captureStackTrace(holder, above)
  return holder
}
