/**
 * Typed errors. Every error berth throws is a `BerthError` with a stable `code`, so callers can
 * branch on `err.code` instead of parsing messages. Messages carry the facts a person needs to act:
 * the pool's name and its counts at the moment of failure, or the option at fault.
 */

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

export type BerthErrorCode =
  | 'BERTH_INVALID_OPTION'
  | 'BERTH_POOL_CLOSED'
  | 'BERTH_POOL_DESTROYED'
  | 'BERTH_ACQUIRE_TIMEOUT'
  | 'BERTH_ACQUIRE_ABORTED'
  | 'BERTH_QUEUE_FULL'
  | 'BERTH_CREATE_FAILED'
  | 'BERTH_LEASE_RELEASED'
  | 'BERTH_CLOSE_TIMEOUT'
  | 'BERTH_INTERNAL'

/** Base class of every error berth throws. */
export class BerthError extends Error {
  readonly code: BerthErrorCode | (string & {})

  constructor(code: BerthErrorCode | (string & {}), message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/**
 * An option or argument had a wrong type or an out-of-range value. Thrown at construction (or
 * when the call is made), never later. With `hideValue` (an argument that may hold user data), the
 * message gives only the value's type and `value` is undefined.
 */
export class InvalidOptionError extends BerthError {
  readonly option: string
  readonly value: unknown

  constructor(option: string, value: unknown, expected: string, options?: { hideValue?: boolean }) {
    const hide = options?.hideValue === true
    const shown = hide ? describeType(value) : describe(value)
    super('BERTH_INVALID_OPTION', `Invalid option ${option}: ${shown} (expected ${expected})`)
    this.option = option
    this.value = hide ? undefined : value
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

/** The pool is closing or closed: it takes no new work. */
export class PoolClosedError extends PoolError {
  constructor(context: PoolErrorContext, options?: { cause?: unknown }) {
    super('BERTH_POOL_CLOSED', `Pool '${context.pool}' is closed`, context, options)
  }
}

/** The pool was destroyed while this caller waited for a resource. `cause` is the reason given. */
export class PoolDestroyedError extends PoolError {
  constructor(context: PoolErrorContext, options?: { cause?: unknown }) {
    super('BERTH_POOL_DESTROYED', `Pool '${context.pool}' was destroyed`, context, options)
  }
}

/** No resource became free within the acquire timeout. */
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

/** The caller's AbortSignal fired while it waited. `cause` is the signal's reason. */
export class AcquireAbortedError extends PoolError {
  constructor(context: PoolErrorContext, reason: unknown) {
    super('BERTH_ACQUIRE_ABORTED', `Acquire from pool '${context.pool}' was aborted`, context, {
      cause: reason,
    })
  }
}

/** The wait queue is at `maxWaiting`; the acquire was refused at once. */
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
 * Creating a resource failed. `cause` is the factory's error. `retryInMs` is set when the pool is
 * backing off and refused to try again yet (fail fast rather than stampede a dead server).
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

/** `release()` or `destroy()` was called on a lease that was already given back. */
export class LeaseReleasedError extends BerthError {
  constructor(pool: string) {
    super('BERTH_LEASE_RELEASED', `Lease from pool '${pool}' was already released`)
  }
}

/** `close({ timeoutMs })` ran out of time; the pool was destroyed with this error as the reason. */
export class CloseTimeoutError extends BerthError {
  constructor(pool: string, timeoutMs: number, leased: number) {
    super(
      'BERTH_CLOSE_TIMEOUT',
      `Pool '${pool}' did not drain within ${timeoutMs} ms (${leased} still leased); destroying it`,
    )
  }
}

/** A state the pool should never reach. Seeing one is a bug in berth: please report it. */
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

/** Names a value's type only (`a string`, `null`, `an array`), for values that must not be shown. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/** Renders a value for an error message without dumping large objects. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}
