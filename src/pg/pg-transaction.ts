import { InvalidOptionError } from '../core/errors.js'
import { TransactionClosedError } from './errors.js'
import type { PgResult, QueryOptions } from './pg-query.js'
import { PgQueryable } from './pg-queryable.js'

/** Isolation levels of `BEGIN`. */
export type IsolationLevel = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable'

/** Options of `db.tx()`. */
export interface TxOptions {
  isolation?: IsolationLevel
  readOnly?: boolean
  /** Only meaningful with `serializable` and `readOnly`. */
  deferrable?: boolean
  /** Cancels the whole transaction: the wait for a connection and every statement in it. */
  signal?: AbortSignal
  /** Retries the whole function this many times after a serialization failure (40001) or deadlock (40P01). Default 0. */
  retries?: number
}

/** What a transaction runs its statements on: one exclusive connection. */
export interface TxRunner {
  run<R>(
    text: string,
    params: readonly unknown[] | undefined,
    options: QueryOptions | undefined,
  ): Promise<PgResult<R>>
}

const ISOLATION = new Set<IsolationLevel>([
  'read uncommitted',
  'read committed',
  'repeatable read',
  'serializable',
])

/**
 * Checks the arguments of `tx()` and builds the BEGIN statement; options are checked, never
 * interpolated from user text.
 *
 * @throws InvalidOptionError naming the argument or option at fault
 */
export function beginStatement(fn: unknown, o: TxOptions): string {
  if (typeof fn !== 'function') throw new InvalidOptionError('fn', fn, 'a function (tx) => Promise')
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError('options', o, 'an object')
  let sql = 'BEGIN'
  if (o.isolation !== undefined) {
    if (!ISOLATION.has(o.isolation)) {
      throw new InvalidOptionError('isolation', o.isolation, [...ISOLATION].map((i) => `'${i}'`).join(', '))
    }
    sql += ` ISOLATION LEVEL ${o.isolation.toUpperCase()}`
  }
  for (const flag of ['readOnly', 'deferrable'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') {
      throw new InvalidOptionError(flag, o[flag], 'true or false')
    }
  }
  if (o.readOnly === true) sql += ' READ ONLY'
  if (o.deferrable === true) sql += ' DEFERRABLE'
  const retries = o.retries ?? 0
  if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0) {
    throw new InvalidOptionError('retries', retries, 'an integer >= 0')
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new InvalidOptionError('signal', o.signal, 'an AbortSignal')
  }
  return sql
}

/**
 * A transaction in progress: `query`/`queryRow`/`exec` run inside it, and `tx()` nests with a
 * savepoint (rolled back to if the nested function throws). It is only valid while its function
 * runs; using it afterwards is a typed error.
 */
export class PgTransaction extends PgQueryable {
  readonly #runner: TxRunner
  readonly #signal: AbortSignal | undefined
  readonly #depth: number
  #open = true
  #savepoints = 0

  /** @internal made by `db.tx()` */
  constructor(runner: TxRunner, signal: AbortSignal | undefined, depth = 0) {
    super()
    this.#runner = runner
    this.#signal = signal
    this.#depth = depth
  }

  protected run<R>(
    text: string,
    params: readonly unknown[] | undefined,
    options: QueryOptions | undefined,
  ): Promise<PgResult<R>> {
    if (!this.#open) {
      return Promise.reject(new TransactionClosedError())
    }
    const own = options?.signal
    const signal =
      own === undefined || this.#signal === undefined
        ? (own ?? this.#signal)
        : AbortSignal.any([own, this.#signal])
    return this.#runner.run<R>(text, params, { ...options, signal })
  }

  /** Runs `fn` in a savepoint: released if it returns, rolled back to if it throws. */
  async tx<R>(fn: (tx: PgTransaction) => Promise<R>): Promise<R> {
    if (typeof fn !== 'function') throw new InvalidOptionError('fn', fn, 'a function (tx) => Promise')
    const name = `berth_sp_${this.#depth + 1}_${++this.#savepoints}`
    await this.run(`SAVEPOINT ${name}`, undefined, undefined)
    const inner = new PgTransaction(this.#runner, this.#signal, this.#depth + 1)
    try {
      const result = await fn(inner)
      await this.run(`RELEASE SAVEPOINT ${name}`, undefined, undefined)
      return result
    } catch (err) {
      await this.run(`ROLLBACK TO SAVEPOINT ${name}`, undefined, undefined)
      await this.run(`RELEASE SAVEPOINT ${name}`, undefined, undefined)
      throw err
    } finally {
      inner.end()
    }
  }

  /** @internal */
  end(): void {
    this.#open = false
  }
}

/** @internal PgPool's method for one untraced attempt of `tx()` (a PgCluster's `tx()` retries and traces it). */
export const kTxOnce = Symbol('berth.pg.txOnce')
