import type pg from 'pg'
import { InvalidOptionError } from '../core/errors.js'
import type { Lease } from '../core/lease.js'
import { INVALID, integer, option, readOptions, rule } from '../core/option-table.js'
import { PoolOwner } from '../core/pool-owner.js'
import type { PoolStats } from '../core/pool-stats.js'
import { Pool as CorePool } from '../core/pool.js'
import { CompatClientReleasedError, CompatPoolEndedError } from './errors.js'
import { endClient, openClient, pingClient } from './pg-client.js'
import { PgConnectionError, toPgError } from './pg-error.js'

type Callback<T> = (err: Error | undefined, result?: T) => void

/** A pg.Pool duration: a number >= 0, where 0 turns the limit off. */
const limit = rule('a number >= 0 (0 = no limit)', (v) =>
  typeof v === 'number' && !Number.isNaN(v) && v >= 0 ? v : INVALID,
)

/**
 * The pg.Pool options the drop-in reads itself (pg.Pool's milliseconds and seconds, checked under
 * pg.Pool's names rather than as the core options they become); the connection settings go to
 * pg.Client as given, and names pg.Pool does not know are passed over, as pg.Pool does.
 */
const COMPAT_OPTIONS = {
  max: option(integer(1), 10),
  min: option(integer(0), 0),
  idleTimeoutMillis: option(limit, 10_000),
  maxLifetimeSeconds: option(limit, 0),
  connectionTimeoutMillis: option(limit, 0),
} as const

/**
 * A drop-in for node-postgres' `pg.Pool` on berth's engine: the same constructor options, `query`
 * with promises or callbacks, `connect()` returning a client with `release(err?)`, `end()`, the
 * events `connect`/`acquire`/`release`/`remove`/`error` and the counts, so that existing code and
 * query builders (Kysely, Drizzle) switch with one import line.
 *
 * What differs, on purpose: an error on an idle client emits `'error'` only when somebody listens
 * (pg.Pool crashes a process that does not); a query error does not throw the client away unless
 * the connection broke; a client released inside a transaction is destroyed, not reused; and the
 * clients handed out are wrappers around pg.Client (berth does not patch driver objects): `query`,
 * `release`, `escapeIdentifier`, `escapeLiteral`, `on`/`off` for notifications, and `raw`.
 */
export class Pool extends PoolOwner<pg.Client> {
  /** The options as given (password non-enumerable). */
  readonly options: Readonly<pg.PoolConfig>
  /** The name berth's errors and stats give this pool. */
  readonly name = 'pg.Pool'
  readonly #pool: CorePool<pg.Client>
  readonly #wrappers = new WeakMap<pg.Client, PoolClient>()
  readonly #connectTimeoutMs: number

