/**
 * The demo's break-things actions (src/demo/api-types.ts): stop and start a backend, terminate
 * every database connection of the demo's pools, saturate the backends' pools. Each one appends to
 * the event log, so the dashboard and the terminal say what was done and when.
 */
import type { PgConnection } from '../pg/pg-connection.js'
import type { PgPool } from '../pg/pg-pool.js'
import type { BillingBackend } from './billing-server.js'
import { DemoActionError } from './errors.js'
import type { EventLog } from './events.js'

/** Default and bounds of the saturation hold, ms. */
export const SATURATE_DEFAULT_MS = 3000
export const SATURATE_MAX_MS = 60_000

export interface DemoActionsOptions {
  readonly backends: readonly BillingBackend[]
  /** A pool outside the backends' pools, for the terminate query. */
  readonly admin: PgPool
  /** The backends' pools set `application_name` to this prefix plus their id; nothing else does. */
  readonly applicationPrefix: string
  readonly events: EventLog
}

export class DemoActions {
  readonly #o: DemoActionsOptions
  /** Connections held by a saturation in progress, and its end. */
  #held: PgConnection[] | undefined
  #holdTimer: NodeJS.Timeout | undefined

  constructor(options: DemoActionsOptions) {
    this.#o = options
  }

  /** Stops backend `id` gracefully. @throws DemoActionError (unknown id, not up) */
  async stopBackend(id: string): Promise<string> {
    const backend = this.#backend(id)
    const started = performance.now()
    const { graceful } = await backend.stop()
    const ms = Math.round(performance.now() - started)
    return this.#event(
      `backend ${id} (${backend.address}) stopped ${graceful ? 'gracefully' : 'by force after the drain deadline'} in ${ms} ms`,
    )
  }

  /** Starts backend `id` on its port. @throws DemoActionError (unknown id, not stopped) */
  async startBackend(id: string): Promise<string> {
    const backend = this.#backend(id)
    await backend.start()
    return this.#event(`backend ${id} started again on ${backend.address}`)
  }

  /** `pg_terminate_backend()` on every server process serving the backends' pools. */
  async terminateDb(): Promise<string> {
    const row = await this.#o.admin.queryRow<{ terminated: string }>(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS terminated
       FROM pg_stat_activity
       WHERE datname = current_database() AND application_name LIKE $1 AND pid <> pg_backend_pid()`,
      [`${this.#o.applicationPrefix}%`],
    )
    const n = Number(row?.terminated ?? 0)
    return this.#event(`terminated ${n} database connection${n === 1 ? '' : 's'} (pg_terminate_backend)`)
  }

  /**
   * Takes every connection of every backend pool and holds them for `ms`: queries queue for a
   * connection, and fail after the pools' acquire timeout. Resolves once the connections are held.
   * @throws DemoActionError (a bad `ms`, or a saturation already running)
   */
  async saturate(ms: number = SATURATE_DEFAULT_MS): Promise<string> {
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > SATURATE_MAX_MS) {
      throw new DemoActionError(
        'BERTH_DEMO_BAD_REQUEST',
        `ms must be an integer from 1 to ${SATURATE_MAX_MS}`,
      )
    }
    if (this.#held !== undefined)
      throw new DemoActionError('BERTH_DEMO_CONFLICT', 'the pools are already saturated')
    const held: PgConnection[] = []
    this.#held = held
    const signal = AbortSignal.timeout(ms)
    const pools = [...new Set(this.#o.backends.map((b) => b.db))]
    const wanted = pools.reduce((n, db) => n + db.stats().maxConns, 0)
    await Promise.all(
      pools.flatMap((db) =>
        Array.from({ length: db.stats().maxConns }, async () => {
          try {
            const conn = await db.acquire({ signal })
            if (this.#held === held) held.push(conn)
            else await conn.release() // released (shutdown) before this one came
          } catch {
            // timed out or aborted: hold what we got
          }
        }),
      ),
    )
    if (this.#held !== held) return this.#event('saturation cancelled')
    this.#holdTimer = setTimeout(() => void this.release(), ms)
    this.#holdTimer.unref()
    return this.#event(
      `holding ${held.length} of ${wanted} connections of the backend pools for ${ms} ms: queries wait for a connection, and fail after the pools' acquire timeout`,
    )
  }

  /** Gives back the connections a saturation holds (at its end, or on shutdown). */
  async release(): Promise<void> {
    const held = this.#held
    if (held === undefined) return
    this.#held = undefined
    clearTimeout(this.#holdTimer)
    await Promise.all(held.map((c) => c.release()))
    this.#event(`released ${held.length} held connection${held.length === 1 ? '' : 's'}`)
  }

  #backend(id: string): BillingBackend {
    const backend = this.#o.backends.find((b) => b.id === id)
    if (backend === undefined) {
      const ids = this.#o.backends.map((b) => b.id).join(', ')
      throw new DemoActionError('BERTH_DEMO_NOT_FOUND', `no backend '${id}' (there are ${ids})`)
    }
    return backend
  }

  #event(message: string): string {
    this.#o.events.add(message)
    return message
  }
}
