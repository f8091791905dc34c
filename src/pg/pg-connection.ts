import type pg from 'pg'
import type { Lease } from '../core/lease.js'
import { ConnectionBrokenError, ConnectionReleasedError, SessionStateError } from './errors.js'
import { breakClient } from './pg-client.js'
import {
  type CancelRunningQuery,
  type PgResult,
  type QueryOptions,
  callSignal,
  runQuery,
} from './pg-query.js'
import { PgQueryable } from './pg-queryable.js'
import { statementKind } from './statement-kind.js'

/** What a connection needs from its pool. */
export interface ConnectionHost {
  /** The pool's name, for traces. */
  readonly name: string
  /** Behind PgBouncer in transaction mode: refuse statements that leave session state. */
  readonly noSessionState: boolean
  readonly cancel: CancelRunningQuery
  /** Records a query's duration in ms. */
  recordQuery(ms: number): void
  readonly clock: () => number
}

/**
 * A connection held exclusively (from `db.acquire()`, or inside `db.tx()`). Give it back with
 * `release()`, or let `await using` do it. On release, a transaction left open or failed is rolled
 * back, session state (SET, LISTEN, temporary tables, session advisory locks, prepared statements)
 * is reset with DISCARD ALL, and a connection whose state cannot be trusted (an aborted query that
 * did not stop, a failed reset) is destroyed instead of reused.
 */
export class PgConnection extends PgQueryable implements AsyncDisposable {
  readonly #lease: Lease<pg.Client>
  readonly #host: ConnectionHost
  #broken = false
  /** A statement changed session state: DISCARD ALL before the next holder. */
  #dirty = false
  #released: Promise<void> | undefined
  /** Settles once an aborted query on this connection has been cancelled and has ended. */
  #settling: Promise<void> | undefined

  /** @internal made by the pool */
  constructor(lease: Lease<pg.Client>, host: ConnectionHost) {
    super()
    this.#lease = lease
    this.#host = host
  }

  /** The node-postgres client, for what berth does not wrap (COPY, LISTEN). Do not end it. */
  get client(): pg.Client {
    return this.#lease.resource
  }

  protected async run<R>(
    text: string,
    params: readonly unknown[] | undefined,
    options: QueryOptions | undefined,
  ): Promise<PgResult<R>> {
    if (this.#released !== undefined) {
      throw new ConnectionReleasedError()
    }
    if (statementKind(text) === 'session') {
      if (this.#host.noSessionState) throw new SessionStateError()
      this.#dirty = true
    }
    const { signal, timedOut } = callSignal(options)
    await this.#settled()
    if (this.#broken) {
      throw new ConnectionBrokenError('query')
    }
    const started = this.#host.clock()
    try {
      return await runQuery<R>(
        this.#host.name,
        this.#lease.resource,
        text,
        params,
        signal,
        this.#host.cancel,
        (settled) => {
          this.#settling = settled.then((usable) => {
            if (!usable) this.#markBroken()
          })
        },
      )
    } catch (err) {
      throw timedOut(err)
    } finally {
      this.#host.recordQuery(this.#host.clock() - started)
    }
  }

  /**
   * Gives the connection back to the pool (idempotent). Resolves once it is back; never rejects.
   * An open or failed transaction is rolled back first; if that fails, the connection is destroyed.
   */
  release(): Promise<void> {
    this.#released ??= this.#giveBack()
    return this.#released
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release()
  }

  /** @internal the pool marks a connection it must not reuse */
  markBroken(): void {
    this.#markBroken()
  }

  /** @internal the pool marks a connection whose session state must be reset before reuse */
  markDirty(): void {
    this.#dirty = true
  }

  #markBroken(): void {
    if (this.#broken) return
    this.#broken = true
    breakClient(this.#lease.resource) // a query that ignored its cancel ends here
  }

  /** Waits until an aborted query's cancel has landed, so it cannot hit the next statement. */
  async #settled(): Promise<void> {
    while (this.#settling !== undefined) {
      const s = this.#settling
      await s
      if (this.#settling === s) this.#settling = undefined
    }
  }

  async #giveBack(): Promise<void> {
    await this.#settled()
    const client = this.#lease.resource
    if (!this.#broken && client.getTransactionStatus() !== 'I') {
      try {
        await client.query('ROLLBACK')
      } catch {
        this.#broken = true
      }
      if (client.getTransactionStatus() !== 'I') this.#broken = true
    }
    if (!this.#broken && this.#dirty) {
      try {
        await client.query('DISCARD ALL') // settings, temp tables, prepared statements, listens, locks
      } catch {
        this.#broken = true
      }
    }
    if (this.#broken) this.#lease.destroy(new ConnectionBrokenError('release'))
    else this.#lease.release()
  }
}
