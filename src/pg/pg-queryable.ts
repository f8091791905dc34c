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
    return this.run<R>(text, params, options)
  }

  /** Runs a statement and returns its first row, or null when it returned none. */
  async queryRow<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<R | null> {
    const r = await this.run<R>(text, params, options)
    return r.rows[0] ?? null
  }

  /** Runs a statement for its effect and returns the number of rows it touched. */
  async exec(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<number> {
    const r = await this.run(text, params, options)
    return r.rowCount
  }
}
