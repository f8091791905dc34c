/** The types and errors of the ConnectionManager (connection-manager.ts). */
import { BerthError, messageOf } from './errors.js'

/**
 * What a resource is, as its owner's `health().kind` says: `'postgres'` (a PgPool), `'grpc'` (a
 * ChannelPool), `'other'` for a plain {@link ManagedResource}, or whatever another owner reports.
 */
export type ResourceKind = string

/**
 * Anything with a graceful close that is not a full `ManagedOwner`: a server, a queue consumer,
 * a `ChannelRegistry`... The manager drives it through one generic adapter, by which methods it has.
 */
export interface ManagedResource {
  /** Graceful close; given the manager's `timeoutMs`. */
  close(options?: { timeoutMs?: number }): unknown
  /** Forced close, used at the deadline. Without it, a close past its deadline is abandoned. */
  destroy?(reason?: unknown): unknown
  /** Awaited by `start()`. */
  ready?(options?: { signal?: AbortSignal }): Promise<unknown>
  /** For `health()`. Default: ready once `start()` saw `ready()` resolve. */
  isReady?(): boolean
}

export interface ManagerEvent {
  readonly event: 'start' | 'ready' | 'not-ready' | 'signal' | 'close' | 'escalate' | 'closed'
  readonly message: string
  readonly resource?: string
  readonly error?: unknown
}

export interface ConnectionManagerOptions {
  /** Receives lifecycle events (start, signal, close, escalation). Default: none. */
  logger?: (event: ManagerEvent) => void
}

export interface StartOptions {
  /** Wait until every resource is ready; false only starts warming them. Default true. */
  waitForReady?: boolean
  /** Give up waiting after this long, in ms (resources keep connecting). Default: no limit. */
  timeoutMs?: number
  signal?: AbortSignal
}

export interface HandleSignalsOptions {
  /** The graceful close's deadline, in ms. Default 30000. */
  timeoutMs?: number
  /** Exit when closed: code 0 if every resource closed in time, else 1. Default true. */
  exit?: boolean
  /** Runs after the close, before the exit (flush logs here). */
  onClosed?: (report: CloseReport, signal: NodeJS.Signals) => unknown
}

export interface ResourceHealth {
  /** From the owner's `health().kind`: `'postgres'`, `'grpc'`, `'other'`... */
  readonly kind: ResourceKind
  readonly ready: boolean
  /** From the owner's lifecycle state and readiness (`'destroying'` shows as `'closing'`). */
  readonly state: 'connecting' | 'ready' | 'closing' | 'closed'
  /**
   * The owner's own facts. gRPC: connectivity, channels, calls in flight; Postgres: connection
   * counts and the last connect error; a plain resource: none (an empty object).
   */
  readonly detail: Readonly<Record<string, unknown>>
}

export interface ManagerHealth {
  /** The manager is not closed (still true while it drains). */
  readonly live: boolean
  /** Started, not closing, and every resource ready. */
  readonly ready: boolean
  readonly resources: Readonly<Record<string, ResourceHealth>>
}

export interface ResourceCloseReport {
  readonly kind: ResourceKind
  /**
   * closed: drained and closed in time. destroyed: forced (at the deadline, by `destroy()`, or
   * because a plain resource's `close()` failed). abandoned: forced, and still not finished 5 s later.
   */
  readonly outcome: 'closed' | 'destroyed' | 'abandoned'
  readonly durationMs: number
  /**
   * The owner's `health().inUse` when it was forced: calls in flight (gRPC), connections in use
   * (Postgres). Undefined when it closed in time, or for a plain resource, which cannot tell.
   */
  readonly inFlightWhenForced: number | undefined
  /** Why it was forced: a CloseTimeoutError at the deadline, the `destroy()` reason, or close()'s error. */
  readonly reason: unknown
}

export interface CloseReport {
  /** Every resource closed gracefully in time. */
  readonly clean: boolean
  readonly durationMs: number
  readonly resources: Readonly<Record<string, ResourceCloseReport>>
}

/**
 * The manager is closing or closed: it takes no new resources and does not start; also the default
 * reason of `destroy()`. What to do: register resources and start before shutdown begins.
 */
export class ManagerClosedError extends BerthError {
  constructor() {
    super('BERTH_MANAGER_CLOSED', 'Connection manager is closed: it takes no new resources')
  }
}

/**
 * `start()` gave up before every resource was ready. `cause` is the error (or AggregateError)
 * behind it; `resources` names them. What to do: check those backends, or start with a longer
 * `timeoutMs`.
 */
export class ManagerNotReadyError extends BerthError {
  /** The resources that were not ready. */
  readonly resources: readonly string[]

  constructor(failures: readonly { name: string; error: unknown }[]) {
    const list = failures.map((f) => `${f.name} (${messageOf(f.error)})`).join(', ')
    const cause =
      failures.length === 1 ? failures[0]!.error : new AggregateError(failures.map((f) => f.error))
    super('BERTH_NOT_READY', `Not ready: ${list}`, { cause })
    this.resources = Object.freeze(failures.map((f) => f.name))
  }
}

/**
 * `ConnectionManager.handleSignals()` got its signal a second time while closing: what is still
 * closing is destroyed with this error as the reason. What to do: nothing, it was asked for; send
 * one signal and wait to let in-flight work finish.
 */
export class SecondSignalError extends BerthError {
  readonly signal: string

  constructor(signal: string) {
    super('BERTH_SIGNAL', `${signal} received twice`)
    this.signal = signal
  }
}
