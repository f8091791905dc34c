/**
 * Tracing channels of berth/pg (`diagnostics_channel.tracingChannel`), in the shape Node APM tools
 * subscribe to (as undici and node-postgres publish); see src/core/tracing.ts for the events.
 *
 * - `berth:pg:query` ({@link PgQueryContext}): one statement on the wire, from when it is sent on
 *   a connection (after the connection was acquired: that wait is `berth:pool:acquire`) until its
 *   result or error. Every `query`, `queryRow` and `exec` of a pool, a connection or a
 *   transaction, pipelined or not, and the BEGIN / COMMIT of a `tx()`.
 * - `berth:pg:transaction` ({@link PgTransactionContext}): one attempt of `db.tx()` (of a PgPool
 *   or a PgCluster): acquire, BEGIN, your function, COMMIT. A retry is a new trace with the next
 *   `attempt`; the failed attempt's context has `willRetry: true`.
 *
 * A context never holds parameter values: only the statement text (with its `$1` placeholders).
 * With nobody subscribed, a query pays one `hasSubscribers` read and builds nothing.
 */
import diagnostics from 'node:diagnostics_channel'
import type pg from 'pg'
import { type BerthTracingChannel, tracing } from '../core/tracing.js'
import { sqlOperation } from './statement-kind.js'

/** The context of a `berth:pg:query` trace. */
export interface PgQueryContext {
  /** The PgPool's name (option `name`). */
  readonly pool: string
  /** The statement text as given, placeholders and all. Never the parameter values. */
  readonly text: string
  /** The statement's first keyword, upper-cased: `SELECT`, `INSERT`, `WITH`, `COMMIT`... */
  readonly operation: string
  /** The server the connection reached (with a host list, the one it reached). */
  readonly host: string
  readonly port: number
  /** The database the connection is to. */
  readonly database: string | undefined
  /** The statement runs pipelined on a shared connection. */
  readonly pipelined: boolean
  /** The PgResult (rows, rowCount, fields), on success (set by `tracePromise`). */
  result?: unknown
  /** The PgError, PgConnectionError, QueryAbortedError... on failure (set by `tracePromise`). */
  error?: unknown
}

/** The context of a `berth:pg:transaction` trace. */
export interface PgTransactionContext {
  /** The name of the PgPool or PgCluster whose `tx()` it is. */
  readonly pool: string
  /** 1 for the first attempt, 2 for the first retry... */
  readonly attempt: number
  /** The `retries` option: at most this many attempts after the first. */
  readonly retries: number
  /** Set on failure: true when the failure is retried (a new trace with the next attempt follows). */
  willRetry?: boolean
  /** What your function returned, on success (set by `tracePromise`). */
  result?: unknown
  /** Why the attempt failed (set by `tracePromise`). */
  error?: unknown
}

/** The names of berth/pg's tracing channels. */
export const PG_TRACING_NAMES = {
  query: 'berth:pg:query',
  transaction: 'berth:pg:transaction',
} as const

/** berth/pg's tracing channels. */
export const pgTracing = {
  query: diagnostics.tracingChannel(PG_TRACING_NAMES.query) as BerthTracingChannel<PgQueryContext>,
  transaction: diagnostics.tracingChannel(
    PG_TRACING_NAMES.transaction,
  ) as BerthTracingChannel<PgTransactionContext>,
} as const

/** Whether anybody listens to `berth:pg:query`. */
export function tracingQueries(): boolean {
  return tracing(pgTracing.query)
}

/** Runs a statement under a `berth:pg:query` trace (call only when {@link tracingQueries}). */
export function traceQuery<R>(
  pool: string,
  client: pg.Client,
  text: string,
  pipelined: boolean,
  run: () => Promise<R>,
): Promise<R> {
  const ctx: PgQueryContext = {
    pool,
    text,
    operation: sqlOperation(text),
    host: client.host,
    port: client.port,
    database: client.database,
    pipelined,
  }
  return pgTracing.query.tracePromise(run, ctx)
}

/**
 * The retry loop of a `tx()`: runs `attempt` once, and again up to `retries` times while the
 * failure is one that `again` retries; each attempt under a `berth:pg:transaction` trace when
 * somebody listens.
 */
export async function retryTx<R>(
  pool: string,
  retries: number,
  again: (err: unknown) => boolean,
  attempt: () => Promise<R>,
): Promise<R> {
  for (let n = 1; ; n++) {
    try {
      if (!tracing(pgTracing.transaction)) return await attempt()
      const ctx: PgTransactionContext = { pool, attempt: n, retries }
      return await pgTracing.transaction.tracePromise(
        () =>
          attempt().catch((err: unknown) => {
            ctx.willRetry = n <= retries && again(err)
            throw err
          }),
        ctx,
      )
    } catch (err) {
      if (n <= retries && again(err)) continue
      throw err
    }
  }
}
