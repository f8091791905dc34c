import type pg from 'pg'
import { LatencyHistogram, type LatencySummary } from '../core/latency-histogram.js'
import type { Lease } from '../core/lease.js'
import type { CloseOptions, LifecycleState } from '../core/lifecycle.js'
import type { PoolStats } from '../core/pool-stats.js'
import { Pool } from '../core/pool.js'
import { type BudgetOptions, type BudgetReport, LIMITS_QUERY, assessBudget, limitsFromRow } from './budget.js'
import { backendKeyOf, sendCancelRequest } from './cancel-request.js'
import { type PgConfigOptions, type ResolvedPgConfig, resolvePgConfig } from './config.js'
import { parseDuration } from './duration.js'
import { PgConfigError, SessionStateError, UseTxError } from './errors.js'
import { breakClient, endClient, openClient, pingClient } from './pg-client.js'
import { type ConnectionHost, PgConnection } from './pg-connection.js'
import { PgConnectionError, PgError, toPgError } from './pg-error.js'
import { type PgResult, type QueryOptions, callSignal, runQuery } from './pg-query.js'
import { PgQueryable } from './pg-queryable.js'
import { PgTransaction, type TxOptions, beginStatement } from './pg-transaction.js'
import { statementKind } from './statement-kind.js'

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

/** pgxpool's Stat() fields, berth's core snapshot, and query latency. */
export interface PgPoolStats {
  readonly name: string
  /** The lifecycle state: open, closing, destroying, closed. */
  readonly state: LifecycleState
  /** Connections lent out (pgxpool AcquiredConns). */
  readonly acquiredConns: number
  readonly idleConns: number
  readonly totalConns: number
  readonly constructingConns: number
  readonly maxConns: number
  readonly acquireCount: number
  /** Total time callers spent waiting for connections, ms (pgxpool AcquireDuration). */
  readonly acquireDurationMs: number
  /** Acquires that had to wait because no connection was idle. */
  readonly emptyAcquireCount: number
  /** Acquires that ended by cancellation or timeout. */
  readonly canceledAcquireCount: number
  readonly newConnsCount: number
  readonly maxLifetimeDestroyCount: number
  readonly maxIdleDestroyCount: number
  /** Wait for a connection, ms: p50, p90, p99, max. */
  readonly acquireWaitMs: LatencySummary
  /** Query round trips, ms. */
  readonly queryMs: LatencySummary
  /** Ages of the open connections, ms. */
  readonly connectionAgeMs: PoolStats['resourceAgeMs']
  /** The generic pool's full snapshot. */
  readonly pool: PoolStats
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
 * A PostgreSQL pool on node-postgres' Client: pgxpool's configuration and statistics, AbortSignal
 * cancellation, transactions with savepoints, and connections that never crash the process.
 */
export class PgPool extends PgQueryable {
  readonly #config: ResolvedPgConfig
  readonly #pool: Pool<pg.Client>
  readonly #queries = new LatencyHistogram()
  readonly #host: ConnectionHost
  readonly #pipeline: boolean
  /** Start times of the statements in flight on each shared connection, oldest first. */
  readonly #inFlight = new WeakMap<pg.Client, number[]>()
  /** Sockets of shared connections corked for the current tick. */
  readonly #corked = new Set<{ cork(): void; uncork(): void }>()
  readonly #instances: number
  #budgetPending: boolean
  #lastBudget: BudgetReport | undefined

