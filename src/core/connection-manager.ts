/**
 * One owner for a service's connection pools (the seed's lifecycle manager): it warms them at
 * start, answers health probes, and shuts them all down together, gracefully, on a deadline.
 *
 * ```ts
 * import { ConnectionManager } from 'berth'
 * import { createPgPool } from 'berth/pg'
 * const connections = new ConnectionManager()
 * const db = connections.postgres('db', createPgPool(process.env.DATABASE_URL))
 * await connections.start({ timeoutMs: 10_000 })
 * connections.handleSignals()
 * app.get('/readyz', (_req, res) => res.status(connections.health().ready ? 200 : 503).end())
 * ```
 *
 * It manages anything with the lifecycle contract, a probe and a health summary (`ManagedOwner`:
 * a PgPool, a ChannelPool...) and never asks what a resource is, so it loads neither `pg` nor
 * `@grpc/grpc-js`. `berth/grpc`'s ConnectionManager adds `grpc(name, target)` on top.
 */
import { closeOne } from './connection-manager-close.js'
import { type Managed, isManagedOwner, managed } from './connection-manager-resource.js'
import {
  type CloseReport,
  type ConnectionManagerOptions,
  type HandleSignalsOptions,
  type ManagedResource,
  ManagerClosedError,
  type ManagerEvent,
  type ManagerHealth,
  ManagerNotReadyError,
  type ResourceCloseReport,
  type ResourceHealth,
  SecondSignalError,
  type StartOptions,
} from './connection-manager-types.js'
import { InvalidOptionError } from './errors.js'
import { type CloseOptions, DEFAULT_CLOSE_TIMEOUT_MS, checkCloseOptions } from './lifecycle.js'
import type { ManagedOwner } from './owner.js'

type ManagerState = 'new' | 'started' | 'closing' | 'closed'

export class ConnectionManager {
  readonly #log: (event: ManagerEvent) => void
  readonly #resources = new Map<string, Managed>()
  #state: ManagerState = 'new'
  #closed: Promise<CloseReport> | undefined
  readonly #forces: ((reason: unknown) => void)[] = []
  #removeSignals: (() => void) | undefined

