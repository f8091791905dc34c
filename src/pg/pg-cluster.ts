/**
 * A Postgres primary and its standbys as one database: writes go to whichever server is the
 * primary now, reads (`db.read`) to the least busy replica within `maxReplicaLag`, and a failover
 * is something callers wait through (bounded) instead of a burst of errors. Each server has a
 * PgPool of its own; cluster-topology.ts decides who is primary and who is in rotation.
 */
import type pg from 'pg'
import { Lifecycle } from '../core/lifecycle.js'
import type { ManagedOwner, OwnerHealth } from '../core/owner.js'
import type { BudgetOptions, BudgetReport } from './budget.js'
import { lostInFlight, notSent } from './cluster-calls.js'
import { ClusterMember } from './cluster-member.js'
import {
  type PgClusterInput,
  type PgClusterOptions,
  type ResolvedPgClusterOptions,
  resolvePgClusterOptions,
} from './cluster-options.js'
import { PgClusterReader, type ReadOptions } from './cluster-reader.js'
import { PgClusterSession } from './cluster-session.js'
import { type PgClusterStats, clusterStats } from './cluster-stats.js'
import { ClusterTopology } from './cluster-topology.js'
import { PgClusterClosedError } from './errors.js'
import type { PgConnection } from './pg-connection.js'
import { PgError, PgFailoverError, retryableTxError } from './pg-error.js'
import type { PgPool } from './pg-pool.js'
import type { PgResult, QueryOptions } from './pg-query.js'
import { retryTx } from './pg-tracing.js'
import { type PgTransaction, type TxOptions, kTxOnce } from './pg-transaction.js'
import { type WalPosition, walBytes } from './wal-position.js'

export class PgCluster extends Lifecycle implements ManagedOwner {
  readonly name: string
  /** Reads: a replica within `maxReplicaLag` with the fewest reads in flight, else the primary. */
  readonly read: PgClusterReader
  readonly #o: ResolvedPgClusterOptions
  readonly #members: readonly ClusterMember[]
  readonly #topology: ClusterTopology
  /** Reads that found no replica in rotation and ran on the primary. */
  #readsOnPrimary = 0

  /** @throws PgConfigError naming the option or server at fault */
  constructor(input: PgClusterInput, options?: PgClusterOptions) {
    super()
    const o = resolvePgClusterOptions(input, options)
    this.#o = o
    this.name = o.name
    const members: ClusterMember[] = []
    try {
      for (const spec of o.hosts) {
        const member: ClusterMember = new ClusterMember(spec, {
          connected: (client) => this.#watch(client, () => member),
          broken: () => this.#topology?.hint(),
          // the member's role probe: one more connection per instance to this server
          extraConnections: 1,
        })
        members.push(member)
      }
    } catch (err) {
      for (const m of members) void m.pool.destroy(err)
      throw err
    }
    this.#members = members
    this.#topology = new ClusterTopology(members, o)
    const cluster = this
    this.read = new PgClusterReader({
      pick: (after, skip) => this.#pickReplica(after, skip),
      onPrimary: (run, options) => {
        this.#readsOnPrimary++
        return this.#onPrimary(run, options)
      },
      lost: () => this.#topology.hint(),
      closed: () => this.#closedError(),
      get open() {
        return cluster.state === 'open'
      },
    })
    this.#topology.start()
  }

  /** The server taking writes now (`host:port`), or undefined during a failover. */
  get primary(): string | undefined {
    return this.#topology.primary?.key
  }

  /** Runs a statement on the primary and returns its rows, row count and fields. */
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<PgResult<R>> {
    return this.#onPrimary((p) => p.query<R>(text, params, options), options)
  }

  /** Runs a statement on the primary and returns its first row, or null. */
  queryRow<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<R | null> {
    return this.#onPrimary((p) => p.queryRow<R>(text, params, options), options)
  }

