/**
 * Typed errors. Every error berth throws is a `BerthError` with a stable `code`, so callers can
 * branch on `err.code` instead of parsing messages. Messages carry the facts a person needs to act:
 * the pool's name and its counts at the moment of failure, or the option at fault.
 */
import { describe, describeType, withholdsValue } from './option-value.js'

export { describe, describeType } from './option-value.js'

/** The counts a pool error reports, taken when the error was made. */
export interface PoolErrorContext {
  readonly pool: string
  readonly total: number
  readonly idle: number
  readonly leased: number
  readonly shared: number
  readonly creating: number
  readonly waiting: number
  readonly max: number
}

/**
 * Every code a berth error carries, by entry point. The README's "Errors" table lists each one with
 * its class; `test/core/error-catalogue.test.ts` fails when a code is used that is not listed here,
 * or listed here and not in the README.
 */
export const BERTH_ERROR_CODES = Object.freeze([
  // berth (core)
  'BERTH_INVALID_OPTION',
  'BERTH_POOL_CLOSED',
  'BERTH_POOL_DESTROYED',
  'BERTH_ACQUIRE_TIMEOUT',
  'BERTH_ACQUIRE_ABORTED',
  'BERTH_QUEUE_FULL',
  'BERTH_CREATE_FAILED',
  'BERTH_CREATE_TIMEOUT',
  'BERTH_DESTROY_TIMEOUT',
  'BERTH_LEASE_RELEASED',
  'BERTH_CLOSE_TIMEOUT',
  'BERTH_INTERNAL',
  // berth/pg
  'BERTH_PG_CONFIG',
  'BERTH_PG_QUERY',
  'BERTH_PG_CONNECTION',
  'BERTH_PG_CANCEL_FAILED',
  'BERTH_PG_SESSION_STATE',
  'BERTH_PG_USE_TX',
  'BERTH_QUERY_ABORTED',
  'BERTH_QUERY_TIMEOUT',
  'BERTH_TX_CLOSED',
  'BERTH_CONNECTION_RELEASED',
  'BERTH_CONNECTION_BROKEN',
  'BERTH_PG_FAILOVER',
  'BERTH_PG_NO_PRIMARY',
  'BERTH_PG_CLUSTER_CLOSED',
  // berth/grpc
  'BERTH_INVALID_TARGET',
  'BERTH_UNSUPPORTED',
  'BERTH_CONNECT_TIMEOUT',
  'BERTH_NOT_READY',
  'BERTH_INSECURE_CHANNEL',
  'BERTH_REGISTRY_CLOSED',
  'BERTH_MANAGER_CLOSED',
  'BERTH_SIGNAL',
  // berth/metrics
  'BERTH_MISSING_PEER_DEPENDENCY',
  'BERTH_METRICS_DUPLICATE_SOURCE',
  'BERTH_METRICS_NAME_CONFLICT',
  // berth/testing
  'BERTH_TEST_PG_START',
  'BERTH_TEST_PGBOUNCER_START',
  'BERTH_TEST_PGBOUNCER_NOT_INSTALLED',
  'BERTH_FAULT_PROXY_CLOSED',
  'BERTH_FAULT_PROXY_LISTEN',
  // the berth command (berth bench, berth doctor, berth demo)
  'BERTH_CLI',
  'BERTH_BENCH_WRONG_RESULT',
  'BERTH_BENCH_UNAVAILABLE',
  'BERTH_BENCH_STALLED',
  'BERTH_DEMO_NOT_FOUND',
  'BERTH_DEMO_CONFLICT',
  'BERTH_DEMO_BAD_REQUEST',
  'BERTH_DEMO_BILLING',
  'BERTH_DEMO_SHUTDOWN_TIMEOUT',
] as const)

/** The code of a berth error: one of {@link BERTH_ERROR_CODES}. */
export type BerthErrorCode = (typeof BERTH_ERROR_CODES)[number]

/**
 * The codes of the process warnings berth emits (`process.emitWarning(message, { code })`) when
 * something is wrong but nothing throws. `BERTH_INSECURE_CHANNEL` is also an error code: refused
 * without `allowInsecure`, warned with it.
 */
export const BERTH_WARNING_CODES = Object.freeze([
  'BERTH_LEASE_LEAK',
  'BERTH_PG_BUDGET',
  'BERTH_GRPC_OPTION',
  'BERTH_GRPC_LOG_FAILED',
  'BERTH_INSECURE_CHANNEL',
] as const)

/** The code of a berth process warning: one of {@link BERTH_WARNING_CODES}. */
export type BerthWarningCode = (typeof BERTH_WARNING_CODES)[number]

/**
 * Base class of every error berth throws: catch it to catch them all, and branch on `code`, which
 * never changes for a given failure (messages may be reworded).
 */
export class BerthError extends Error {
  readonly code: BerthErrorCode

