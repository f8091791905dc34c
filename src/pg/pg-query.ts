import type pg from 'pg'
import { BerthError, InvalidOptionError } from '../core/errors.js'
import { toPgError } from './pg-error.js'
import { traceQuery, tracingQueries } from './pg-tracing.js'

/** A query's result: the rows, how many rows the command touched, and the column descriptions. */
export interface PgResult<R = Record<string, unknown>> {
  readonly rows: R[]
  readonly rowCount: number
  readonly fields: readonly pg.FieldDef[]
}

/** Options of one query. */
export interface QueryOptions {
  /**
   * Cancels the call: while waiting for a connection it gives up the wait; once the query is on
   * the wire the server is told to cancel it (CancelRequest), and the connection is reused once it
   * is ready again, or destroyed if it is not within a bound.
   */
  signal?: AbortSignal
  /**
   * Limits the whole call (the wait for a connection and the query) to this many ms; a query that
   * runs over is cancelled on the server like an aborted one (`QueryTimeoutError`). The pool-wide
   * limit is the `statement_timeout` setting, enforced by the server. Default none.
   */
  timeoutMs?: number
}

/**
 * The query was cancelled by its caller's AbortSignal (a CancelRequest stopped it on the server);
 * `cause` is the signal's reason. What to do: nothing, the caller asked for it.
 */
export class QueryAbortedError extends BerthError {
  constructor(reason: unknown) {
    super('BERTH_QUERY_ABORTED', 'Query aborted by its AbortSignal', { cause: reason })
  }
}

/**
 * The call (the wait for a connection and the query) ran past its `timeoutMs`; the query was
 * cancelled on the server. What to do: find why the query is slow (locks, a missing index), or
 * give it a larger `timeoutMs`; retrying a read is safe.
 */
export class QueryTimeoutError extends BerthError {
  readonly timeoutMs: number

  constructor(timeoutMs: number) {
    super('BERTH_QUERY_TIMEOUT', `Query timed out after ${timeoutMs} ms (timeoutMs) and was cancelled`)
    this.timeoutMs = timeoutMs
  }
}

/**
 * The signal a call runs under: the caller's, joined with a timer for `timeoutMs`. `timedOut`
 * turns an abort caused by that timer into a QueryTimeoutError.
 */
export function callSignal(options: QueryOptions | undefined): {
  signal: AbortSignal | undefined
  timedOut: (err: unknown) => unknown
} {
  const ms = options?.timeoutMs
  if (ms === undefined) return { signal: options?.signal, timedOut: (err) => err }
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms <= 0) {
    throw new InvalidOptionError('timeoutMs', ms, 'a duration in milliseconds > 0')
  }
  const timer = AbortSignal.timeout(ms) // its timer is unref'ed
  const signal = options?.signal === undefined ? timer : AbortSignal.any([options.signal, timer])
  return {
    signal,
    timedOut: (err) => {
      const byTimer = timer.aborted && (options?.signal === undefined || !options.signal.aborted)
      if (!byTimer) return err
      if (
        err instanceof QueryAbortedError ||
        (err instanceof BerthError && err.code === 'BERTH_ACQUIRE_ABORTED')
      ) {
        return new QueryTimeoutError(ms)
      }
      return err
    },
  }
}

/** How a running query is stopped when its signal aborts. Resolves true if the connection is still usable. */
export type CancelRunningQuery = (client: pg.Client, settled: Promise<unknown>) => Promise<boolean>

/**
 * Runs one query on a client, translating errors (PgError, PgConnectionError) and honouring the
 * signal. An abort rejects the call at once (QueryAbortedError), even when the server or the
 * network does not answer, and hands `onAbort` the settling of the connection: a promise that
 * resolves once the CancelRequest has been delivered and the query has ended, with whether the
 * connection can be reused (false: destroy it). The caller must not put the connection back to
 * work before it resolves, or a late cancel could hit the next statement.
 */
export function runQuery<R>(pool: string, ...args: QueryCall): Promise<PgResult<R>> {
  if (!tracingQueries()) return sendQuery<R>(...args)
  return traceQuery(pool, args[0], args[1], false, () => sendQuery<R>(...args))
}

/** What {@link runQuery} takes besides the pool's name (for its `berth:pg:query` trace). */
type QueryCall = [
  client: pg.Client,
  text: string,
  params: readonly unknown[] | undefined,
  signal: AbortSignal | undefined,
  cancel: CancelRunningQuery,
  onAbort: (settled: Promise<boolean>) => void,
]

async function sendQuery<R>(
  ...[client, text, params, signal, cancel, onAbort]: QueryCall
): Promise<PgResult<R>> {
  if (signal?.aborted) throw new QueryAbortedError(signal.reason)
  // Text and values as arguments, not a config object, which node-postgres would clone.
  const running = client.query<R & pg.QueryResultRow>(text, params as unknown[] | undefined)
  if (signal === undefined) return shape(await running.catch(rethrow))
  let abortNow: ((err: QueryAbortedError) => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    abortNow = reject
  })
  const onAbortEvent = () => {
    const settled = cancel(client, running).catch(() => false)
    onAbort(settled)
    abortNow!(new QueryAbortedError(signal.reason))
  }
  signal.addEventListener('abort', onAbortEvent, { once: true })
  try {
    return shape(await Promise.race([running, aborted]))
  } catch (err) {
    if (err instanceof QueryAbortedError) throw err
    throw toPgError(err)
  } finally {
    signal.removeEventListener('abort', onAbortEvent)
    running.catch(noop) // an aborted query's own outcome is no longer anyone's business
  }
}

function noop(): void {}

function shape<R>(r: pg.QueryResult<R & pg.QueryResultRow>): PgResult<R> {
  return { rows: r.rows, rowCount: r.rowCount ?? 0, fields: r.fields }
}

function rethrow(err: unknown): never {
  throw toPgError(err)
}
