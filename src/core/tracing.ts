/**
 * Tracing channels of the core pool (`diagnostics_channel.tracingChannel`), in the shape Node APM
 * tools subscribe to (as undici and node-postgres publish): one TracingChannel per operation, whose
 * `start`, `end`, `asyncStart`, `asyncEnd` and `error` events all receive the same context object.
 *
 * - `berth:pool:acquire` ({@link PoolAcquireContext}): one `pool.acquire()`, from the call until a
 *   lease is handed over (or the acquire fails).
 * - `berth:pool:create` ({@link PoolCreateContext}): one call of the pool's `create()` factory.
 *
 * Events, as `TracingChannel.tracePromise` publishes them: `start` when the operation begins (the
 * context has its input fields), `end` when the synchronous part returned, then, once it
 * settles, `error` (with `context.error`) on failure, and `asyncStart` / `asyncEnd` (with
 * `context.result` on success) in either case. The underlying channels are named
 * `tracing:berth:pool:acquire:start` and so on. Subscribe with the channel objects exported here
 * (`poolTracing.acquire.subscribe({ start, asyncEnd, error })`) or by name
 * (`diagnostics_channel.tracingChannel('berth:pool:acquire')`).
 *
 * Nobody subscribed costs one `hasSubscribers` read per operation: no context is built and no
 * promise wrapped. (These are apart from the plain `berth:pool:*` channels of diagnostics.ts,
 * which publish one message per event.)
 */
import diagnostics, { type TracingChannel } from 'node:diagnostics_channel'

/** The context of a `berth:pool:acquire` trace. */
export interface PoolAcquireContext {
  /** The pool's name (option `name`). */
  readonly pool: string
  /** A shared slot was asked for (`acquire({ shared: true })`). */
  readonly shared: boolean
  /** How long the caller waited for the lease, ms; set when the acquire settles (success or failure). */
  waitMs?: number
  /** The lease, on success (set by `tracePromise`). */
  result?: unknown
  /** Why the acquire failed (set by `tracePromise`): a PoolError. */
  error?: unknown
}

/** The context of a `berth:pool:create` trace. */
export interface PoolCreateContext {
  /** The pool's name (option `name`). */
  readonly pool: string
  /** The new resource, on success (set by `tracePromise`). */
  result?: unknown
  /** Why the create failed (set by `tracePromise`). */
  error?: unknown
}

// biome-ignore lint/suspicious/noExplicitAny: the store type of TracingChannel is the subscriber's
export type BerthTracingChannel<C extends object> = TracingChannel<any, C>

/** The names of the core pool's tracing channels. */
export const POOL_TRACING_NAMES = {
  acquire: 'berth:pool:acquire',
  create: 'berth:pool:create',
} as const

/** The core pool's tracing channels. */
export const poolTracing = {
  acquire: diagnostics.tracingChannel(POOL_TRACING_NAMES.acquire) as BerthTracingChannel<PoolAcquireContext>,
  create: diagnostics.tracingChannel(POOL_TRACING_NAMES.create) as BerthTracingChannel<PoolCreateContext>,
} as const

/**
 * Whether anybody listens to any of a tracing channel's five events. `TracingChannel.hasSubscribers`
 * is Node 20.13+; before it, each channel is asked.
 */
export const tracing: (tc: BerthTracingChannel<object>) => boolean =
  'hasSubscribers' in poolTracing.acquire
    ? (tc) => (tc as { hasSubscribers: boolean }).hasSubscribers
    : (tc) =>
        tc.start.hasSubscribers ||
        tc.end.hasSubscribers ||
        tc.asyncStart.hasSubscribers ||
        tc.asyncEnd.hasSubscribers ||
        tc.error.hasSubscribers
