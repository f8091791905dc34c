import { CreateTimeoutError, DestroyTimeoutError } from './errors.js'
import { unrefTimeout, withDeadline } from './timers.js'
import { poolTracing, tracing } from './tracing.js'

/**
 * Runs the user's `create()` calls: each with its own AbortSignal and an optional time limit,
 * exactly one outcome per attempt, and a resource that arrives after its attempt timed out goes
 * straight to `onStray` (to be destroyed). `abortAll` and `settled` serve a forced shutdown.
 */
export class CreateJobs<T> {
  readonly #pending = new Set<Promise<void>>()
  readonly #controllers = new Set<AbortController>()
  readonly #pool: string
  readonly #create: (signal: AbortSignal) => Promise<T>
  readonly #timeoutMs: number

  constructor(pool: string, create: (signal: AbortSignal) => Promise<T>, timeoutMs: number) {
    this.#pool = pool
    this.#create = create
    this.#timeoutMs = timeoutMs
  }

  /** Starts one attempt; exactly one of `onCreated` / `onFailed` is called, asynchronously. */
  start(onCreated: (r: T) => void, onFailed: (err: unknown) => void, onStray: (r: T) => void): void {
    const ac = new AbortController()
    this.#controllers.add(ac)
    let timedOut = false
    const attempt = Promise.resolve().then(() =>
      tracing(poolTracing.create)
        ? poolTracing.create.tracePromise(async () => this.#create(ac.signal), { pool: this.#pool })
        : this.#create(ac.signal),
    )
    const timer = unrefTimeout(() => {
      timedOut = true
      const err = new CreateTimeoutError(this.#pool, this.#timeoutMs)
      ac.abort(err)
      attempt.then(onStray, noop)
      onFailed(err)
    }, this.#timeoutMs)
    const done = attempt.then(
      (resource) => {
        if (timedOut) return
        clearTimeout(timer)
        onCreated(resource)
      },
      (err: unknown) => {
        if (timedOut) return
        clearTimeout(timer)
        onFailed(err)
      },
    )
    this.#pending.add(done)
    void done.finally(() => {
      this.#pending.delete(done)
      this.#controllers.delete(ac)
    })
  }

  /** Aborts the signal of every attempt in progress. */
  abortAll(reason: unknown): void {
    for (const ac of this.#controllers) ac.abort(reason)
  }

  /** Resolves when every attempt in progress has settled, or after `ms` (a factory may ignore its signal). */
  settled(ms: number): Promise<void> {
    const all = Promise.allSettled([...this.#pending]).then(noop)
    return withDeadline(all, ms, () => undefined).catch(noop)
  }
}

/**
 * Runs the user's `destroy()` calls, each bounded by a time limit; errors and timeouts are
 * counted by `onError`, never thrown, and `onDone` runs after each.
 */
export class DestroyJobs<T> {
  readonly #pending = new Set<Promise<void>>()
  readonly #destroy: (resource: T) => Promise<void> | void
  readonly #timeoutMs: number
  readonly #onError: () => void
  readonly #onDone: () => void

  constructor(
    destroy: (resource: T) => Promise<void> | void,
    timeoutMs: number,
    onError: () => void,
    onDone: () => void,
  ) {
    this.#destroy = destroy
    this.#timeoutMs = timeoutMs
    this.#onError = onError
    this.#onDone = onDone
  }

  /** Destroy callbacks still running. */
  get pending(): number {
    return this.#pending.size
  }

  run(resource: T): Promise<void> {
    const work = Promise.resolve().then(() => this.#destroy(resource))
    const p = withDeadline(work, this.#timeoutMs, () => new DestroyTimeoutError(this.#timeoutMs))
      .then(noop, this.#onError)
      .finally(() => {
        this.#pending.delete(p)
        this.#onDone()
      })
    this.#pending.add(p)
    return p
  }

  /** Resolves when every destroy in progress has finished or timed out. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pending])
  }
}

function noop(): void {}
