/**
 * The lifecycle every owner of connections shares (undici's DispatcherBase pattern): one state
 * machine, `close()` graceful and `destroy()` forced, both idempotent and joined, options checked
 * before any side effect. Owners (the core Pool, PgPool, the pg.Pool drop-in, ChannelPool,
 * ChannelRegistry) fill in two hooks and keep no state flag of their own.
 *
 * ```
 *   open ──close()──▶ closing ──drained──────────────▶ closed
 *     │                  │                                ▲
 *     └────destroy()─────┴──▶ destroying ──all ended──────┘
 *   (a close past its deadline, or whose signal aborts, destroys)
 * ```
 */
import { EventEmitter } from 'node:events'
import { CloseTimeoutError, InternalError, InvalidOptionError } from './errors.js'

/**
 * Where an owner is in its life. Only `'open'` takes new work. `'destroying'` is a forced close
 * under way; both roads end in `'closed'` once every connection is ended.
 */
export type LifecycleState = 'open' | 'closing' | 'destroying' | 'closed'

/** Options of `close()`, the same for every owner. */
export interface CloseOptions {
  /**
   * How long, in ms, work in flight may take to finish before the owner escalates to
   * `destroy(CloseTimeoutError)`. `Infinity` waits as long as it takes. Default 30000.
   */
  timeoutMs?: number
  /** Aborting it escalates to `destroy(signal.reason)` at once. */
  signal?: AbortSignal
}

/** What every owner of connections offers: the lifecycle contract. */
export interface Closeable {
  readonly name: string
  readonly state: LifecycleState
  /** Graceful: takes no new work, lets work in flight finish, then ends every connection. Never rejects but for bad options. */
  close(options?: CloseOptions): Promise<void>
  /** Forced: fails waiting work and ends every connection now. Never rejects. */
  destroy(reason?: unknown): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** The default of `CloseOptions.timeoutMs`. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000

const ALLOWED: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  open: ['closing', 'destroying'],
  closing: ['closed', 'destroying'],
  destroying: ['closed'],
  closed: [],
}

/**
 * Checks `close()` options; returns the error, or undefined when they are good. Exported for
 * owners that take close options without being a `Lifecycle` (the ConnectionManager).
 */
export function checkCloseOptions(options: unknown): InvalidOptionError | undefined {
  if (options === undefined) return undefined
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return new InvalidOptionError('close options', options, 'an object like { timeoutMs, signal }')
  }
  const { timeoutMs, signal } = options as CloseOptions
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs >= 0))) {
    return new InvalidOptionError(
      'timeoutMs',
      timeoutMs,
      'a duration in milliseconds >= 0 (Infinity: no deadline)',
    )
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return new InvalidOptionError('signal', signal, 'an AbortSignal')
  }
  return undefined
}

/**
 * Base class of every owner of connections. Subclasses implement `onClose()` (drain: resolve once
 * nothing is in flight and every connection is ended) and `onDestroy(reason)` (end everything
 * now), and may override `onTransition()` for the side effects of entering a state and `inUse()`
 * for the count a close timeout reports.
 */
