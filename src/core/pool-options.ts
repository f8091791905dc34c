import { coarseNow } from './coarse-clock.js'
import { InvalidOptionError } from './errors.js'

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

const KNOWN = new Set([
  'name',
  'create',
  'destroy',
  'validate',
  'min',
  'max',
  'minIdle',
  'capacity',
  'canShare',
  'spreadShared',
  'maxWaiting',
  'acquireTimeoutMs',
  'createTimeoutMs',
  'validateTimeoutMs',
  'destroyTimeoutMs',
  'maxLifetimeMs',
  'maxLifetimeJitterMs',
  'maxIdleMs',
  'healthCheckPeriodMs',
  'validateAfterIdleMs',
  'leakDetectionMs',
  'backoffInitialMs',
  'backoffMaxMs',
  'clock',
  'random',
])

/** Validates pool options, naming the field and the value at fault, and fills in defaults. */
export function resolvePoolOptions<T>(options: PoolOptions<T>): ResolvedPoolOptions<T> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', options, 'an object with create and destroy')
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key))
      throw new InvalidOptionError(
        key,
        (options as unknown as Record<string, unknown>)[key],
        'a known option (see PoolOptions)',
      )
  }
  const o = options
  const name = o.name ?? 'pool'
  if (typeof name !== 'string' || name.length === 0)
    throw new InvalidOptionError('name', name, 'a non-empty string')
  const create = fn('create', o.create, true)!
  const destroy = fn('destroy', o.destroy, true)!
  const max = integer('max', o.max, 10, 1)
  const min = integer('min', o.min, 0, 0)
  if (min > max) throw new InvalidOptionError('min', min, `at most max (${max})`)
  const minIdle = integer('minIdle', o.minIdle, 0, 0)
  if (minIdle > max) throw new InvalidOptionError('minIdle', minIdle, `at most max (${max})`)
  let capacity: number | ((r: T) => number) = 1
  if (typeof o.capacity === 'function') capacity = o.capacity
  else capacity = integer('capacity', o.capacity, 1, 1)
  const maxLifetimeMs = duration('maxLifetimeMs', o.maxLifetimeMs, Number.POSITIVE_INFINITY, false)
  const defaultJitter = Number.isFinite(maxLifetimeMs) ? maxLifetimeMs / 10 : 0
  const backoffInitialMs = duration('backoffInitialMs', o.backoffInitialMs, 100, false)
  const backoffMaxMs = duration('backoffMaxMs', o.backoffMaxMs, 10_000, false)
  if (backoffMaxMs < backoffInitialMs) {
    throw new InvalidOptionError(
      'backoffMaxMs',
      backoffMaxMs,
      `at least backoffInitialMs (${backoffInitialMs})`,
    )
  }
  return {
    name,
    create,
    destroy,
    validate: fn('validate', o.validate, false),
    min,
    max,
    minIdle,
    capacity,
    canShare: fn('canShare', o.canShare, false),
    spreadShared: bool('spreadShared', o.spreadShared, false),
    maxWaiting: integerOrInfinity('maxWaiting', o.maxWaiting, Number.POSITIVE_INFINITY, 0),
    acquireTimeoutMs: duration('acquireTimeoutMs', o.acquireTimeoutMs, 30_000, false),
    createTimeoutMs: duration('createTimeoutMs', o.createTimeoutMs, Number.POSITIVE_INFINITY, false),
    validateTimeoutMs: duration('validateTimeoutMs', o.validateTimeoutMs, 5_000, false),
    destroyTimeoutMs: duration('destroyTimeoutMs', o.destroyTimeoutMs, 5_000, false),
    maxLifetimeMs,
    maxLifetimeJitterMs: duration('maxLifetimeJitterMs', o.maxLifetimeJitterMs, defaultJitter, true),
    maxIdleMs: duration('maxIdleMs', o.maxIdleMs, Number.POSITIVE_INFINITY, false),
    healthCheckPeriodMs: duration('healthCheckPeriodMs', o.healthCheckPeriodMs, 60_000, false),
    validateAfterIdleMs: duration('validateAfterIdleMs', o.validateAfterIdleMs, 1_000, true),
    leakDetectionMs: duration('leakDetectionMs', o.leakDetectionMs, Number.POSITIVE_INFINITY, false),
    backoffInitialMs,
    backoffMaxMs,
    clock: fn('clock', o.clock, false) ?? coarseNow,
    random: fn('random', o.random, false) ?? Math.random,
  }
}

// biome-ignore lint/suspicious/noExplicitAny: validates arbitrary user functions
function fn<F extends (...args: any[]) => any>(
  field: string,
  value: F | undefined,
  required: boolean,
): F | undefined {
  if (value === undefined && !required) return undefined
  if (typeof value !== 'function') throw new InvalidOptionError(field, value, 'a function')
  return value
}

function integer(field: string, value: unknown, fallback: number, least: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < least) {
    throw new InvalidOptionError(field, value, `an integer >= ${least}`)
  }
  return value
}

function integerOrInfinity(field: string, value: unknown, fallback: number, least: number): number {
  if (value === Number.POSITIVE_INFINITY) return value
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < least) {
    throw new InvalidOptionError(field, value, `an integer >= ${least}, or Infinity`)
  }
  return value
}

/** A duration in ms: a finite number > 0 (or >= 0 when `zeroOk`), or `Infinity` for "never". */
function duration(field: string, value: unknown, fallback: number, zeroOk: boolean): number {
  if (value === undefined) return fallback
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (value === Number.POSITIVE_INFINITY || Number.isFinite(value)) &&
    (zeroOk ? value >= 0 : value > 0)
  if (!ok) {
    throw new InvalidOptionError(
      field,
      value,
      `a duration in milliseconds ${zeroOk ? '>= 0' : '> 0'}, or Infinity`,
    )
  }
  return value
}

function bool(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new InvalidOptionError(field, value, 'a boolean')
  return value
}