  /** Runs a statement on the primary for its effect; returns the rows it touched. */
  exec(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<number> {
    return this.#onPrimary((p) => p.exec(text, params, options), options)
  }

  /** A connection to the primary for your exclusive use. */
  acquire(options?: { signal?: AbortSignal }): Promise<PgConnection> {
    return this.#onPrimary((p) => p.acquire(options), options)
  }

  /**
   * Runs `fn` in a transaction on the primary, as PgPool's `tx`. With `retries`, it runs `fn`
   * again after a serialization failure or deadlock and also after a failover cut it
   * (PgFailoverError): the only place the cluster re-runs work. A COMMIT cut in flight may have
   * committed, so retry only work that is safe to run twice.
   */
  async tx<R>(fn: (tx: PgTransaction) => Promise<R>, options: TxOptions = {}): Promise<R> {
    const again = (err: unknown) =>
      (err instanceof PgFailoverError || retryableTxError(err)) && this.state === 'open'
    return retryTx(this.name, options.retries ?? 0, again, () =>
      this.#onPrimary((p) => p[kTxOnce](fn, options), options),
    )
  }

  /**
   * The primary's WAL insert position now: a token for `db.read.query(..., { after })` that a
   * read honours by going only to a replica that has replayed that far, or to the primary.
   */
  async position(options?: QueryOptions): Promise<WalPosition> {
    const row = await this.#onPrimary(
      (p) => p.queryRow<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn', [], options),
      options,
    )
    return row!.lsn
  }

  /**
   * A read-your-writes session: its writes go to the primary and record the WAL position after
   * them; its reads (`session.read`) go only where that position has been replayed.
   * @param position a token from an earlier session or `db.position()` to start from
   */
  session(position?: WalPosition): PgClusterSession {
    if (position !== undefined) walBytes(position, 'position')
    return new PgClusterSession(this, position)
  }

