/**
 * Plain statements pipelined on shared connections (node-postgres' pipeline mode): many in flight
 * on one connection, their writes batched per tick, and no new ones behind a slow one.
 */
import type pg from 'pg'
import type { Lease } from '../core/lease.js'
import { PgConnectionError, toPgError } from './pg-error.js'
import type { PgResult } from './pg-query.js'
import { traceQuery, tracingQueries } from './pg-tracing.js'

type Stream = { cork(): void; uncork(): void }

/** The shared-connection path of a PgPool. */
export class PgPipeline {
  readonly #name: string
  readonly #slowMs: number
  readonly #record: (ms: number) => void
  /** Start times of the statements in flight on each shared connection, oldest first. */
  readonly #inFlight = new WeakMap<pg.Client, number[]>()
  /** Sockets of shared connections corked for the current tick. */
  readonly #corked = new Set<Stream>()

  /**
   * @param slowMs a connection whose oldest statement has run this long (ms) takes no more
   * @param record receives each statement's round trip, ms
   */
  constructor(slowMs: number, record: (ms: number) => void, name: string) {
    this.#name = name
    this.#slowMs = slowMs
    this.#record = record
  }

  /** The core pool's `canShare`: false while the connection's oldest statement is slow. */
  readonly canShare = (client: pg.Client): boolean => {
    const q = this.#inFlight.get(client)
    return q === undefined || q.length === 0 || performance.now() - q[0]! < this.#slowMs
  }

  /** Runs a plain statement on a shared lease, and gives the lease back (destroyed if the connection broke). */
  run<R>(
    lease: Lease<pg.Client>,
    text: string,
    params: readonly unknown[] | undefined,
  ): Promise<PgResult<R>> {
    if (!tracingQueries()) return this.#run<R>(lease, text, params)
    return traceQuery(this.#name, lease.resource, text, true, () => this.#run<R>(lease, text, params))
  }

  async #run<R>(
    lease: Lease<pg.Client>,
    text: string,
    params: readonly unknown[] | undefined,
  ): Promise<PgResult<R>> {
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
      this.#record(performance.now() - started)
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
}