  constructor(code: BerthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** Options of {@link InvalidOptionError}. */
export interface InvalidOptionErrorOptions {
  /**
   * Withhold the value and name only its type, for an argument that may hold user data (SQL text
   * or parameters, say). Default `false`; a value is withheld anyway when the option's name looks
   * secret or the value looks like it carries a credential (see `option-value.ts`).
   */
  readonly hideValue?: boolean
  /** The error behind this one, if any. */
  readonly cause?: unknown
}

/** The facts an option error's message is made of. */
export interface OptionErrorFacts {
  readonly option: string
  readonly value: unknown
  readonly expected: string
  readonly hidden: boolean
  /** The value as a message may show it: `describe(value)`, or only its type when hidden. */
  readonly shown: string
}

/**
 * An option or argument had a wrong type or an out-of-range value: `option` is its path as the
 * caller wrote it (`max`, `tls.ca`, `limits.maxConnections`, `keys[0]`), `value` the value at fault
 * and `expected` what it takes. Thrown at construction, or when the call is made, never later.
 *
 * The value is withheld (`hidden`, `value` undefined, the message names only its type) when the
 * caller of the constructor asks (`hideValue`), when the option's name looks secret (password,
 * passphrase, secret, token, authorization, or the word key), or when a string looks like it
 * carries a credential (a URL with a password, `password=...`).
 *
 * What to do: correct the option the message names. The adapters' option errors are subclasses
 * with their own code and wording (`PgConfigError`, `PgArgumentError`, `InvalidTargetError`), so
 * `instanceof InvalidOptionError` catches every one.
 */
export class InvalidOptionError extends BerthError {
  /** The option's path, as the caller wrote it. */
  readonly option: string
  /** The value at fault; `undefined` when it was withheld. */
  readonly value: unknown
  /** What the option takes (`an integer >= 1`), or what was wrong with it. */
  readonly expected: string
  /** True when the value was withheld from this error. */
  readonly hidden: boolean

  /** The code errors of this class carry; an adapter's subclass sets its own. */
  protected static readonly errorCode: BerthErrorCode = 'BERTH_INVALID_OPTION'

  /** The message, from the facts; an adapter's subclass words it its own way. */
  protected static formatMessage(facts: OptionErrorFacts): string {
    return `Invalid option ${facts.option}: ${facts.shown} (expected ${facts.expected})`
  }

  constructor(option: string, value: unknown, expected: string, options?: InvalidOptionErrorOptions) {
    const hidden = withholdsValue(option, value, options?.hideValue === true)
    const shown = hidden ? describeType(value) : describe(value)
    const kind = new.target
    super(
      kind.errorCode,
      kind.formatMessage({ option, value, expected, hidden, shown }),
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.option = option
    this.value = hidden ? undefined : value
    this.expected = expected
    this.hidden = hidden
  }
}

/** Base of the errors raised by a pool; `context` holds the pool's counts at the moment of failure. */
export class PoolError extends BerthError {
  readonly context: PoolErrorContext

  constructor(code: BerthErrorCode, what: string, context: PoolErrorContext, options?: { cause?: unknown }) {
    super(code, `${what} ${formatContext(context)}`, options)
    this.context = context
  }
}

/**
 * The pool is closing or closed: it takes no new work. Thrown by `acquire()` (and what is built on
 * it) after `close()` or `destroy()` began. What to do: nothing to retry on this pool; make a new
 * one, or stop the work that still uses it during shutdown.
 */
export class PoolClosedError extends PoolError {
  constructor(context: PoolErrorContext, options?: { cause?: unknown }) {
    super('BERTH_POOL_CLOSED', `Pool '${context.pool}' is closed`, context, options)
  }
}

/**
 * The pool was destroyed while this caller waited for a resource; `cause` is the reason given to
 * `destroy(reason)`. What to do: as for {@link PoolClosedError}; the cause says why it went.
 */
export class PoolDestroyedError extends PoolError {
  constructor(context: PoolErrorContext, options?: { cause?: unknown }) {
    super('BERTH_POOL_DESTROYED', `Pool '${context.pool}' was destroyed`, context, options)
  }
}

/**
 * No resource became free within the acquire timeout; while creating resources fails, `cause` is
 * the last create error. What to do: read the counts in `context`: every resource leased means the
 * pool is too small for the load or leases are held too long (see `leakDetectionMs`); `creating`
 * or a `cause` means the server is slow or down.
 */
export class AcquireTimeoutError extends PoolError {
  readonly timeoutMs: number

  constructor(context: PoolErrorContext, timeoutMs: number, options?: { cause?: unknown }) {
    super(
      'BERTH_ACQUIRE_TIMEOUT',
      `Timed out after ${timeoutMs} ms waiting for a resource from pool '${context.pool}'`,
      context,
      options,
    )
    this.timeoutMs = timeoutMs
  }
}

/**
 * The caller's AbortSignal fired while it waited; `cause` is the signal's reason. What to do:
 * nothing, the caller asked for it; do not count it as a pool failure.
 */
export class AcquireAbortedError extends PoolError {
  constructor(context: PoolErrorContext, reason: unknown) {
    super('BERTH_ACQUIRE_ABORTED', `Acquire from pool '${context.pool}' was aborted`, context, {
      cause: reason,
    })
  }
}

/**
 * The wait queue is at `maxWaiting`: the acquire was refused at once, so that an overloaded
 * service sheds load instead of queueing without bound. What to do: answer "busy" upstream (HTTP
 * 503, gRPC RESOURCE_EXHAUSTED) and retry later with backoff, or raise `max` or `maxWaiting`.
 */
export class QueueFullError extends PoolError {
  constructor(context: PoolErrorContext, maxWaiting: number) {
    super(
      'BERTH_QUEUE_FULL',
      `Pool '${context.pool}' refused an acquire: ${maxWaiting} callers are already waiting (maxWaiting)`,
      context,
    )
  }
}

/**
 * Creating a resource failed; `cause` is the factory's error. `retryInMs` is set when the pool is
 * backing off and refused to try again yet (fail fast rather than stampede a dead server). What to
 * do: look at `cause` (a refused connection, a wrong password); the pool keeps trying with backoff
 * on its own, so retry the work later rather than at once.
 */
export class CreateFailedError extends PoolError {
  readonly consecutiveFailures: number
  readonly retryInMs: number | undefined

  constructor(context: PoolErrorContext, cause: unknown, consecutiveFailures: number, retryInMs?: number) {
    const retry = retryInMs === undefined ? '' : `; next attempt in ${Math.ceil(retryInMs)} ms`
    super(
      'BERTH_CREATE_FAILED',
      `Pool '${context.pool}' could not create a resource (${consecutiveFailures} consecutive failure${consecutiveFailures === 1 ? '' : 's'}${retry}): ${messageOf(cause)}`,
      context,
      { cause },
    )
    this.consecutiveFailures = consecutiveFailures
    this.retryInMs = retryInMs
  }
}

/**
 * A `create()` call did not finish within `createTimeoutMs`; its AbortSignal was aborted with this
 * error, and a resource that still arrives is destroyed. Reaches callers as the `cause` of a
 * {@link CreateFailedError}. What to do: find why connecting hangs (a black-holed address, a
 * server that accepts but does not answer), or raise `createTimeoutMs` for a slow handshake.
 */
export class CreateTimeoutError extends BerthError {
  readonly timeoutMs: number

  constructor(pool: string, timeoutMs: number) {
    super(
      'BERTH_CREATE_TIMEOUT',
      `Pool '${pool}': create() did not finish within ${timeoutMs} ms (createTimeoutMs)`,
    )
    this.timeoutMs = timeoutMs
  }
}

/**
 * A `destroy()` call did not finish within `destroyTimeoutMs`: the pool stops waiting for it and
 * counts it in `stats().counters.destroyErrors`; it is never thrown to a caller. What to do: if the
 * counter grows, find why closing a resource hangs.
 */
export class DestroyTimeoutError extends BerthError {
  readonly timeoutMs: number

  constructor(timeoutMs: number) {
    super('BERTH_DESTROY_TIMEOUT', `destroy() did not finish within ${timeoutMs} ms (destroyTimeoutMs)`)
    this.timeoutMs = timeoutMs
  }
}

/**
 * `release()` or `destroy()` was called on a lease that was already given back. What to do: give
 * each lease back exactly once (`await using`, or one `finally`); a second release is a bug in the
 * calling code, which could otherwise return a resource someone else now holds.
 */
export class LeaseReleasedError extends BerthError {
  constructor(pool: string) {
    super('BERTH_LEASE_RELEASED', `Lease from pool '${pool}' was already released`)
  }
}

/**
 * `close({ timeoutMs })` ran out of time; the pool was destroyed with this error as the reason, so
 * it is the `cause` of the {@link PoolDestroyedError} of anyone still waiting. What to do: find the
 * leases held past shutdown (`leased` in the message), or give `close()` more time.
 */
export class CloseTimeoutError extends BerthError {
  constructor(pool: string, timeoutMs: number, leased: number) {
    super(
      'BERTH_CLOSE_TIMEOUT',
      `Pool '${pool}' did not drain within ${timeoutMs} ms (${leased} still leased); destroying it`,
    )
  }
}

/** A state the pool should never reach. Seeing one is a bug in berth: please report it, with the message. */
export class InternalError extends BerthError {
  constructor(message: string) {
    super('BERTH_INTERNAL', `berth internal error (a bug): ${message}`)
  }
}

function formatContext(c: PoolErrorContext): string {
  return `(total=${c.total} idle=${c.idle} leased=${c.leased} shared=${c.shared} creating=${c.creating} waiting=${c.waiting} max=${c.max})`
}

/** An error's message (its name when the message is empty), or the value as a string: for reports. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name
  return String(err)
}
