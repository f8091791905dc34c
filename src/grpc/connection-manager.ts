/**
 * One owner for a service's connection pools (the seed's lifecycle manager): it warms them at
 * start, answers health probes, and shuts them all down together, gracefully, on a deadline.
 *
 * ```ts
 * import { createPgPool } from 'berth/pg'
 * const connections = new ConnectionManager()
 * const billing = connections.grpc('billing', 'dns:///billing:50051')
 * const db = connections.postgres('db', createPgPool(process.env.DATABASE_URL))
 * await connections.start({ timeoutMs: 10_000 })
 * connections.handleSignals()
 * app.get('/readyz', (_req, res) => res.status(connections.health().ready ? 200 : 503).end())
 * ```
 *
 * Postgres pools are taken as made (`createPgPool(...)` from `berth/pg`) and used through the
 * `PostgresPoolLike` shape, so this module never loads `pg`: gRPC-only services need not install it.
 */
import { CloseTimeoutError, InvalidOptionError } from '../core/errors.js'
import type { ChannelPoolOptions } from './channel-pool-options.js'
import { ChannelPool, createChannelPool } from './channel-pool.js'
import {
  type CloseReport,
  type ConnectionManagerOptions,
  type HandleSignalsOptions,
  type ManagedResource,
  ManagerClosedError,
  type ManagerEvent,
  type ManagerHealth,
  ManagerNotReadyError,
  type PostgresPoolLike,
  type ResourceCloseReport,
  type ResourceHealth,
  type ResourceKind,
  type StartOptions,
  messageOf,
} from './connection-manager-types.js'
import { SecondSignalError } from './errors.js'

type ManagerState = 'new' | 'started' | 'closing' | 'closed'

type Managed =
  | { readonly name: string; readonly kind: 'grpc'; readonly r: ChannelPool; warmed: boolean }
  | { readonly name: string; readonly kind: 'postgres'; readonly r: PostgresPoolLike; warmed: boolean }
  | { readonly name: string; readonly kind: 'other'; readonly r: ManagedResource; warmed: boolean }

/** How long a forced close may take before it is reported abandoned. */
const DESTROY_GRACE_MS = 5000

export class ConnectionManager {
  readonly #log: (event: ManagerEvent) => void
  readonly #resources = new Map<string, Managed>()
  #state: ManagerState = 'new'
  #closed: Promise<CloseReport> | undefined
  readonly #forces: ((reason: unknown) => void)[] = []
  #removeSignals: (() => void) | undefined

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
   * Makes a channel pool named `name` (or adopts one already made) and owns it.
   * @throws ManagerClosedError, InvalidOptionError (name taken), and what `createChannelPool` throws
   */
  grpc(
    name: string,
    target: string | readonly string[] | ChannelPool,
    options?: ChannelPoolOptions,
  ): ChannelPool {
    this.#checkName(name)
    if (target instanceof ChannelPool && options !== undefined)
      throw new InvalidOptionError('options', options, 'none when an existing ChannelPool is given')
    const pool = target instanceof ChannelPool ? target : createChannelPool(target, { name, ...options })
    this.#add({ name, kind: 'grpc', r: pool, warmed: false })
    return pool
  }

  /**
   * Owns a Postgres pool: pass `createPgPool(...)` from `berth/pg`.
   * @throws ManagerClosedError, InvalidOptionError (name taken, or not a pool)
   */
  postgres<P extends PostgresPoolLike>(name: string, pool: P): P {
    this.#checkName(name)
    for (const m of ['ready', 'close', 'destroy', 'stats'] as const) {
      if (typeof pool?.[m] !== 'function')
        throw new InvalidOptionError('pool', pool, 'a PgPool (createPgPool)')
    }
    this.#add({ name, kind: 'postgres', r: pool, warmed: false })
    return pool
  }

