/**
 * Read-your-writes: a session remembers the primary's WAL position after each of its writes, and
 * sends its reads only to a replica that has replayed that far, or to the primary (as GitLab's
 * database load balancer does). Hand `session.position` to another request or service and start a
 * session there from it (`db.session(position)`) to carry the guarantee along.
 */
import type { ReadOptions } from './cluster-reader.js'
import type { PgResult, QueryOptions } from './pg-query.js'
import type { PgTransaction, TxOptions } from './pg-transaction.js'
import { type WalPosition, walBytes } from './wal-position.js'

/** A position no server has reached: reads go to the primary. */
const PRIMARY_ONLY: WalPosition = 'FFFFFFFF/FFFFFFFF'

/** The cluster as a session uses it. */
export interface SessionCluster {
  query<R>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<PgResult<R>>
  tx<R>(fn: (tx: PgTransaction) => Promise<R>, options?: TxOptions): Promise<R>
  position(options?: QueryOptions): Promise<WalPosition>
  readonly read: {
    query<R>(text: string, params?: readonly unknown[], options?: ReadOptions): Promise<PgResult<R>>
  }
}

export class PgClusterSession {
  readonly #cluster: SessionCluster
  #position: WalPosition | undefined
  #bytes: bigint | undefined
  /** Reads of this session, which see its writes. */
  readonly read: {
    query<R = Record<string, unknown>>(
      text: string,
      params?: readonly unknown[],
      options?: ReadOptions,
    ): Promise<PgResult<R>>
    queryRow<R = Record<string, unknown>>(
      text: string,
      params?: readonly unknown[],
      options?: ReadOptions,
    ): Promise<R | null>
  }

  /** @internal made by `db.session()` */
  constructor(cluster: SessionCluster, position: WalPosition | undefined) {
    this.#cluster = cluster
    if (position !== undefined) this.observe(position)
    const read = <R>(text: string, params?: readonly unknown[], options?: ReadOptions) =>
      this.#cluster.read.query<R>(text, params, { ...options, after: this.#after(options?.after) })
    this.read = {
      query: read,
      queryRow: async <R>(text: string, params?: readonly unknown[], options?: ReadOptions) =>
        (await read<R>(text, params, options)).rows[0] ?? null,
    }
  }

  /**
   * The WAL position this session's reads must see: after its last write, or the one it was
   * started from. Undefined before any write.
   */
  get position(): WalPosition | undefined {
    return this.#position
  }

  /** Raises the session's position to `position` (a token from elsewhere), if it is further on. */
  observe(position: WalPosition): void {
    const b = walBytes(position, 'position')
    if (this.#bytes === undefined || b > this.#bytes) {
      this.#bytes = b
      this.#position = position
    }
  }

  /** A statement on the primary; the session's position moves past it. */
  async query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<PgResult<R>> {
    try {
      return await this.#cluster.query<R>(text, params, options)
    } finally {
      await this.#record(options)
    }
  }

  /** A statement on the primary; returns its first row. The session's position moves past it. */
  async queryRow<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<R | null> {
    return (await this.query<R>(text, params, options)).rows[0] ?? null
  }

  /** A statement on the primary for its effect; the session's position moves past it. */
  async exec(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<number> {
    return (await this.query(text, params, options)).rowCount
  }

  /** A transaction on the primary (as `db.tx`); the session's position moves past its commit. */
  async tx<R>(fn: (tx: PgTransaction) => Promise<R>, options?: TxOptions): Promise<R> {
    try {
      return await this.#cluster.tx(fn, options)
    } finally {
      await this.#record(options)
    }
  }

  /**
   * Reads the primary's position after a statement, even a failed one (it may have committed).
   * If that fails too, the session's reads go to the primary until its next write records one.
   */
  async #record(options: QueryOptions | undefined): Promise<void> {
    try {
      const now = await this.#cluster.position({ signal: options?.signal })
      if (this.#position === PRIMARY_ONLY) {
        // The primary's position now is past every write this session made.
        this.#position = undefined
        this.#bytes = undefined
      }
      this.observe(now)
    } catch {
      this.#bytes = walBytes(PRIMARY_ONLY)
      this.#position = PRIMARY_ONLY
    }
  }

  #after(asked: WalPosition | undefined): WalPosition | undefined {
    if (asked === undefined) return this.#position
    if (this.#bytes === undefined) return asked
    return walBytes(asked, 'after') > this.#bytes ? asked : this.#position
  }
}