  /** @throws InvalidOptionError when `logger` is not a function */
  constructor(options: ConnectionManagerOptions = {}) {
    const logger = options.logger
    if (logger !== undefined && typeof logger !== 'function')
      throw new InvalidOptionError('logger', logger, 'a function')
    this.#log = (event) => {
      try {
        logger?.(event)
      } catch {
        // A failing logger must not break a shutdown.
      }
    }
  }

  /**
   * Owns a Postgres pool: pass `createPgPool(...)` from `berth/pg`. Registered exactly as `add()`
   * registers any owner; this only insists on a full `ManagedOwner`.
   * @throws ManagerClosedError, InvalidOptionError (name taken, or not a pool)
   */
  postgres<P extends ManagedOwner>(name: string, pool: P): P {
    this.assertCanAdd(name)
    if (!isManagedOwner(pool)) throw new InvalidOptionError('pool', pool, 'a PgPool (createPgPool)')
    return this.add(name, pool)
  }

  /**
   * Owns `resource`: a `ManagedOwner` (PgPool, ChannelPool...) as it is, or anything with a
   * `close()` (and optionally `destroy()`, `ready()`, `isReady()`: a `ManagedResource`).
   * @throws ManagerClosedError, InvalidOptionError (name taken, or no close())
   */
  add<R extends ManagedOwner | ManagedResource>(name: string, resource: R): R {
    this.assertCanAdd(name)
    const m = managed(name, resource)
    this.#resources.set(name, m)
    // Added after start: warm it too, so health() can turn ready without another start().
    if (this.#state === 'started') m.owner.probe().catch(noop)
    return resource
  }

  /**
   * Starts every resource connecting (its `probe()`) and, by default, waits until each is ready
   * (a gRPC channel READY, a Postgres connection open). May be called again to wait again.
   * @throws ManagerNotReadyError naming the resources not ready in time; ManagerClosedError
   */
  async start(options: StartOptions = {}): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new ManagerClosedError()
    const { waitForReady = true, timeoutMs, signal } = options
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)))
      throw new InvalidOptionError('timeoutMs', timeoutMs, 'a duration in ms, at least 0')
    const signals = [signal, timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)]
    const present = signals.filter((s) => s !== undefined)
    const combined = present.length > 1 ? AbortSignal.any(present) : present[0]
    if (this.#state === 'new') this.#state = 'started'
    this.#log({ event: 'start', message: `starting ${this.#resources.size} resources` })
    const all = [...this.#resources.values()]
    const probing = all.map((m) => m.owner.probe({ signal: waitForReady ? combined : undefined }))
    if (!waitForReady) {
      for (const p of probing) p.catch(noop)
      return
    }
    const results = await Promise.allSettled(probing)
    const failures = all.flatMap((m, i) => {
      const r = results[i]!
      return r.status === 'rejected' ? [{ name: m.name, error: r.reason as unknown }] : []
    })
    if (failures.length > 0) {
      const err = new ManagerNotReadyError(failures)
      this.#log({ event: 'not-ready', message: err.message, error: err })
      throw err
    }
    this.#log({ event: 'ready', message: 'every resource is ready' })
  }

  /** A frozen summary for health endpoints: `live` for liveness probes, `ready` for readiness. */
  health(): ManagerHealth {
    const resources: Record<string, ResourceHealth> = {}
    let ready = this.#state === 'started'
    for (const m of this.#resources.values()) {
      const h = healthOf(m.owner)
      resources[m.name] = h
      ready &&= h.ready
    }
    return Object.freeze({ live: this.#state !== 'closed', ready, resources: Object.freeze(resources) })
  }

  /**
   * Closes every resource in parallel: each refuses new work at once (gRPC calls fail with
   * UNAVAILABLE, cause PoolClosedError), lets work in flight finish, then closes; whatever is not
   * done by the deadline, or when `signal` aborts, is destroyed. Resolves with a report per
   * resource; never rejects (but for bad options, which change nothing). Idempotent: later calls
   * return the first call's promise.
   * @param options.timeoutMs the deadline, in ms. Default 30000.
   */
  close(options?: CloseOptions): Promise<CloseReport> {
    const bad = checkCloseOptions(options)
    if (bad !== undefined) return Promise.reject(bad)
    if (this.#closed !== undefined) return this.#closed
    const timeoutMs = options?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS
    this.#state = 'closing'
    this.#log({ event: 'close', message: `closing ${this.#resources.size} resources within ${timeoutMs} ms` })
    const started = performance.now()
    const all = [...this.#resources.values()]
    const log = this.#log
    const closing = all.map((m) => closeOne(m, timeoutMs, { log, onForce: (f) => this.#forces.push(f) }))
    this.#closed = Promise.all(closing).then((reports) => {
      this.#state = 'closed'
      const resources: Record<string, ResourceCloseReport> = {}
      all.forEach((m, i) => {
        resources[m.name] = reports[i]!
      })
      const report: CloseReport = Object.freeze({
        clean: reports.every((r) => r.outcome === 'closed'),
        durationMs: performance.now() - started,
        resources: Object.freeze(resources),
      })
      this.#log({ event: 'closed', message: report.clean ? 'closed' : 'closed, some by force' })
      return report
    })
    const signal = options?.signal
    if (signal !== undefined) {
      if (signal.aborted) void this.destroy(signal.reason)
      else {
        const onAbort = () => void this.destroy(signal.reason)
        signal.addEventListener('abort', onAbort, { once: true })
        void this.#closed.then(() => signal.removeEventListener('abort', onAbort))
      }
    }
    return this.#closed
  }

  /** Forced: destroys every resource now (joining a close in progress). Idempotent. */
  destroy(reason: unknown = new ManagerClosedError()): Promise<CloseReport> {
    const closed = this.close({ timeoutMs: Number.POSITIVE_INFINITY })
    for (const force of this.#forces) force(reason)
    return closed
  }

  /**
   * Closes gracefully on the first of these signals, then (unless `exit: false`) exits; a second
   * signal destroys what is still closing. Installs its listeners once: a second call returns the
   * first call's remover. After a close with `exit: false` the listeners remove themselves.
   * @returns a function that removes the listeners
   */
  handleSignals(
    signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
    options: HandleSignalsOptions = {},
  ): () => void {
    if (this.#removeSignals !== undefined) return this.#removeSignals
    if (!Array.isArray(signals) || signals.length === 0 || signals.some((s) => typeof s !== 'string'))
      throw new InvalidOptionError('signals', signals, "a non-empty list of signal names, like ['SIGTERM']")
    const { timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS, exit = true, onClosed } = options
    let received: NodeJS.Signals | undefined
    const onSignal = (signal: NodeJS.Signals) => {
      if (received !== undefined) {
        this.#log({ event: 'signal', message: `${signal} again: destroying what is still closing` })
        void this.destroy(new SecondSignalError(signal))
        return
      }
      received = signal
      this.#log({ event: 'signal', message: `${signal}: closing within ${timeoutMs} ms` })
      void this.close({ timeoutMs }).then(async (report) => {
        try {
          await onClosed?.(report, signal)
        } catch (error) {
          this.#log({ event: 'closed', message: 'onClosed failed', error })
        }
        if (exit) process.exit(report.clean ? 0 : 1)
        else remove()
      })
    }
    // process.emit(signal) passes no argument, so each listener knows its own signal.
    const listeners = signals.map((s) => [s, () => onSignal(s)] as const)
    for (const [s, l] of listeners) process.on(s, l)
    const remove = () => {
      for (const [s, l] of listeners) process.off(s, l)
      if (this.#removeSignals === remove) this.#removeSignals = undefined
    }
    this.#removeSignals = remove
    return remove
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /**
   * For subclasses that make a resource before adding it (`berth/grpc`'s `grpc()`): checks first,
   * so that nothing is made for a name that `add()` would refuse.
   * @throws ManagerClosedError, InvalidOptionError (name empty or taken)
   */
  protected assertCanAdd(name: string): void {
    if (this.#state === 'closing' || this.#state === 'closed') throw new ManagerClosedError()
    if (typeof name !== 'string' || name === '')
      throw new InvalidOptionError('name', name, 'a non-empty string')
    if (this.#resources.has(name))
      throw new InvalidOptionError('name', name, 'a name not already used in this connection manager')
  }
}

/** One resource's health as the manager shows it: the owner's, with a state for people. */
function healthOf(owner: ManagedOwner): ResourceHealth {
  const h = owner.health()
  const lifecycle = owner.state
  const state =
    lifecycle === 'open' ? (h.ready ? 'ready' : 'connecting') : lifecycle === 'closed' ? 'closed' : 'closing'
  return Object.freeze({ kind: h.kind, ready: h.ready, state, detail: h.detail })
}

function noop(): void {}