  /**
   * Checks each server's max_connections against what this cluster points at it: its pool's
   * `maxConns` plus the role probe's connection, times `instances`
   * (`demand = (maxConns + 1) x instances`, `extraConnections` 1), as `PgPool.checkBudget` does
   * for one server. The automatic check at each pool's first connection counts the same. Servers
   * that do not answer are left out.
   */
  async checkBudget(options: BudgetOptions = {}): Promise<readonly { host: string; report: BudgetReport }[]> {
    const out = await Promise.all(
      this.#members.map((m) =>
        m.pool.checkBudget(options).then(
          (report) => ({ host: m.key, report }),
          () => undefined,
        ),
      ),
    )
    return out.filter((r) => r !== undefined)
  }

  /** A frozen snapshot: the primary, failovers, reads by target, and each host with its pool's stats. */
  stats(): PgClusterStats {
    return clusterStats(this.name, this.state, this.#topology, this.#members, this.#readsOnPrimary)
  }

  /**
   * Resolves once a primary is known and its pool can serve (see PgPool.probe); rejects when none
   * answers within `failoverTimeout` or `signal` aborts.
   */
  async probe(options?: { signal?: AbortSignal }): Promise<void> {
    await this.#onPrimary((p) => p.probe(options), options)
  }

  /**
   * Health, kind `'postgres-cluster'`: ready while open with a primary whose pool is ready.
   * `detail` names the primary, the replicas in rotation, and the hosts that are down.
   */
  health(): OwnerHealth {
    const p = this.#topology.primary
    const primaryHealth = p?.pool.health()
    return Object.freeze({
      kind: 'postgres-cluster',
      ready: this.state === 'open' && primaryHealth?.ready === true,
      inUse: this.inUse(),
      detail: Object.freeze({
        primary: p?.key ?? null,
        replicasInRotation: this.#members.filter((m) => m.inRotation).map((m) => m.key),
        down: this.#members.filter((m) => m.up === false).map((m) => m.key),
        failovers: this.#topology.failovers,
      }),
    })
  }

  protected override async onClose(): Promise<void> {
    this.#topology.stop(this.#closedError())
    await this.#topology.settled()
    await Promise.all(
      this.#members.map((m) =>
        Promise.all([m.endProbe(), m.pool.close({ timeoutMs: Number.POSITIVE_INFINITY })]),
      ),
    )
  }

  protected override async onDestroy(reason: unknown): Promise<void> {
    this.#topology.stop(this.#closedError(reason))
    await Promise.all(this.#members.map((m) => Promise.all([m.endProbe(), m.pool.destroy(reason)])))
  }

  protected override inUse(): number {
    let n = 0
    for (const m of this.#members) n += m.pool.health().inUse
    return n
  }

  #closedError(cause?: unknown): PgClusterClosedError {
    return new PgClusterClosedError(this.name, cause === undefined ? undefined : { cause })
  }

  /**
   * Runs `run` on the primary's pool. With no primary, waits for one (bounded by
   * `failoverTimeout`, the call's `timeoutMs` and its signal). A call whose connect failed is sent
   * to the next primary; one lost in flight fails with PgFailoverError and is never re-sent.
   */
  async #onPrimary<R>(run: (pool: PgPool) => Promise<R>, options?: QueryOptions): Promise<R> {
    if (this.state !== 'open') throw this.#closedError()
    const started = performance.now()
    const callMs = options?.timeoutMs
    const deadline = started + Math.min(this.#o.failoverTimeoutMs, callMs ?? Number.POSITIVE_INFINITY)
    for (;;) {
      const m =
        this.#topology.primary ??
        (await this.#topology.waitForPrimary(options?.signal, deadline, callMs, started))
      try {
        return await run(m.pool)
      } catch (err) {
        if (this.state !== 'open') throw err
        if (notSent(err)) {
          this.#topology.lost(m)
          continue
        }
        if (lostInFlight(err)) {
          this.#topology.lost(m)
          throw new PgFailoverError(m.key, err)
        }
        throw err
      }
    }
  }

  /** The replica in rotation (replayed past `after`, if given) with the fewest reads in flight. */
  #pickReplica(after: bigint | undefined, skip: ReadonlySet<ClusterMember>): ClusterMember | undefined {
    let best: ClusterMember | undefined
    let ties = 0
    for (const m of this.#members) {
      if (!m.inRotation || skip.has(m)) continue
      if (after !== undefined && !((m.last?.replayLsn ?? -1n) >= after)) continue
      if (best === undefined || m.inFlight < best.inFlight) {
        best = m
        ties = 1
      } else if (m.inFlight === best.inFlight && this.#o.randomTies && Math.random() * ++ties < 1) {
        best = m
      }
    }
    return best
  }

  /**
   * Watches a new connection's ParameterStatus: a session turning read-only, or a standby's
   * `in_hot_standby` going off when it is promoted, means the roles changed.
   */
  #watch(client: pg.Client, member: () => ClusterMember | undefined): void {
    const connection = (client as unknown as { connection?: NodeJS.EventEmitter }).connection
    connection?.on('parameterStatus', (msg: { parameterName: string; parameterValue: string }) => {
      if (msg.parameterName !== 'in_hot_standby' && msg.parameterName !== 'default_transaction_read_only')
        return
      const m = member()
      if (m !== undefined && msg.parameterValue === 'on' && m === this.#topology.primary) {
        this.#topology.lost(m)
        m.pool.reset()
      } else this.#topology.hint()
    })
  }
}

/**
 * Creates a cluster: a libpq multi-host string
 * (`postgres://app@pg-a:5432,pg-b:5432/billing?target_session_attrs=read-write`), or
 * `{ primary, replicas }`, each a connection string or a host's options.
 * @throws PgConfigError naming the option or server at fault
 */
export function createPgCluster(input: PgClusterInput, options?: PgClusterOptions): PgCluster {
  return new PgCluster(input, options)
}

export type { ReadOptions }
