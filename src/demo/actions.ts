/**
 * The demo's break-things actions (src/demo/api-types.ts): stop and start a backend, terminate
 * every database connection of the demo's pools, saturate the primary's pool, fail the embedded
 * primary over to its standby. Each one appends to the event log, so the dashboard and the
 * terminal say what was done and when.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { PgCluster } from '../pg/pg-cluster.js'
import type { PgConnection } from '../pg/pg-connection.js'
import type { PostgresCluster, PostgresStandby } from '../testing/postgres-cluster.js'
import type { PostgresServer } from '../testing/postgres-server.js'
import type { BillingBackend } from './billing-server.js'
import { DemoActionError } from './errors.js'
import type { EventLog } from './events.js'

/** Default and bounds of the saturation hold, ms. */
export const SATURATE_DEFAULT_MS = 3000
export const SATURATE_MAX_MS = 60_000
/** How long the fail-over action waits for the cluster to find the promoted primary, ms. */
export const FAILOVER_WAIT_MS = 15_000

export interface DemoActionsOptions {
  readonly backends: readonly BillingBackend[]
  /** A cluster outside the backends' one, for the terminate query. */
  readonly admin: PgCluster
  /** The cluster the backends share. */
  readonly cluster: PgCluster
  /** The connections of the backends' cluster set `application_name` to this; nothing else does. */
  readonly applicationName: string
  /** The embedded servers, for the fail-over action; undefined on DATABASE_URL. */
  readonly servers: PostgresCluster | undefined
  readonly events: EventLog
}

export class DemoActions {
  readonly #o: DemoActionsOptions
  /** Connections held by a saturation in progress, and its end. */
  #held: PgConnection[] | undefined
  #holdTimer: NodeJS.Timeout | undefined
  /** A fail-over in progress. */
  #failingOver = false
  /** The embedded server taking writes now, and the standby a fail-over promotes (none while rejoining). */
  #primary: PostgresServer | undefined
  #standbyServer: PostgresStandby | undefined

  constructor(options: DemoActionsOptions) {
    this.#o = options
    this.#primary = options.servers?.primary
    this.#standbyServer = options.servers?.standbys[0]
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

  /** `pg_terminate_backend()` on every server process serving the backends' cluster, on each server. */
  async terminateDb(): Promise<string> {
    const sql = `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS terminated
       FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`
    type Row = { terminated: string }
    const params = [this.#o.applicationName]
    // The primary, then the standby through db.read (the primary again when none is in rotation).
    const primary = await this.#o.admin.queryRow<Row>(sql, params)
    const standby = await this.#o.admin.read.queryRow<Row>(sql, params)
    const n = Number(primary?.terminated ?? 0) + Number(standby?.terminated ?? 0)
    return this.#event(`terminated ${n} database connection${n === 1 ? '' : 's'} (pg_terminate_backend)`)
  }

  /** Whether {@link failover} can run now. */
  get canFailOver(): boolean {
    return this.#standby() !== undefined && !this.#failingOver
  }

  /**
   * Fails over: stops the embedded primary (`pg_ctl stop`, fast) and promotes its standby, then
   * waits (at most {@link FAILOVER_WAIT_MS}) for the backends' cluster to take it as the primary.
   * Writes wait (or fail, if in flight) meanwhile; reads keep going to the standby until it is
   * promoted, then to the new primary. The old primary then rejoins as the new standby
   * (`cluster.rejoin`), so the next fail-over fails back to it.
   * @throws DemoActionError (BERTH_DEMO_BAD_REQUEST on DATABASE_URL, BERTH_DEMO_CONFLICT while one
   *   runs, or when the old primary could not rejoin)
   */
  async failover(): Promise<string> {
    const servers = this.#o.servers
    if (servers === undefined) {
      throw new DemoActionError(
        'BERTH_DEMO_BAD_REQUEST',
        'the demo runs on DATABASE_URL: it can only fail over the embedded primary and standby it starts itself',
      )
    }
    if (this.#failingOver) throw new DemoActionError('BERTH_DEMO_CONFLICT', 'a failover is already running')
    const standby = this.#standby()
    const oldServer = this.#primary
    if (standby === undefined || oldServer === undefined) {
      throw new DemoActionError(
        'BERTH_DEMO_CONFLICT',
        'no standby left to promote: the old primary did not rejoin after the last fail-over (restart the demo)',
      )
    }
    this.#failingOver = true
    try {
      const old = `${oldServer.host}:${oldServer.port}`
      const target = `${standby.host}:${standby.port}`
      this.#event(`failover: stopping the primary ${old}, promoting the standby ${target}`)
      const started = performance.now()
      await oldServer.stop()
      const stoppedMs = Math.round(performance.now() - started)
      await standby.promote()
      this.#primary = standby
      this.#standbyServer = undefined
      const promotedMs = Math.round(performance.now() - started)
      const deadline = performance.now() + FAILOVER_WAIT_MS
      while (this.#o.cluster.primary !== target && performance.now() < deadline) await sleep(50)
      const found = this.#o.cluster.primary === target
      const foundMs = Math.round(performance.now() - started)
      const outcome = found
        ? `the cluster writes to it since ${foundMs} ms`
        : `the cluster has not taken it as the primary after ${foundMs} ms`
      const done = this.#event(
        `failover: primary ${old} stopped in ${stoppedMs} ms, ${target} promoted at ${promotedMs} ms; ${outcome}`,
      )
      // The old primary comes back as the new standby, so the next fail-over fails back to it.
      try {
        this.#standbyServer = await servers.rejoin(oldServer)
        return `${done}; ${this.#event(`failover: ${old} rejoined as the standby of ${target}`)}`
      } catch (err) {
        return `${done}; ${this.#event(`failover: ${old} could not rejoin as a standby: ${(err as Error).message}`)}`
      }
    } finally {
      this.#failingOver = false
    }
  }

  /**
   * Takes every connection of the primary's pool of the backends' cluster and holds them for `ms`:
   * writes queue for a connection, and fail after the pool's acquire timeout; reads on the standby
   * go on. Resolves once the connections are held.
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
      throw new DemoActionError('BERTH_DEMO_CONFLICT', "the primary's pool is already saturated")
    const held: PgConnection[] = []
    this.#held = held
    const signal = AbortSignal.timeout(ms)
    const db = this.#o.cluster
    const stats = db.stats()
    const wanted = stats.hosts.find((h) => h.host === stats.primary)?.pool.maxConns ?? 0
    await Promise.all(
      Array.from({ length: wanted }, async () => {
        try {
          const conn = await db.acquire({ signal })
          if (this.#held === held) held.push(conn)
          else await conn.release() // released (shutdown) before this one came
        } catch {
          // timed out or aborted: hold what we got
        }
      }),
    )
    if (this.#held !== held) return this.#event('saturation cancelled')
    this.#holdTimer = setTimeout(() => void this.release(), ms)
    this.#holdTimer.unref()
    return this.#event(
      `holding ${held.length} of ${wanted} connections of the primary's pool for ${ms} ms: writes wait for a connection, and fail after the pool's acquire timeout`,
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

  /** The standby to promote: the one that is not the primary now. */
  #standby(): PostgresStandby | undefined {
    return this.#standbyServer
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
