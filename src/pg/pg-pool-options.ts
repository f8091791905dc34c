/** The options of `createPgPool` beyond the connection settings, and their checks. */
import { type PgConfigOptions, type ResolvedPgConfig, resolvePgConfig } from './config.js'
import { parseDuration } from './duration.js'
import { PgConfigError } from './errors.js'

/** Options of `createPgPool`: the connection and pgxpool settings, plus the pool's own. */
export interface PgPoolOptions extends PgConfigOptions {
  /** Name in errors, stats and metrics. Default: `'pg'`. */
  name?: string
  /** How long a call waits for a connection: ms or a duration string. Default 30 s. */
  acquireTimeout?: number | string
  /**
   * Multiplex plain statements: `db.query`/`queryRow`/`exec` outside a transaction are pipelined
   * over shared connections instead of taking one each. Default true.
   */
  pipeline?: boolean
  /** Most statements in flight on one shared connection. Default 32. */
  pipelineDepth?: number
  /**
   * A shared connection whose oldest statement has run longer than this (ms or a duration string)
   * takes no more, so one slow query does not hold up fast ones queued behind it. Default 50 ms.
   */
  pipelineSlowQuery?: number | string
  /**
   * Behind PgBouncer in transaction mode, a server connection belongs to a client only for one
   * transaction: `'transaction'` turns pipelining off and refuses statements that would leave
   * session state behind (SET, LISTEN, PREPARE, temporary tables...; use SET LOCAL in db.tx()),
   * and skips the budget check (PgBouncer has its own limits). Default: none.
   */
  pgbouncer?: 'transaction' | false
  /** Instances of the service sharing the server, for the connection-budget check. Default 1. */
  instances?: number
  /**
   * Check maxConns x instances against the server's max_connections when the first connection
   * opens, and warn (process warning BERTH_PG_BUDGET) when it does not fit. Default true.
   */
  budgetCheck?: boolean
}

/** The options of a PgPool, checked, with their defaults applied. */
export interface ResolvedPgPoolOptions {
  readonly config: ResolvedPgConfig
  readonly name: string
  readonly acquireTimeoutMs: number
  readonly pipeline: boolean
  readonly pipelineDepth: number
  readonly pipelineSlowMs: number
  readonly instances: number
  readonly budgetCheck: boolean
  /** Behind PgBouncer in transaction mode: refuse statements that leave session state. */
  readonly noSessionState: boolean
}

const POOL_KEYS = new Set([
  'name',
  'acquireTimeout',
  'pipeline',
  'pipelineDepth',
  'pipelineSlowQuery',
  'instances',
  'budgetCheck',
  'pgbouncer',
])

/**
 * Resolves the connection settings and checks the pool's own options.
 * @throws PgConfigError naming the field and value at fault
 */
export function resolvePgPoolOptions(
  input: string | PgPoolOptions | undefined,
  options: PgPoolOptions | undefined,
): ResolvedPgPoolOptions {
  const config = resolvePgConfig(input, options)
  const extra = config.extra
  for (const key of Object.keys(extra)) {
    if (!POOL_KEYS.has(key)) throw new PgConfigError(key, extra[key], 'is not an option of createPgPool')
  }
  const name = extra.name ?? 'pg'
  if (typeof name !== 'string' || name === '') {
    throw new PgConfigError('name', name, 'must be a non-empty string')
  }
  const acquireTimeoutMs = durationOption('acquireTimeout', extra.acquireTimeout, 30_000)
  const bouncer = extra.pgbouncer ?? false
  if (bouncer !== false && bouncer !== 'transaction') {
    throw new PgConfigError('pgbouncer', bouncer, "must be 'transaction' or false")
  }
  if (bouncer === 'transaction' && extra.pipeline === true) {
    throw new PgConfigError('pipeline', true, "cannot be used with pgbouncer: 'transaction'")
  }
  const pipeline = extra.pipeline ?? bouncer === false
  if (typeof pipeline !== 'boolean') throw new PgConfigError('pipeline', pipeline, 'must be true or false')
  const pipelineDepth = extra.pipelineDepth ?? 32
  if (typeof pipelineDepth !== 'number' || !Number.isInteger(pipelineDepth) || pipelineDepth < 1) {
    throw new PgConfigError('pipelineDepth', pipelineDepth, 'must be an integer >= 1')
  }
  const pipelineSlowMs = durationOption('pipelineSlowQuery', extra.pipelineSlowQuery, 50)
  const instances = extra.instances ?? 1
  if (typeof instances !== 'number' || !Number.isInteger(instances) || instances < 1) {
    throw new PgConfigError('instances', instances, 'must be an integer >= 1')
  }
  const budgetCheck = extra.budgetCheck ?? bouncer === false
  if (typeof budgetCheck !== 'boolean')
    throw new PgConfigError('budgetCheck', budgetCheck, 'must be true or false')
  return {
    config,
    name,
    acquireTimeoutMs,
    pipeline,
    pipelineDepth,
    pipelineSlowMs,
    instances,
    budgetCheck,
    noSessionState: bouncer === 'transaction',
  }
}

function durationOption(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (value === Number.POSITIVE_INFINITY) return value
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value
  if (typeof value === 'string') return parseDuration(value, field)
  throw new PgConfigError(field, value, 'must be a duration: milliseconds > 0 or a string like "5s"')
}