  /**
   * Owns anything closeable (a ChannelPool counts as gRPC).
   * @throws ManagerClosedError, InvalidOptionError (name taken, or no close())
   */
  add<R extends ManagedResource>(name: string, resource: R): R {
    this.#checkName(name)
    if (resource instanceof ChannelPool) {
      this.#add({ name, kind: 'grpc', r: resource, warmed: false })
    } else {
      if (typeof resource?.close !== 'function')
        throw new InvalidOptionError('resource', resource, 'an object with close()')
      this.#add({ name, kind: 'other', r: resource, warmed: false })
    }
    return resource
  }

  /**
   * Starts every resource connecting and, by default, waits until each is ready (a gRPC channel
   * READY, a Postgres connection open). May be called again to wait again.
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
    const warming = all.map((m) => this.#warm(m, waitForReady ? combined : undefined))
    if (!waitForReady) {
      for (const w of warming) w.catch(noop)
      return
    }
    const results = await Promise.allSettled(warming)
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
      const h = this.#healthOf(m)
      resources[m.name] = h
      ready &&= h.ready
    }
    return Object.freeze({ live: this.#state !== 'closed', ready, resources: Object.freeze(resources) })
  }

  /**
   * Closes every resource in parallel: each refuses new work at once (gRPC calls fail with
   * UNAVAILABLE, cause PoolClosedError), lets work in flight finish, then closes; whatever is not
   * done by the deadline is destroyed. Resolves with a report per resource; never rejects (but for
   * a bad `timeoutMs`). Idempotent: later calls return the first call's promise.
   * @param options.timeoutMs the deadline, in ms. Default 30000.
   */
  close(options: { timeoutMs?: number } = {}): Promise<CloseReport> {
    if (this.#closed !== undefined) return this.#closed
    const timeoutMs = options.timeoutMs ?? 30_000
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0))
      return Promise.reject(new InvalidOptionError('timeoutMs', timeoutMs, 'a duration in ms, at least 0'))
    this.#state = 'closing'
    this.#log({ event: 'close', message: `closing ${this.#resources.size} resources within ${timeoutMs} ms` })
    const started = performance.now()
    const all = [...this.#resources.values()]
    this.#closed = Promise.all(all.map((m) => this.#closeOne(m, timeoutMs))).then((reports) => {
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
    const { timeoutMs = 30_000, exit = true, onClosed } = options
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

  #checkName(name: string): void {
    if (this.#state === 'closing' || this.#state === 'closed') throw new ManagerClosedError()
    if (typeof name !== 'string' || name === '')
      throw new InvalidOptionError('name', name, 'a non-empty string')
    if (this.#resources.has(name))
      throw new InvalidOptionError('name', name, 'a name not already used in this connection manager')
  }

  #add(m: Managed): void {
    this.#resources.set(m.name, m)
    // Added after start: warm it too, so health() can turn ready without another start().
    if (this.#state === 'started') this.#warm(m, undefined).catch(noop)
  }

  async #warm(m: Managed, signal: AbortSignal | undefined): Promise<void> {
    if (m.kind === 'grpc') {
      await m.r.waitForReady({ signal })
    } else if (m.kind === 'postgres') {
      await m.r.ready({ signal })
      const s = m.r.stats()
      if (s.totalConns - s.constructingConns === 0 && typeof m.r.query === 'function')
        await m.r.query('SELECT 1', [], { signal })
    } else {
      await m.r.ready?.({ signal })
    }
    m.warmed = true
  }

  #healthOf(m: Managed): ResourceHealth {
    const closedState =
      this.#state === 'closed' ? 'closed' : this.#state === 'closing' ? 'closing' : undefined
    if (m.kind === 'grpc') {
      const s = m.r.connectivity()
      const st = m.r.stats()
      const open = m.r.state === 'open'
      const ready = open && s.ready
      return Object.freeze({
        kind: m.kind,
        ready,
        state: open ? (ready ? 'ready' : 'connecting') : m.r.state === 'closed' ? 'closed' : 'closing',
        detail: Object.freeze({
          connectivity: s.state,
          channels: s.channels.length,
          callsInFlight: st.callsInFlight,
          resolutionError: s.resolutionError,
        }),
      })
    }
    if (m.kind === 'postgres') {
      const s = m.r.stats()
      const open = s.pool.state === 'open'
      // A pool with minConns 0 may hold no connection yet healthy: trust the warm-up until a connect fails.
      const connected = s.totalConns - s.constructingConns > 0
      const ready = open && (connected || (m.warmed && s.pool.consecutiveCreateFailures === 0))
      return Object.freeze({
        kind: m.kind,
        ready,
        state: open ? (ready ? 'ready' : 'connecting') : s.pool.state === 'closed' ? 'closed' : 'closing',
        detail: Object.freeze({
          totalConns: s.totalConns,
          idleConns: s.idleConns,
          acquiredConns: s.acquiredConns,
          waiting: s.pool.waiting,
          lastConnectError: s.pool.lastCreateError,
        }),
      })
    }
    const ready = closedState === undefined && (m.r.isReady?.() ?? m.warmed)
    return Object.freeze({
      kind: m.kind,
      ready,
      state: closedState ?? (ready ? 'ready' : 'connecting'),
      detail: undefined,
    })
  }

