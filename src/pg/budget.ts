import { InvalidOptionError } from '../core/errors.js'

/** What the server allows, read from its settings. */
export interface ServerConnectionLimits {
  /** `max_connections`. */
  readonly maxConnections: number
  /** `superuser_reserved_connections`. */
  readonly superuserReserved: number
  /** `reserved_connections` (PostgreSQL 16+; 0 before). */
  readonly reserved: number
}

/** The inputs of the sizing formula, besides the server's limits. */
export interface BudgetOptions {
  /** How many instances of the service run this pool (replicas, pods, processes). Default 1. */
  instances?: number
  /** Requests in flight per instance at peak, when known. */
  concurrency?: number
  /** Queries a request runs at once (on average), when known. Default 1. */
  queriesPerRequest?: number
  /**
   * Connections each instance opens to the server besides the pool's (a PgCluster's role probe:
   * 1 per host). They count in the demand and come out of each instance's share. Default 0.
   */
  extraConnections?: number
}

/** The verdict on a pool size against the server's connection budget. */
export interface BudgetReport extends ServerConnectionLimits {
  readonly instances: number
  /** The pool's `maxConns` per instance. */
  readonly maxConns: number
  /** Connections per instance besides the pool's (`extraConnections`). */
  readonly extraConnections: number
  /** Connections left for applications: max_connections minus the reserved ones. */
  readonly available: number
  /** `(maxConns + extraConnections) × instances`: what the service may open at peak. */
  readonly demand: number
  /** `floor(available / instances)`: each instance's fair share. */
  readonly perInstanceBudget: number
  /**
   * The seed's formula: `min(concurrency × queriesPerRequest, available / instances)`, or the
   * per-instance budget alone when the concurrency is unknown; the extra connections come out of
   * the per-instance budget. At least 1.
   */
  readonly recommendedMaxConns: number
  /** True when `demand` exceeds `available`: at peak the server will refuse connections (53300). */
  readonly overBudget: boolean
  /** A sentence a person can act on. */
  readonly summary: string
}

/**
 * Applies the sizing formula. Pure: `berth doctor` and `db.checkBudget()` share it.
 *
 * @throws InvalidOptionError naming the argument or field at fault
 */
export function assessBudget(
  limits: ServerConnectionLimits,
  maxConns: number,
  options: BudgetOptions = {},
): BudgetReport {
  if (typeof limits !== 'object' || limits === null) {
    throw new InvalidOptionError(
      'limits',
      limits,
      'an object { maxConnections, superuserReserved, reserved }',
    )
  }
  for (const key of ['maxConnections', 'superuserReserved', 'reserved'] as const) {
    const v = limits[key]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new InvalidOptionError(`limits.${key}`, v, 'an integer >= 0')
    }
  }
  positiveInt('maxConns', maxConns)
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object')
  }
  const instances = positiveInt('instances', options.instances ?? 1)
  const extra = options.extraConnections ?? 0
  if (typeof extra !== 'number' || !Number.isInteger(extra) || extra < 0) {
    throw new InvalidOptionError('extraConnections', extra, 'an integer >= 0')
  }
  const available = Math.max(0, limits.maxConnections - limits.superuserReserved - limits.reserved)
  const perInstanceBudget = Math.floor(available / instances)
  const demand = (maxConns + extra) * instances
  const poolShare = perInstanceBudget - extra
  let recommended = poolShare
  if (options.concurrency !== undefined) {
    const perRequest = positiveInt('queriesPerRequest', options.queriesPerRequest ?? 1)
    recommended = Math.min(positiveInt('concurrency', options.concurrency) * perRequest, poolShare)
  }
  const overBudget = demand > available
  const perInstance = extra === 0 ? `maxConns ${maxConns}` : `(maxConns ${maxConns} + ${extra} other)`
  const summary = overBudget
    ? `${perInstance} x ${instances} instance(s) = ${demand} connections, but the server allows ${available} ` +
      `(max_connections ${limits.maxConnections} - ${limits.superuserReserved + limits.reserved} reserved): ` +
      `at peak it will refuse connections. Use maxConns <= ${Math.max(1, poolShare)}, or a pooler such as PgBouncer.`
    : `${perInstance} x ${instances} instance(s) = ${demand} of ${available} available connections.`
  return Object.freeze({
    ...limits,
    instances,
    maxConns,
    extraConnections: extra,
    available,
    demand,
    perInstanceBudget,
    recommendedMaxConns: Math.max(1, recommended),
    overBudget,
    summary,
  })
}

/** The SQL that reads the limits; `reserved_connections` is absent before PostgreSQL 16. */
export const LIMITS_QUERY = `select current_setting('max_connections')::int as max_connections,
  current_setting('superuser_reserved_connections')::int as superuser_reserved,
  coalesce(current_setting('reserved_connections', true), '0')::int as reserved`

export function limitsFromRow(row: {
  max_connections: number
  superuser_reserved: number
  reserved: number
}): ServerConnectionLimits {
  return {
    maxConnections: row.max_connections,
    superuserReserved: row.superuser_reserved,
    reserved: row.reserved,
  }
}

function positiveInt(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(field, value, 'an integer >= 1')
  }
  return value
}
