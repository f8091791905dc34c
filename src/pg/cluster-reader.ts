import { lostInFlight, notSent } from './cluster-calls.js'
/**
 * `db.read`: statements for a replica. Each goes to the replica in rotation (up, a standby, within
 * `maxReplicaLag`, and replayed past `after` when given) with the fewest reads in flight, on that
 * replica's pool (pipelined as the primary's is). With none, it runs on the primary, and the
 * cluster's stats count it (`readsOnPrimary`).
 */
import type { ClusterMember } from './cluster-member.js'
import type { PgPool } from './pg-pool.js'
import type { PgResult, QueryOptions } from './pg-query.js'
import { type WalPosition, walBytes } from './wal-position.js'

/** Options of a read: a query's, plus read-your-writes. */
export interface ReadOptions extends QueryOptions {
  /**
   * Only a server that has replayed this WAL position (a token from `db.position()` or a session)
   * may answer: a replica that has, else the primary. So the read sees the writes made before it.
   */
  after?: WalPosition
}

/** What the reader needs from its cluster. */
export interface ReaderHost {
  pick(after: bigint | undefined, skip: ReadonlySet<ClusterMember>): ClusterMember | undefined
  onPrimary<R>(run: (pool: PgPool) => Promise<R>, options: QueryOptions | undefined): Promise<R>
  /** A replica failed a call as a lost server does: probe again. */
  lost(m: ClusterMember): void
  closed(): Error
  readonly open: boolean
}

export class PgClusterReader {
  readonly #host: ReaderHost

  /** @internal made by the cluster */
  constructor(host: ReaderHost) {
    this.#host = host
  }

  /** Runs a read on a replica (or the primary) and returns its rows, row count and fields. */
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: ReadOptions,
  ): Promise<PgResult<R>> {
    return this.#route((p, o) => p.query<R>(text, params, o), options)
  }

  /** Runs a read on a replica (or the primary) and returns its first row, or null. */
  queryRow<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: ReadOptions,
  ): Promise<R | null> {
    return this.#route((p, o) => p.queryRow<R>(text, params, o), options)
  }

  async #route<R>(
    run: (pool: PgPool, options: QueryOptions | undefined) => Promise<R>,
    options: ReadOptions | undefined,
  ): Promise<R> {
    if (!this.#host.open) throw this.#host.closed()
    let query: QueryOptions | undefined = options
    let after: bigint | undefined
    if (options?.after !== undefined) {
      after = walBytes(options.after, 'after')
      const { after: _, ...rest } = options
      query = rest
    }
    const skip = new Set<ClusterMember>()
    for (;;) {
      const m = this.#host.pick(after, skip)
      if (m === undefined) return this.#host.onPrimary((p) => run(p, query), query)
      m.inFlight++
      try {
        const r = await run(m.pool, query)
        m.reads++
        return r
      } catch (err) {
        // Never sent (its connect failed): another replica, or the primary, may answer.
        if (notSent(err) && this.#host.open) {
          skip.add(m)
          this.#host.lost(m)
          continue
        }
        if (lostInFlight(err)) this.#host.lost(m)
        throw err
      } finally {
        m.inFlight--
      }
    }
  }
}
