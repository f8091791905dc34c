/**
 * Pool-level statements (`db.query`, `queryRow`, `exec`): each goes either pipelined on a shared
 * connection (pg-pool-pipeline.ts) or, the lone-statement path here, on a connection of its own
 * for just that statement.
 */
import type pg from 'pg'
import { BerthError } from '../core/errors.js'
import type { Lease } from '../core/lease.js'
import type { Pool } from '../core/pool.js'
import { SessionStateError, UseTxError } from './errors.js'
import { type ConnectionHost, PgConnection } from './pg-connection.js'
import type { PgPipeline } from './pg-pool-pipeline.js'
import { type PgResult, type QueryOptions, callSignal, runQuery } from './pg-query.js'
import { PgQueryable } from './pg-queryable.js'
import { statementKind } from './statement-kind.js'

/** The statements a PgPool runs without a connection of the caller's. */
export class PgPoolStatements extends PgQueryable {
  readonly #pool: Pool<pg.Client>
  readonly #host: ConnectionHost
  /** Undefined when pipelining is off: every statement takes a connection of its own. */
  readonly #pipeline: PgPipeline | undefined

  constructor(pool: Pool<pg.Client>, host: ConnectionHost, pipeline: PgPipeline | undefined) {
    super()
    this.#pool = pool
    this.#host = host
    this.#pipeline = pipeline
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
      this.#pipeline !== undefined &&
      kind === 'shareable' &&
      options?.signal === undefined &&
      options?.timeoutMs === undefined
    ) {
      return this.#pipeline.run<R>(await this.#pool.acquire({ shared: true }), text, params)
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
      return await runQuery<R>(
        this.#host.name,
        client,
        text,
        params,
        signal,
        this.#host.cancel,
        (settled) => {
          settling = settled
        },
      )
    } catch (err) {
      throw timedOut(err)
    } finally {
      this.#host.recordQuery(performance.now() - started)
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
}