  /**
   * @throws InvalidOptionError naming the pg.Pool option at fault. Keys pg.Pool does not know are
   *   ignored, as pg.Pool does, so that existing configurations keep working.
   */
  constructor(options: pg.PoolConfig = {}) {
    super()
    const o = readOptions(COMPAT_OPTIONS, options, { of: 'pg.Pool', ignoreUnknown: true })
    const copy: pg.PoolConfig = { ...options }
    if ('password' in options) {
      Object.defineProperty(copy, 'password', { value: options.password, enumerable: false, writable: true })
    }
    this.options = copy
    // pg.Pool's milliseconds and seconds, 0 meaning "no limit", checked under pg.Pool's names
    // rather than as the core options they become.
    const idle = o.idleTimeoutMillis
    const lifetime = o.maxLifetimeSeconds > 0 ? o.maxLifetimeSeconds * 1000 : Number.POSITIVE_INFINITY
    const connectMs = o.connectionTimeoutMillis
    this.#connectTimeoutMs = connectMs > 0 ? connectMs : Number.POSITIVE_INFINITY
    this.#pool = new CorePool<pg.Client>({
      name: 'pg.Pool',
      create: async (signal) => {
        const client = await openClient(copy, signal, (c, err) => this.#onIdleError(c, err))
        const wrapper = new PoolClient(client, this)
        this.#wrappers.set(client, wrapper)
        this.emit('connect', wrapper)
        return client
      },
      destroy: async (client) => {
        const wrapper = this.#wrappers.get(client)
        if (wrapper) this.emit('remove', wrapper)
        await endClient(client)
      },
      validate: pingClient,
      max: o.max,
      min: o.min,
      maxIdleMs: idle > 0 ? idle : Number.POSITIVE_INFINITY,
      maxLifetimeMs: lifetime,
      maxLifetimeJitterMs: 0, // pg.Pool's maxLifetimeSeconds is exact
      acquireTimeoutMs: this.#connectTimeoutMs,
    })
  }

  /** True once `end()` (or `close()`, `destroy()`) was called. */
  get ending(): boolean {
    return this.state !== 'open'
  }

  /** True once `end()` has finished. */
  get ended(): boolean {
    return this.state === 'closed'
  }

  /** Clients open (idle, checked out, or connecting). */
  get totalCount(): number {
    return this.#pool.stats().total
  }

  get idleCount(): number {
    return this.#pool.stats().idle
  }

  /** Callers waiting for a client. */
  get waitingCount(): number {
    return this.#pool.stats().waiting
  }

  /** Clients past their lifetime still checked out (retired when released). */
  get expiredCount(): number {
    return 0
  }

  /** berth's statistics for this pool (frozen): the core pool's, with this pool's lifecycle `state`. */
  stats(): PoolStats {
    return Object.freeze({ ...this.#pool.stats(), state: this.state })
  }

  /** Checks out a client; give it back with `client.release()`. */
  connect(): Promise<PoolClient>
  connect(
    callback: (err: Error | undefined, client?: PoolClient, done?: (err?: Error | boolean) => void) => void,
  ): void
  connect(
    callback?: (err: Error | undefined, client?: PoolClient, done?: (err?: Error | boolean) => void) => void,
  ): Promise<PoolClient> | undefined {
    const p = this.#checkout()
    if (callback === undefined) return p
    p.then(
      (client) => callback(undefined, client, (err) => client.release(err)),
      (err: Error) => callback(err),
    )
    return undefined
  }

  /** Runs one query on a client of the pool, like `pg.Pool#query`: promise or callback. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string | pg.QueryConfig | pg.QueryArrayConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>
  query(
    text: string | pg.QueryConfig,
    values: unknown[] | undefined,
    callback: Callback<pg.QueryResult>,
  ): void
  query(text: string | pg.QueryConfig, callback: Callback<pg.QueryResult>): void
  query(
    text: string | pg.QueryConfig | pg.QueryArrayConfig,
    valuesOrCallback?: unknown[] | Callback<pg.QueryResult>,
    maybeCallback?: Callback<pg.QueryResult>,
  ): Promise<pg.QueryResult> | undefined {
    const values = typeof valuesOrCallback === 'function' ? undefined : valuesOrCallback
    const callback = typeof valuesOrCallback === 'function' ? valuesOrCallback : maybeCallback
    const p = this.#queryOnce(text, values)
    if (callback === undefined) return p
    p.then(
      (r) => callback(undefined, r),
      (err: Error) => callback(err),
    )
    return undefined
  }

  async #queryOnce(
    text: string | pg.QueryConfig | pg.QueryArrayConfig,
    values: unknown[] | undefined,
  ): Promise<pg.QueryResult> {
    const client = await this.#checkout()
    try {
      const result = await client.raw.query(text as pg.QueryConfig, values)
      client.release()
      return result
    } catch (err) {
      // Only a broken connection is thrown away; a SQL error leaves the client usable.
      client.release(toPgError(err) instanceof PgConnectionError ? (err as Error) : undefined)
      throw err
    }
  }

  /** Closes every client once it is released. A second call is an error, as with pg.Pool. */
  end(): Promise<void>
  end(callback: (err?: Error) => void): void
  end(callback?: (err?: Error) => void): Promise<void> | undefined {
    let p: Promise<void>
    if (this.ending) p = Promise.reject(new CompatPoolEndedError())
    else p = this.close()
    if (callback === undefined) return p
    p.then(
      () => callback(),
      (err: Error) => callback(err),
    )
    return undefined
  }

  /** `end()`/`close()` drain it; the base owns the deadline (default 30000 ms). */
  protected override corePool(): CorePool<pg.Client> {
    return this.#pool
  }

  /** @internal */
  releaseLease(lease: Lease<pg.Client>, wrapper: PoolClient, err: Error | boolean | undefined): void {
    this.emit('release', err instanceof Error ? err : undefined, wrapper)
    const client = lease.resource
    if (err || client.getTransactionStatus() !== 'I') {
      // broken, or released inside a transaction: it must not reach the next caller as it is
      lease.destroy(err instanceof Error ? err : undefined)
    } else {
      lease.release()
    }
  }

  async #checkout(): Promise<PoolClient> {
    const lease = await this.#pool.acquire()
    const wrapper = this.#wrappers.get(lease.resource)!
    wrapper.checkOut(lease)
    this.emit('acquire', wrapper)
    return wrapper
  }

  #onIdleError(client: pg.Client, err: unknown): void {
    this.#pool.invalidate(client)
    if (this.listenerCount('error') > 0) this.emit('error', err, this.#wrappers.get(client))
  }
}

/** A client checked out of {@link Pool}: a wrapper around a pg.Client. */
export class PoolClient {
  readonly #client: pg.Client
  readonly #pool: Pool
  #lease: Lease<pg.Client> | undefined

  /** @internal */
  constructor(client: pg.Client, pool: Pool) {
    this.#client = client
    this.#pool = pool
  }

  /** The underlying node-postgres client (do not `end()` it; `release()` instead). */
  get raw(): pg.Client {
    return this.#client
  }

  get processID(): number | null {
    return (this.#client as unknown as { processID: number | null }).processID
  }

  /** The same arguments as `pg.Client#query`: text or config, values, callback, or a Query object. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string | pg.QueryConfig | pg.QueryArrayConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>
  query(
    text: string | pg.QueryConfig,
    values: unknown[] | undefined,
    callback: Callback<pg.QueryResult>,
  ): void
  query(text: string | pg.QueryConfig, callback: Callback<pg.QueryResult>): void
  query<S extends pg.Submittable>(submittable: S): S
  query(...args: unknown[]): unknown {
    return (this.#client.query as (...a: unknown[]) => unknown).apply(this.#client, args)
  }

  /** Gives the client back; with an error (or `true`), it is destroyed instead of reused. */
  release(err?: Error | boolean): void {
    const lease = this.#lease
    if (lease === undefined) {
      throw new CompatClientReleasedError()
    }
    this.#lease = undefined
    this.#pool.releaseLease(lease, this, err)
  }

  escapeIdentifier(str: string): string {
    return this.#client.escapeIdentifier(str)
  }

  escapeLiteral(str: string): string {
    return this.#client.escapeLiteral(str)
  }

  on(event: 'notification' | 'notice', listener: (...args: unknown[]) => void): this {
    this.#client.on(event, listener)
    return this
  }

  off(event: 'notification' | 'notice', listener: (...args: unknown[]) => void): this {
    this.#client.off(event, listener)
    return this
  }

  /** @internal */
  checkOut(lease: Lease<pg.Client>): void {
    this.#lease = lease
  }
}