  #inFlight(m: Managed): number | undefined {
    if (m.kind === 'grpc') return m.r.stats().callsInFlight
    if (m.kind === 'postgres') return m.r.stats().acquiredConns
    return undefined
  }

  /** Graceful close of one resource, forced at the deadline (or by destroy(), or when close() fails). */
  async #closeOne(m: Managed, timeoutMs: number): Promise<ResourceCloseReport> {
    const started = performance.now()
    let force!: (why: { reason: unknown; inFlight: number | undefined }) => void
    const forced = new Promise<{ reason: unknown; inFlight: number | undefined }>((resolve) => {
      force = resolve
    })
    this.#forces.push((reason) => force({ reason, inFlight: this.#inFlight(m) }))
    let timer: NodeJS.Timeout | undefined
    if (Number.isFinite(timeoutMs)) {
      // Set before the resource's own close timer, so it fires first and sees the work still running.
      timer = setTimeout(() => {
        const inFlight = this.#inFlight(m)
        force({ reason: new CloseTimeoutError(m.name, timeoutMs, inFlight ?? 0), inFlight })
      }, timeoutMs)
      timer.unref()
    }
    const closing = settle(() => m.r.close({ timeoutMs }))
    const first = await Promise.race([closing.then((c) => ({ c })), forced.then((f) => ({ f }))])
    clearTimeout(timer)
    const report = (outcome: ResourceCloseReport['outcome'], reason: unknown, inFlight: number | undefined) =>
      Object.freeze({
        kind: m.kind,
        outcome,
        durationMs: performance.now() - started,
        inFlightWhenForced: inFlight,
        reason,
      })
    let why: { reason: unknown; inFlight: number | undefined }
    if ('f' in first) why = first.f
    else if (first.c.ok) return report('closed', undefined, undefined)
    else why = { reason: first.c.error, inFlight: this.#inFlight(m) }
    this.#log({
      event: 'escalate',
      message: `destroying ${m.name}: ${messageOf(why.reason)}`,
      resource: m.name,
    })
    const destroying = settle(() =>
      m.kind === 'other' ? m.r.destroy?.(why.reason) : m.r.destroy(why.reason),
    )
    let grace: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      grace = setTimeout(() => resolve('late'), DESTROY_GRACE_MS)
      grace.unref()
    })
    // Without destroy(), only the close itself can finish.
    const waitFor =
      m.kind === 'other' && m.r.destroy === undefined ? closing : Promise.all([closing, destroying])
    const end = await Promise.race([waitFor, late])
    clearTimeout(grace)
    return report(end === 'late' ? 'abandoned' : 'destroyed', why.reason, why.inFlight)
  }
}

/** Runs fn and reports how it ended; never rejects. */
async function settle(fn: () => unknown): Promise<{ ok: true } | { ok: false; error: unknown }> {
  try {
    await fn()
    return { ok: true }
  } catch (error) {
    return { ok: false, error }
  }
}

function noop(): void {}
