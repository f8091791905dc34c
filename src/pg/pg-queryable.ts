import { InvalidOptionError } from '../core/errors.js'
import type { PgResult, QueryOptions } from './pg-query.js'

/** `query`, `queryRow` and `exec`, shared by the pool, a connection and a transaction. */
export abstract class PgQueryable {
  /** Runs one statement; the one thing a subclass provides. */
  protected abstract run<R>(
    text: string,
    params: readonly unknown[] | undefined,
    options: QueryOptions | undefined,
  ): Promise<PgResult<R>>

  /** Runs a statement and returns its rows, row count and fields. `$1`, `$2`... take `params`. */
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<PgResult<R>> {
    const bad = checkStatement(text, params)
    return bad === undefined ? this.run<R>(text, params, options) : Promise.reject(bad)
  }

  /** Runs a statement and returns its first row, or null when it returned none. */
  async queryRow<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<R | null> {
    const bad = checkStatement(text, params)
    if (bad !== undefined) throw bad
    const r = await this.run<R>(text, params, options)
    return r.rows[0] ?? null
  }

  /** Runs a statement for its effect and returns the number of rows it touched. */
  async exec(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<number> {
    const bad = checkStatement(text, params)
    if (bad !== undefined) throw bad
    const r = await this.run(text, params, options)
    return r.rowCount
  }
}

/**
 * Two typeof checks per call, so that a wrong argument is a typed error before any connection is
 * taken, not a TypeError from deep inside (or a retryable "connection" error from) the driver.
 * Values are never shown: `params` holds user data.
 */
function checkStatement(text: unknown, params: unknown): InvalidOptionError | undefined {
  if (typeof text !== 'string') {
    return new InvalidOptionError('text', text, 'an SQL statement string', { hideValue: true })
  }
  if (params != null && !Array.isArray(params)) {
    return new InvalidOptionError('params', params, 'an array of values, or undefined', { hideValue: true })
  }
  return undefined
}
