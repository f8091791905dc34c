import {
  INVALID,
  type OptionErrorFactory,
  boolean,
  derived,
  integer,
  oneOf,
  option,
  readOptions,
  rule,
  string,
} from '../core/option-table.js'
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

/** A pool duration: milliseconds > 0 (or Infinity), or a Go-style string like `"5s"`. */
export const pgDuration = rule('a duration: milliseconds > 0 or a string like "5s"', (v, path) => {
  if (typeof v === 'string') return parseDuration(v, path)
  return typeof v === 'number' && v > 0 && !Number.isNaN(v) ? v : INVALID
})

/**
 * createPgPool's own options, one row each (the connection and pgxpool settings are read by
 * config.ts). Off PgBouncer, pipelining and the budget check default on; behind it, off.
 */
const PG_POOL_OPTIONS = {
  name: option(string({ nonEmpty: true }), 'pg'),
  acquireTimeout: option(pgDuration, 30_000),
  pgbouncer: option(oneOf('transaction', false), false),
  pipeline: derived(boolean(), (o) => o.pgbouncer === false),
  pipelineDepth: option(integer(1), 32),
  pipelineSlowQuery: option(pgDuration, 50),
  instances: option(integer(1), 1),
  budgetCheck: derived(boolean(), (o) => o.pgbouncer === false),
} as const

const pgError: OptionErrorFactory = (option, value, expected) => new PgConfigError(option, value, expected)

/**
 * Resolves the connection settings (config.ts) and reads the pool's own options from
 * {@link PG_POOL_OPTIONS}.
 * @throws PgConfigError naming the option and value at fault
 */
export function resolvePgPoolOptions(
  input: string | PgPoolOptions | undefined,
  options: PgPoolOptions | undefined,
): ResolvedPgPoolOptions {
  const config = resolvePgConfig(input, options)
  const o = readOptions(PG_POOL_OPTIONS, config.extra, { of: 'createPgPool', error: pgError })
  if (o.pgbouncer === 'transaction' && o.pipeline) {
    throw new PgConfigError('pipeline', true, "cannot be used with pgbouncer: 'transaction'")
  }
  return {
    config,
    name: o.name,
    acquireTimeoutMs: o.acquireTimeout,
    pipeline: o.pipeline,
    pipelineDepth: o.pipelineDepth,
    pipelineSlowMs: o.pipelineSlowQuery,
    instances: o.instances,
    budgetCheck: o.budgetCheck,
    noSessionState: o.pgbouncer === 'transaction',
  }
}