// biome-ignore lint/suspicious/noExplicitAny: the bound of EventEmitter's own type parameter
export abstract class Lifecycle<E extends Record<keyof E, any[]> | [never] = [never]>
  extends EventEmitter<E>
  implements Closeable
{
  #state: LifecycleState = 'open'
  #closing: Promise<void> | undefined
  #destroying: Promise<void> | undefined
  #closed: (() => void) | undefined
  #deadline: NodeJS.Timeout | undefined
  #signal: AbortSignal | undefined
  #onAbort: (() => void) | undefined

  abstract readonly name: string

  /** `'open'`, `'closing'` (draining), `'destroying'` (forced) or `'closed'`. */
  get state(): LifecycleState {
    return this.#state
  }

  /**
   * Graceful shutdown: refuses new work at once, lets work in flight finish, then ends every
   * connection. After `timeoutMs` (default 30000), or when `signal` aborts, it escalates to
   * `destroy()`. Idempotent: every call returns the same promise, which resolves once the owner is
   * closed or destroyed and never rejects. Bad options reject with `InvalidOptionError` and change
   * nothing, so a corrected `close()` still works.
   */
  close(options?: CloseOptions): Promise<void> {
    const bad = checkCloseOptions(options)
    if (bad !== undefined) return Promise.reject(bad)
    if (this.#closing !== undefined) return this.#closing
    if (this.#state !== 'open') {
      // Destroyed before any close: the close is done when the destroy is.
      this.#closing = this.#destroying ?? Promise.resolve()
      return this.#closing
    }
    this.#closing = new Promise<void>((resolve) => {
      this.#closed = resolve
    })
    const timeoutMs = options?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS
    const signal = options?.signal
    this.#transition('closing')
    if (signal?.aborted) {
      void this.destroy(signal.reason)
      return this.#closing
    }
    if (signal !== undefined) {
      this.#signal = signal
      this.#onAbort = () => void this.destroy(signal.reason)
      signal.addEventListener('abort', this.#onAbort, { once: true })
    }
    if (Number.isFinite(timeoutMs)) {
      // Ref'ed on purpose: whoever awaits close() is owed an answer within timeoutMs.
      this.#deadline = setTimeout(() => {
        void this.destroy(new CloseTimeoutError(this.name, timeoutMs, this.inUse()))
      }, timeoutMs)
    }
    let drained: Promise<void>
    try {
      drained = Promise.resolve(this.onClose())
    } catch (err) {
      drained = Promise.reject(err)
    }
    drained.then(
      () => {
        // Forced meanwhile: the close settles when the destroy has finished.
        if (this.#state !== 'closing') return
        this.#transition('closed')
        this.#closed?.()
      },
      // A drain that fails cannot finish gracefully: force it, and the close settles with the destroy.
      (err: unknown) => void this.destroy(err),
    )
    return this.#closing
  }

  /**
   * Forced shutdown: fails waiting work (its `cause` is `reason`) and ends every connection, those
   * in use included. Joins a close in progress, which then settles with it. Idempotent; resolves
   * once every connection is ended (or its end timed out); never rejects.
   */
  destroy(reason?: unknown): Promise<void> {
    if (this.#destroying !== undefined) return this.#destroying
    if (this.#state === 'closed') {
      this.#destroying = Promise.resolve()
      return this.#destroying
    }
    this.#transition('destroying', reason)
    let torn: Promise<void>
    try {
      torn = Promise.resolve(this.onDestroy(reason))
    } catch (err) {
      torn = Promise.reject(err)
    }
    this.#destroying = torn
      .catch((err: unknown) => {
        // onDestroy must not fail; if it does, the destroy still ends, and the error is not lost.
        process.emitWarning(new InternalError(`destroy of '${this.name}' failed: ${String(err)}`))
      })
      .then(() => {
        this.#transition('closed')
        this.#closed?.()
      })
    return this.#destroying
  }

  /** `await using owner = ...` closes it (gracefully, default deadline) at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /** Drain: called once, in state `'closing'`; resolves when nothing is in flight and all is ended. */
  protected abstract onClose(): Promise<void> | void

  /** End everything now: called once, in state `'destroying'` (from `'open'` or `'closing'`). */
  protected abstract onDestroy(reason: unknown): Promise<void> | void

  /**
   * Side effects of entering a state (stop timers, fail waiters...), called inside the one
   * transition, after the state changed; `reason` is destroy()'s (undefined for other states).
   * Default: none.
   */
  protected onTransition(_from: LifecycleState, _to: LifecycleState, _reason: unknown): void {}

  /** Work in flight, for the message of a close that timed out. Default 0. */
  protected inUse(): number {
    return 0
  }

  #transition(to: LifecycleState, reason?: unknown): void {
    const from = this.#state
    if (!ALLOWED[from].includes(to)) {
      throw new InternalError(`'${this.name}' cannot go from ${from} to ${to}`)
    }
    this.#state = to
    if (to === 'closed' || to === 'destroying') {
      clearTimeout(this.#deadline)
      this.#deadline = undefined
      if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort)
      this.#signal = undefined
      this.#onAbort = undefined
    }
    this.onTransition(from, to, reason)
  }
}
