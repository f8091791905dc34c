import { coarseNow } from './coarse-clock.js'
import { InvalidOptionError } from './errors.js'
import {
  boolean,
  derived,
  duration,
  either,
  func,
  integer,
  option,
  optional,
  readOptions,
  required,
  string,
} from './option-table.js'

/** What a validator says of a resource: `false` (or a throw) means unhealthy; anything else is healthy. */
// biome-ignore lint/suspicious/noConfusingVoidType: a validator may be `async (c) => { await c.ping() }`
export type ValidateResult = boolean | undefined | void

/**
 * Options of a {@link Pool}. Durations are milliseconds; `Infinity` turns a limit off.
 * Only `create` and `destroy` are required.
 */
export interface PoolOptions<T> {
  /** Name used in errors, stats and diagnostics. Default `'pool'`. */
  name?: string
  /**
   * Makes a resource. `signal` aborts when the pool is destroyed or `createTimeoutMs` passes; a
   * factory that ignores it still works, and a resource that arrives late is destroyed.
   */
  create: (signal: AbortSignal) => Promise<T>
  /** Ends a resource. Errors are swallowed (counted in stats); it is awaited at most `destroyTimeoutMs`. */
  destroy: (resource: T) => Promise<void> | void
  /** Checks an idle resource; return `false` or throw if it is unusable. Optional. */
  validate?: (resource: T, signal: AbortSignal) => Promise<ValidateResult> | ValidateResult
  /** Resources created at start and kept (refilled after loss). Default 0. */
  min?: number
  /** Most resources at once, counting those being created. Default 10. */
  max?: number
  /** Idle resources to keep ready (bounded by `max`), like pgxpool's MinIdleConns. Default 0. */
  minIdle?: number
  /**
   * How many shared leases one resource carries at once (an HTTP/2 channel's streams, a pipelined
   * connection's depth). A number, or a function read when the resource is created. Default 1.
   */
  capacity?: number | ((resource: T) => number)
  /**
   * Asked before a shared lease goes onto a resource that has room: return false to skip it for
   * now (a pipelined connection whose oldest query is slow, say). Called often: keep it cheap.
   * Default: every resource with room is eligible.
   */
  canShare?: (resource: T) => boolean
  /**
   * Where a shared lease goes when some resources are busy and others idle. `false` (default):
   * onto the least busy resource that has room, so idle ones stay idle and can be reaped (grow
   * only when full). `true`: onto an idle resource first, so load spreads over every resource
   * (fewest leases wins), as a fixed-size channel pool wants.
   */
  spreadShared?: boolean
  /** Most callers waiting at once; more are refused with `QueueFullError`. Default `Infinity`. */
  maxWaiting?: number
  /** How long `acquire()` waits before `AcquireTimeoutError`, unless the call sets its own. Default 30000. */
  acquireTimeoutMs?: number
  /** How long one `create()` may take before its signal aborts. Default `Infinity`. */
  createTimeoutMs?: number
  /** How long one `validate()` may take before the resource counts as unhealthy. Default 5000. */
  validateTimeoutMs?: number
  /** How long `destroy()` of a resource is awaited during shutdown. Default 5000. */
  destroyTimeoutMs?: number
  /** Age after which a resource is retired (at release if leased). Default `Infinity`. */
  maxLifetimeMs?: number
  /** Up to this much random extra lifetime per resource, so they do not all retire at once. Default 10% of `maxLifetimeMs`. */
  maxLifetimeJitterMs?: number
  /** Idle time after which a resource above `min` is destroyed. Default `Infinity`. */
  maxIdleMs?: number
  /** Period of the background check: idle resources are validated, expired ones replaced. Default 60000. */
  healthCheckPeriodMs?: number
  /** A resource idle longer than this is validated before it is lent (pgxpool's 1 s rule). Default 1000. */
  validateAfterIdleMs?: number
  /** A lease held longer than this is reported as a leak (event + counter) with its acquire stack. Default off. */
  leakDetectionMs?: number
  /** First delay after a failed create; it doubles up to `backoffMaxMs`, with full jitter. Default 100. */
  backoffInitialMs?: number
  /** Longest delay between create attempts while creation keeps failing. Default 10000. */
  backoffMaxMs?: number
  /** Monotonic clock in ms, injectable for tests. Default: `performance.now`, read at most once per 64 calls within one job (see coarse-clock.ts). */
  clock?: () => number
  /** Uniform random in [0, 1), injectable for tests. Default `Math.random`. */
  random?: () => number
}

