import type pg from 'pg'
import { LatencyHistogram } from '../core/latency-histogram.js'
import type { Lease } from '../core/lease.js'
import type { ManagedOwner, OwnerHealth } from '../core/owner.js'
import { PoolOwner } from '../core/pool-owner.js'
import { Pool } from '../core/pool.js'
import { type BudgetOptions, type BudgetReport, LIMITS_QUERY, assessBudget, limitsFromRow } from './budget.js'
import { cancelRunningQuery } from './cancel-wait.js'
import type { ResolvedPgConfig } from './config.js'
import { endClient, pingClient } from './pg-client.js'
import { type ConnectionHost, PgConnection } from './pg-connection.js'
import { PgError, retryableTxError } from './pg-error.js'
import { connectToTarget } from './pg-hosts.js'
import { type PgPoolOptions, resolvePgPoolOptions } from './pg-pool-options.js'
import { PgPipeline } from './pg-pool-pipeline.js'
import { PgPoolStatements } from './pg-pool-statements.js'
import { type PgPoolStats, pgPoolStats } from './pg-pool-stats.js'
import type { PgResult, QueryOptions } from './pg-query.js'
import { retryTx } from './pg-tracing.js'
import { PgTransaction, type TxOptions, beginStatement, kTxOnce } from './pg-transaction.js'

/**
 * What an owner of PgPools (a PgCluster) hears from each: @internal, not part of createPgPool.
 */
export interface PgPoolHooks {
  /** A new connection is open, before anyone uses it. */
  connected?(client: pg.Client): void
  /** A connection broke outside a query (an error on an idle client). */
  broken?(client: pg.Client, err: unknown): void
  /**
   * Connections per instance the owner opens to the same server besides this pool (a PgCluster's
   * role probe: 1). The budget check at the first connection and `checkBudget()` count them
   * (BudgetOptions.extraConnections). Default 0.
   */
  readonly extraConnections?: number
}

/**
 * A PostgreSQL pool on node-postgres' Client: pgxpool's configuration and statistics, AbortSignal
 * cancellation, transactions with savepoints, and connections that never crash the process. On
 * the Lifecycle base: `close({ timeoutMs, signal })` drains and then escalates to `destroy()`.
 */
export class PgPool extends PoolOwner<pg.Client> implements ManagedOwner {
  /** The pool's name (option `name`, default 'pg'). */
  readonly name: string
  readonly #config: ResolvedPgConfig
  readonly #pool: Pool<pg.Client>
  readonly #queries = new LatencyHistogram()
  readonly #host: ConnectionHost
  readonly #statements: PgPoolStatements
  readonly #instances: number
  readonly #extraConnections: number
  #budgetPending: boolean
  #lastBudget: BudgetReport | undefined
  /** A probe() has succeeded: with minConns 0 that is the only sign the server is reachable. */
  #probed = false