  /** @throws PgConfigError naming the field and value at fault */
  constructor(input?: string | PgPoolOptions, options?: PgPoolOptions) {
    super()
    const config = resolvePgConfig(input, options)
    this.#config = config
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
    this.#pipeline = pipeline
    const depth = extra.pipelineDepth ?? 32
    if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 1) {
      throw new PgConfigError('pipelineDepth', depth, 'must be an integer >= 1')
    }
    const slowMs = durationOption('pipelineSlowQuery', extra.pipelineSlowQuery, 50)
    const instances = extra.instances ?? 1
    if (typeof instances !== 'number' || !Number.isInteger(instances) || instances < 1) {
      throw new PgConfigError('instances', instances, 'must be an integer >= 1')
    }
    this.#instances = instances
    const budgetCheck = extra.budgetCheck ?? bouncer === false
    if (typeof budgetCheck !== 'boolean')
      throw new PgConfigError('budgetCheck', budgetCheck, 'must be true or false')
    this.#budgetPending = budgetCheck
    const s = config.pool
    // node-postgres reads its settings through property access, so a derived object keeps the
    // non-enumerable password of the resolved config.
    const client: typeof config.client = pipeline
      ? Object.create(config.client, { pipeline: { value: true, enumerable: true } })
      : config.client
    this.#pool = new Pool<pg.Client>({
      name,
      create: async (signal) => {
        const c = await openClient(client, signal, (broken) => this.#pool.invalidate(broken))
        if (this.#budgetPending) {
          // once, on the first connection, before anyone else uses it
          this.#budgetPending = false
          await this.#assess(c, {}).then((r) => this.#warnIfOver(r), noop)
        }
        return c
      },
      capacity: pipeline ? depth : 1,
      canShare: (c) => {
        const q = this.#inFlight.get(c)
        return q === undefined || q.length === 0 || performance.now() - q[0]! < slowMs
      },
      destroy: endClient,
      validate: pingClient,
      max: s.max,
      min: s.min,
      minIdle: s.minIdle,
      maxLifetimeMs: s.maxLifetimeMs,
      maxLifetimeJitterMs: s.maxLifetimeJitterMs,
      maxIdleMs: s.maxIdleMs,
      healthCheckPeriodMs: s.healthCheckPeriodMs,
      acquireTimeoutMs,
      // While the server is unreachable, one connect at a time, at most a second apart (jittered),
      // so the pool is back to strength within about a second of the server's return.
      backoffInitialMs: 100,
      backoffMaxMs: 1_000,
    })
    const clock = () => performance.now()
    const target = { host: client.host ?? 'localhost', port: client.port ?? 5432, ssl: client.ssl }
    this.#host = {
      noSessionState: bouncer === 'transaction',
      cancel: (c, settled) => cancelRunningQuery(target, c, settled),
      recordQuery: (ms) => this.#queries.record(ms),
      clock,
    }
  }

  /** The resolved configuration (its password masked when printed). */
  get config(): ResolvedPgConfig {
    return this.#config
  }

  protected async run<R>(
    text: string,
    params: readonly unknown[] | undefined,
    options: QueryOptions | undefined,
  ): Promise<PgResult<R>> {
    const kind = statementKind(text)
    if (kind === 'session' && this.#host.noSessionState) throw new SessionStateError()
    if (kind === 'begin') {
      throw new UseTxError()
    }
    // A signal or timeout runs exclusive: a CancelRequest stops whatever the backend runs, which on
    // a shared pipeline could be another caller's statement.
    if (
      this.#pipeline &&
      kind === 'shareable' &&
      options?.signal === undefined &&
      options?.timeoutMs === undefined
    ) {
      return this.#runShared<R>(text, params)
    }
    return this.#runExclusive<R>(text, params, options, kind === 'session')
  }

  /**
   * One statement on a connection of its own. The lease goes straight back when the connection is
   * clean; otherwise (session state, a transaction left open, an abort that did not stop) the
   * connection's full hygiene runs first.
   */
  async #runExclusive<R>(
    text: string,
    params: readonly unknown[] | undefined,
    options: QueryOptions | undefined,
    dirty: boolean,
  ): Promise<PgResult<R>> {
    const { signal, timedOut } = callSignal(options)
    let lease: Lease<pg.Client>
    try {
      lease = await this.#pool.acquire({ signal })
    } catch (err) {
      throw timedOut(err)
    }
    const client = lease.resource
    let settling: Promise<boolean> | undefined
    const started = performance.now()
    try {
      return await runQuery<R>(client, text, params, signal, this.#host.cancel, (settled) => {
        settling = settled
      })
    } catch (err) {
      throw timedOut(err)
    } finally {
      this.#queries.record(performance.now() - started)
      if (settling !== undefined) {
        // Aborted: the caller has its error; the connection goes back only once the cancel has
        // landed and the query has ended (or is destroyed if that does not happen in time).
        void settling.then((usable) => this.#giveBack(lease, dirty, !usable))
      } else {
        await this.#giveBack(lease, dirty, false)
      }
    }
  }

  async #giveBack(lease: Lease<pg.Client>, dirty: boolean, broken: boolean): Promise<void> {
    const client = lease.resource
    if (!dirty && !broken && client.getTransactionStatus() === 'I') lease.release()
    else {
      const conn = new PgConnection(lease, this.#host)
      if (broken) conn.markBroken()
      if (dirty) conn.markDirty()
      await conn.release()
    }
  }

  /** Runs a plain statement pipelined on a shared connection. */
  async #runShared<R>(text: string, params: readonly unknown[] | undefined): Promise<PgResult<R>> {
    const lease = await this.#pool.acquire({ shared: true })
    const client = lease.resource
    let queue = this.#inFlight.get(client)
    if (queue === undefined) {
      queue = []
      this.#inFlight.set(client, queue)
    }
    const started = performance.now()
    // Batch only behind statements already in flight; a lone statement is written at once.
    if (queue.length > 0) this.#cork(client)
    queue.push(started)
    try {
      // Text and values as arguments, not a config object, which node-postgres would clone.
      const r = await client.query<R & pg.QueryResultRow>(text, params as unknown[] | undefined)
      return { rows: r.rows, rowCount: r.rowCount ?? 0, fields: r.fields }
    } catch (err) {
      const e = toPgError(err)
      if (e instanceof PgConnectionError && !lease.released) lease.destroy(e)
      throw e
    } finally {
      const i = queue.indexOf(started)
      if (i >= 0) queue.splice(i, 1)
      this.#queries.record(performance.now() - started)
      if (!lease.released) lease.release()
    }
  }

  /**
   * Holds a shared connection's writes until the statements issued in this tick are all queued,
   * then sends them in one write: one syscall for a burst of pipelined statements instead of one
   * each (it was the largest single cost at 64 callers).
   */
  #cork(client: pg.Client): void {
    const stream = client.connection.stream
    if (this.#corked.has(stream)) return
    stream.cork()
    this.#corked.add(stream)
    if (this.#corked.size === 1) process.nextTick(this.#uncorkAll)
  }

  readonly #uncorkAll = (): void => {
    for (const stream of this.#corked) stream.uncork()
    this.#corked.clear()
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
    const retries = options.retries ?? 0
    const signal = options.signal
    for (let attempt = 0; ; attempt++) {
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
      } catch (err) {
        // release() rolls back an open or failed transaction (or destroys the connection)
        if (
          attempt < retries &&
          err instanceof PgError &&
          (err.sqlState === '40001' || err.sqlState === '40P01')
        ) {
          continue
        }
        throw err
      } finally {
        await conn.release()
      }
    }
  }

  /**
   * Reads the server's max_connections and reserved connections and judges `maxConns x instances`
   * against them with the seed's formula. Warns (BERTH_PG_BUDGET) when over budget.
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
      ...options,
    })
    this.#lastBudget = report
    return report
  }

  #warnIfOver(report: BudgetReport): void {
    if (report.overBudget)
      process.emitWarning(`Pool '${this.#pool.name}': ${report.summary}`, { code: 'BERTH_PG_BUDGET' })
  }

  /** A frozen snapshot with pgxpool's Stat() fields. */
  stats(): PgPoolStats {
    const p = this.#pool.stats()
    const c = p.counters
    return Object.freeze({
      name: p.name,
      state: p.state,
      acquiredConns: p.leased + p.shared,
      idleConns: p.idle,
      totalConns: p.total,
      constructingConns: p.creating,
      maxConns: p.max,
      acquireCount: c.acquires,
      acquireDurationMs: p.acquireWaitMs.mean * p.acquireWaitMs.count,
      emptyAcquireCount: c.waitedAcquires,
      canceledAcquireCount: c.cancellations + c.timeouts,
      newConnsCount: c.creates,
      maxLifetimeDestroyCount: c.destroys.lifetime,
      maxIdleDestroyCount: c.destroys.idle,
      acquireWaitMs: p.acquireWaitMs,
      queryMs: this.#queries.summary(),
      connectionAgeMs: p.resourceAgeMs,
      pool: p,
    })
  }

  /** The pool's name (option `name`, default 'pg'). */
  get name(): string {
    return this.#pool.name
  }

  /**
   * The lifecycle state. PgPool extends PgQueryable (query/queryRow/exec), so its lifecycle is its
   * core pool's, which is on the Lifecycle base: close()/destroy() below are that pool's.
   */
  get state(): LifecycleState {
    return this.#pool.state
  }

  /** Resolves once `minConns` connections are open. */
  ready(options?: { signal?: AbortSignal }): Promise<void> {
    return this.#pool.ready(options)
  }

  /** Graceful: no new work, let running work finish, close every connection; forced after `timeoutMs`. */
  close(options?: CloseOptions): Promise<void> {
    return this.#pool.close(options)
  }

  /** Forced: fails waiting callers and closes every connection at once. */
  destroy(reason?: unknown): Promise<void> {
    return this.#pool.destroy(reason)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
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

/** How long an aborted query may take to stop after its CancelRequest before its connection is destroyed. */
const CANCEL_SETTLE_MS = 5000

/**
 * Stops a query whose caller aborted: a CancelRequest to the server, then wait (bounded) for the
 * query to end. True if it ended, so the connection can be reused; false means destroy it.
 */
async function cancelRunningQuery(
  target: Parameters<typeof sendCancelRequest>[0],
  client: pg.Client,
  settled: Promise<unknown>,
): Promise<boolean> {
  const key = backendKeyOf(client)
  if (key === undefined) return false
  try {
    await sendCancelRequest(target, key, { timeoutMs: CANCEL_SETTLE_MS })
  } catch {
    return false
  }
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CANCEL_SETTLE_MS)
    timer.unref()
  })
  const ended = settled.then(
    () => true,
    () => true,
  )
  try {
    return await Promise.race([ended, late])
  } finally {
    clearTimeout(timer)
  }
}

function durationOption(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (value === Number.POSITIVE_INFINITY) return value
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value
  if (typeof value === 'string') return parseDuration(value, field)
  throw new PgConfigError(field, value, 'must be a duration: milliseconds > 0 or a string like "5s"')
}

function noop(): void {}