/** Options after validation, with every default filled in. */
export interface ResolvedPoolOptions<T> {
  readonly name: string
  readonly create: (signal: AbortSignal) => Promise<T>
  readonly destroy: (resource: T) => Promise<void> | void
  readonly validate:
    | ((resource: T, signal: AbortSignal) => Promise<ValidateResult> | ValidateResult)
    | undefined
  readonly min: number
  readonly max: number
  readonly minIdle: number
  readonly capacity: number | ((resource: T) => number)
  readonly canShare: ((resource: T) => boolean) | undefined
  readonly spreadShared: boolean
  readonly maxWaiting: number
  readonly acquireTimeoutMs: number
  readonly createTimeoutMs: number
  readonly validateTimeoutMs: number
  readonly destroyTimeoutMs: number
  readonly maxLifetimeMs: number
  readonly maxLifetimeJitterMs: number
  readonly maxIdleMs: number
  readonly healthCheckPeriodMs: number
  readonly validateAfterIdleMs: number
  readonly leakDetectionMs: number
  readonly backoffInitialMs: number
  readonly backoffMaxMs: number
  readonly clock: () => number
  readonly random: () => number
}

/**
 * The table of `PoolOptions`: every option's rule and default, in one place. A default may use
 * the options above it (the jitter's is 10% of `maxLifetimeMs`).
 */
const POOL_OPTIONS = {
  name: option(string({ nonEmpty: true }), 'pool'),
  create: required(func<(signal: AbortSignal) => Promise<unknown>>()),
  destroy: required(func<(resource: unknown) => Promise<void> | void>()),
  validate: optional(
    func<(resource: unknown, signal: AbortSignal) => Promise<ValidateResult> | ValidateResult>(),
  ),
  min: option(integer(0), 0),
  max: option(integer(1), 10),
  minIdle: option(integer(0), 0),
  capacity: option(either(integer(1), func<(resource: unknown) => number>()), 1),
  canShare: optional(func<(resource: unknown) => boolean>()),
  spreadShared: option(boolean(), false),
  maxWaiting: option(integer(0, { infinity: true }), Number.POSITIVE_INFINITY),
  acquireTimeoutMs: option(duration(), 30_000),
  createTimeoutMs: option(duration(), Number.POSITIVE_INFINITY),
  validateTimeoutMs: option(duration(), 5_000),
  destroyTimeoutMs: option(duration(), 5_000),
  maxLifetimeMs: option(duration(), Number.POSITIVE_INFINITY),
  maxLifetimeJitterMs: derived(duration({ zero: true }), (o) => {
    const lifetime = o.maxLifetimeMs as number
    return Number.isFinite(lifetime) ? lifetime / 10 : 0
  }),
  maxIdleMs: option(duration(), Number.POSITIVE_INFINITY),
  healthCheckPeriodMs: option(duration(), 60_000),
  validateAfterIdleMs: option(duration({ zero: true }), 1_000),
  leakDetectionMs: option(duration(), Number.POSITIVE_INFINITY),
  backoffInitialMs: option(duration(), 100),
  backoffMaxMs: option(duration(), 10_000),
  clock: option(func<() => number>(), coarseNow),
  random: option(func<() => number>(), Math.random),
} as const

/**
 * Validates pool options from {@link POOL_OPTIONS}, naming the option and the value at fault, and
 * fills in defaults; then checks what relates two options.
 */
export function resolvePoolOptions<T>(options: PoolOptions<T>): ResolvedPoolOptions<T> {
  const o = readOptions(POOL_OPTIONS, options, { of: 'Pool' })
  if (o.min > o.max) throw new InvalidOptionError('min', o.min, `at most max (${o.max})`)
  if (o.minIdle > o.max) throw new InvalidOptionError('minIdle', o.minIdle, `at most max (${o.max})`)
  if (o.backoffMaxMs < o.backoffInitialMs) {
    throw new InvalidOptionError(
      'backoffMaxMs',
      o.backoffMaxMs,
      `at least backoffInitialMs (${o.backoffInitialMs})`,
    )
  }
  return o as ResolvedPoolOptions<T>
}