  /** @throws PgConfigError naming the field and value at fault */
  constructor(input?: string | PgPoolOptions, options?: PgPoolOptions, hooks: PgPoolHooks = {}) {
    super()
    const o = resolvePgPoolOptions(input, options)
    const config = o.config
    this.#config = config
    this.name = o.name
    this.#instances = o.instances
    this.#extraConnections = hooks.extraConnections ?? 0
    this.#budgetPending = o.budgetCheck
    const record = (ms: number) => this.#queries.record(ms)
    const pipeline = o.pipeline ? new PgPipeline(o.pipelineSlowMs, record, o.name) : undefined
    const s = config.pool
    // node-postgres reads its settings through property access, so a derived object keeps the
    // non-enumerable password of the resolved config.
    const client: typeof config.client = o.pipeline
      ? Object.create(config.client, { pipeline: { value: true, enumerable: true } })
      : config.client
    this.#pool = new Pool<pg.Client>({
      name: o.name,
      create: async (signal) => {
        const c = await connectToTarget(client, config, signal, (broken, err) => {
          this.#pool.invalidate(broken)
          hooks.broken?.(broken, err)
        })
        hooks.connected?.(c)
        if (this.#budgetPending) {
          // once, on the first connection, before anyone else uses it
          this.#budgetPending = false
          await this.#assess(c, {}).then((r) => this.#warnIfOver(r), noop)
        }
        return c
      },
      capacity: o.pipeline ? o.pipelineDepth : 1,
      canShare: pipeline?.canShare,
      destroy: endClient,
      validate: pingClient,
      max: s.max,
      min: s.min,
      minIdle: s.minIdle,
      maxLifetimeMs: s.maxLifetimeMs,
      maxLifetimeJitterMs: s.maxLifetimeJitterMs,
      maxIdleMs: s.maxIdleMs,
      healthCheckPeriodMs: s.healthCheckPeriodMs,
      acquireTimeoutMs: o.acquireTimeoutMs,
      // While the server is unreachable, one connect at a time, at most a second apart (jittered),
      // so the pool is back to strength within about a second of the server's return.
      backoffInitialMs: 100,
      backoffMaxMs: 1_000,
    })
    const target = { host: client.host ?? 'localhost', port: client.port ?? 5432, ssl: client.ssl }
    this.#host = {
      name: o.name,
      noSessionState: o.noSessionState,
      // To the server this connection reached: with a host list, not necessarily the first.
      cancel: (c, settled) => cancelRunningQuery({ ...target, host: c.host, port: c.port }, c, settled),
      recordQuery: record,
      clock: () => performance.now(),
    }
    this.#statements = new PgPoolStatements(this.#pool, this.#host, pipeline)
  }

  /** The resolved configuration (its password masked when printed). */
  get config(): ResolvedPgConfig {
    return this.#config
  }

  /**
   * Runs a statement and returns its rows, row count and fields. `$1`, `$2`... take `params`.
   * Plain statements are pipelined on shared connections (option `pipeline`); one with a `signal`
   * or `timeoutMs`, or that changes session state, runs on a connection of its own.
   */
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<PgResult<R>> {
    return this.#statements.query<R>(text, params, options)
  }

  /** Runs a statement and returns its first row, or null when it returned none. */
  queryRow<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<R | null> {
    return this.#statements.queryRow<R>(text, params, options)
  }

  /** Runs a statement for its effect and returns the number of rows it touched. */
  exec(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<number> {
    return this.#statements.exec(text, params, options)
  }

  /** A connection for your exclusive use; give it back with `release()` or `await using`. */
  async acquire(options?: { signal?: AbortSignal }): Promise<PgConnection> {
    const lease: Lease<pg.Client> = await this.#pool.acquire({ signal: options?.signal })
    return new PgConnection(lease, this.#host)
  }

  /**
   * Runs `fn` in a transaction: committed when it returns, rolled back when it throws. `tx.tx()`
   * nests with savepoints. With `retries`, a serialization failure or deadlock runs `fn` again.
   */
  async tx<R>(fn: (tx: PgTransaction) => Promise<R>, options: TxOptions = {}): Promise<R> {
    const begin = beginStatement(fn, options)
    return retryTx(this.name, options.retries ?? 0, retryableTxError, () =>
      this.#txAttempt(fn, begin, options.signal),
    )
  }

  /** @internal One attempt of `tx()`, untraced: a PgCluster's `tx()` retries and traces it. */
  async [kTxOnce]<R>(fn: (tx: PgTransaction) => Promise<R>, options: TxOptions): Promise<R> {
    return this.#txAttempt(fn, beginStatement(fn, options), options.signal)
  }

  async #txAttempt<R>(
    fn: (tx: PgTransaction) => Promise<R>,
    begin: string,
    signal: AbortSignal | undefined,
  ): Promise<R> {
    const conn = await this.acquire({ signal })
    const runner = {
      run: <T>(t: string, p: readonly unknown[] | undefined, o: QueryOptions | undefined) =>
        conn.query<T>(t, p, o),
    }
    const tx = new PgTransaction(runner, signal)
    try {
      await conn.exec(begin, undefined, { signal })
      let result: R
      try {
        result = await fn(tx)
      } finally {
        tx.end()
      }
      await conn.exec('COMMIT', undefined, { signal })
      return result
    } finally {
      // release() rolls back an open or failed transaction (or destroys the connection)
      await conn.release()
    }
  }

  /**
   * Reads the server's max_connections and reserved connections and judges `maxConns x instances`
   * (plus, in a PgCluster, its probe connection per instance) against them with the seed's formula.
   * Warns (BERTH_PG_BUDGET) when over budget.
   */
  async checkBudget(options: BudgetOptions = {}): Promise<BudgetReport> {
    const conn = await this.acquire()
    try {
      const report = await this.#assess(conn.client, options)
      this.#warnIfOver(report)
      return report
    } finally {
      await conn.release()
    }
  }

  /** The last budget assessment, if one ran. */
  get budget(): BudgetReport | undefined {
    return this.#lastBudget
  }

  async #assess(client: pg.Client, options: BudgetOptions): Promise<BudgetReport> {
    const r = await client.query(LIMITS_QUERY)
    const report = assessBudget(limitsFromRow(r.rows[0]), this.#config.pool.max, {
      instances: this.#instances,
      extraConnections: this.#extraConnections,
      ...options,
    })
    this.#lastBudget = report
    return report
  }

  #warnIfOver(report: BudgetReport): void {
    if (report.overBudget)
      process.emitWarning(`Pool '${this.name}': ${report.summary}`, { code: 'BERTH_PG_BUDGET' })
  }

  /**
   * Retires every connection (pgxpool's `Reset()`): idle ones are ended now, those lent out when
   * they come back, and `minConns` new ones are opened. The pool stays open.
   * @returns how many connections were retired
   */
  reset(): number {
    return this.#pool.reset()
  }

  /**
   * Retires one connection of this pool: ended now when idle, when given back when lent out.
   * @internal for an owner of pools (PgCluster), which knows a connection points at the wrong server
   * @returns false when it is not (or no longer) this pool's
   */
  retire(client: pg.Client): boolean {
    return this.#pool.invalidate(client)
  }

  /** A frozen snapshot: name, lifecycle state, pgxpool's Stat() fields, latencies (ms) and the core pool's stats. */
  stats(): PgPoolStats {
    return pgPoolStats(this.state, this.#pool.stats(), this.#queries.summary())
  }

  /** Resolves once `minConns` connections are open. */
  ready(options?: { signal?: AbortSignal }): Promise<void> {
    return this.#pool.ready(options)
  }

  /**
   * Resolves once the pool can serve: `minConns` connections open, and, when that opened none
   * (minConns 0), one `SELECT 1` to prove the server answers. Rejects with the connect error or
   * when `signal` aborts. Safe to call again.
   */
  async probe(options?: { signal?: AbortSignal }): Promise<void> {
    await this.ready(options)
    const s = this.#pool.stats()
    if (s.total - s.creating === 0) await this.query('SELECT 1', [], { signal: options?.signal })
    this.#probed = true
  }

  /**
   * A frozen health summary, kind `'postgres'`: ready while open and either a connection is open
   * or (minConns 0, so none need be) a probe succeeded and no connect has failed since. `inUse` is
   * the connections lent out; `detail` has the connection counts, callers waiting and the last
   * connect error.
   */
  health(): OwnerHealth {
    const s = this.#pool.stats()
    const acquired = s.leased + s.shared
    // A pool with minConns 0 may hold no connection yet healthy: trust the probe until a connect fails.
    const connected = s.total - s.creating > 0
    const ready = this.state === 'open' && (connected || (this.#probed && s.consecutiveCreateFailures === 0))
    return Object.freeze({
      kind: 'postgres',
      ready,
      inUse: acquired,
      detail: Object.freeze({
        totalConns: s.total,
        idleConns: s.idle,
        acquiredConns: acquired,
        waiting: s.waiting,
        lastConnectError: s.lastCreateError,
      }),
    })
  }

  /** The pool of connections that close() drains and destroy() ends (connections lent out are in use). */
  protected override corePool(): Pool<pg.Client> {
    return this.#pool
  }
}

/**
 * Creates a PostgreSQL pool.
 * @param input a connection string (`postgres://user:pass@host:5432/db?pool_max_conns=10`) or options
 * @param options options that override the connection string
 */
export function createPgPool(input?: string | PgPoolOptions, options?: PgPoolOptions): PgPool {
  return new PgPool(input, options)
}

function noop(): void {}
