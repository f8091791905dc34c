import { unrefInterval } from '../core/timers.js'
/**
 * Builds the demo's {@link DemoState} from the snapshots of its parts, and watches them once a
 * second: the server-side ages of the pools' connections (pool stats give only min/max/mean; the
 * dashboard draws each one), and the backends entering and leaving the client's rotation, which
 * it writes to the event log so the healing is on record next to the breaking, as it does the
 * Postgres cluster's servers going down and up and its primary moving.
 */
import type { ChannelPool } from '../grpc/channel-pool.js'
import type { PgCluster } from '../pg/pg-cluster.js'
import type { PgPoolStats } from '../pg/pg-pool-stats.js'
import type {
  DemoBackend,
  DemoChannelPool,
  DemoPgCluster,
  DemoPgClusterHost,
  DemoPgPool,
  DemoState,
} from './api-types.js'
import type { BillingBackend } from './billing-server.js'
import type { EventLog } from './events.js'
import type { BillingLoad } from './load.js'

export interface DemoMonitorOptions {
  readonly backends: readonly BillingBackend[]
  /** The cluster the backends share; each server's pool of it is on the dashboard. */
  readonly cluster: PgCluster
  /** The `application_name` the cluster's connections carry. */
  readonly applicationName: string
  /** Whether the fail-over action can run now. */
  readonly canFailOver: () => boolean
  readonly channelPool: ChannelPool
  readonly load: BillingLoad
  /** Runs the connection-age query, on the primary and on the standby. */
  readonly admin: PgCluster
  readonly events: EventLog
  /** How often the monitor samples, ms. Default 1000. */
  readonly periodMs?: number
}

export class DemoMonitor {
  readonly #o: DemoMonitorOptions
  readonly #started = performance.now()
  #timer: NodeJS.Timeout | undefined
  /** Connection ages by server port. */
  #ages = new Map<number, number[]>()
  #sampling = false
  /** Last seen health and rotation of each backend address. */
  readonly #rotation = new Map<string, string>()
  /** Last seen primary of the cluster, and state of each of its servers. */
  #primary: string | null | undefined
  readonly #hostStates = new Map<string, string>()

  constructor(options: DemoMonitorOptions) {
    this.#o = options
  }

  start(): void {
    this.#timer ??= unrefInterval(() => this.#sample(), this.#o.periodMs ?? 1000)
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  get uptimeS(): number {
    return (performance.now() - this.#started) / 1000
  }

  state(): DemoState {
    const load = this.#o.load.snapshot()
    const pool = this.#o.channelPool
    const clientState = pool.connectivity()
    const health = new Map(clientState.backends.map((b) => [b.address, b.health]))
    const stats = pool.stats()
    const channelPool: DemoChannelPool = Object.freeze({
      name: pool.name,
      state: clientState.state,
      channels: stats.channels,
      callsInFlight: stats.callsInFlight,
      reconnects: stats.reconnects,
    })
    return Object.freeze({
      time: Date.now(),
      uptimeS: Math.round(this.uptimeS * 10) / 10,
      qps: Math.round(load.qps * 10) / 10,
      calls: load.calls,
      errors: load.errors,
      errorsByStatus: load.errorsByStatus,
      latencyP50Ms: round3(load.latencyP50Ms),
      latencyP99Ms: round3(load.latencyP99Ms),
      reads: Object.freeze({ ...load.reads, qps: Math.round(load.reads.qps * 10) / 10 }),
      writes: Object.freeze({ ...load.writes, qps: Math.round(load.writes.qps * 10) / 10 }),
      cluster: this.#cluster(),
      pgPools: Object.freeze(this.#o.cluster.stats().hosts.map((h) => this.#pgPool(h.pool, h.host))),
      channelPools: Object.freeze([channelPool]),
      backends: Object.freeze(
        this.#o.backends.map(
          (b): DemoBackend =>
            Object.freeze({
              id: b.id,
              address: b.address,
              up: b.up,
              calls: b.calls,
              health: health.get(b.address) ?? 'UNKNOWN',
            }),
        ),
      ),
      events: this.#o.events.list(),
    })
  }

  #cluster(): DemoPgCluster {
    const s = this.#o.cluster.stats()
    return Object.freeze({
      name: s.name,
      primary: s.primary,
      failovers: s.failovers,
      lastFailoverMs: s.lastFailoverMs === null ? null : Math.round(s.lastFailoverMs),
      noPrimaryForMs: s.noPrimaryForMs === null ? null : Math.round(s.noPrimaryForMs),
      readsOnReplicas: s.readsOnReplicas,
      readsOnPrimary: s.readsOnPrimary,
      canFailOver: this.#o.canFailOver(),
      hosts: Object.freeze(
        s.hosts.map(
          (h): DemoPgClusterHost =>
            Object.freeze({
              host: h.host,
              role: h.role,
              state: h.state,
              lagMs: h.lagMs === null ? null : Math.round(h.lagMs),
              inRotation: h.inRotation,
              reads: h.reads,
              promotions: h.promotions,
            }),
        ),
      ),
    })
  }

  #pgPool(s: PgPoolStats, host: string): DemoPgPool {
    const port = Number(host.slice(host.lastIndexOf(':') + 1))
    return Object.freeze({
      name: s.pool.name,
      totalConns: s.totalConns,
      idleConns: s.idleConns,
      acquiredConns: s.acquiredConns,
      maxConns: s.maxConns,
      waiting: s.pool.waiting,
      acquireWaitP50Ms: round3(s.acquireWaitMs.p50),
      acquireWaitP99Ms: round3(s.acquireWaitMs.p99),
      connectionAgesMs: Object.freeze([...(this.#ages.get(port) ?? [])]),
    })
  }

  #sample(): void {
    this.#watchRotation()
    this.#watchCluster()
    if (this.#sampling) return // the last query is still running (a saturated or stopped server)
    this.#sampling = true
    // Each server knows only its own connections: ask the primary and (through db.read) the standby.
    const sql = `SELECT inet_server_port() AS port,
        (extract(epoch FROM now() - backend_start) * 1000)::float8 AS age_ms
      FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = $1
      ORDER BY backend_start`
    type Row = { port: number; age_ms: number }
    const params = [this.#o.applicationName]
    const options = { timeoutMs: 2000 }
    Promise.allSettled([
      this.#o.admin.query<Row>(sql, params, options),
      this.#o.admin.read.query<Row>(sql, params, options),
    ])
      .then((answers) => {
        const ages = new Map<number, number[]>()
        for (const answer of answers) {
          if (answer.status !== 'fulfilled') continue
          // A read with no standby in rotation ran on the primary too: count each server once.
          const own = new Map<number, number[]>()
          for (const { port, age_ms } of answer.value.rows) {
            const list = own.get(port) ?? []
            list.push(Math.round(age_ms))
            own.set(port, list)
          }
          for (const [port, list] of own) if (!ages.has(port)) ages.set(port, list)
        }
        // Keep the last ages of a server that did not answer; the dashboard shows the pools' own counts either way.
        for (const [port, list] of this.#ages) if (!ages.has(port)) ages.set(port, list)
        this.#ages = ages
      })
      .finally(() => {
        this.#sampling = false
      })
  }

  #watchCluster(): void {
    const s = this.#o.cluster.stats()
    for (const h of s.hosts) {
      const now = `${h.state} ${h.role}`
      const was = this.#hostStates.get(h.host)
      this.#hostStates.set(h.host, now)
      if (was !== undefined && was !== now && h.state !== 'unknown')
        this.#o.events.add(`postgres: ${h.host} ${h.state === 'up' ? `up, ${h.role}` : 'down'}`)
    }
    const was = this.#primary
    this.#primary = s.primary
    if (was === undefined || was === s.primary) return
    if (s.primary === null) this.#o.events.add('postgres: no primary: writes wait for the next one')
    else {
      const took = s.lastFailoverMs === null ? '' : ` after ${Math.round(s.lastFailoverMs)} ms without one`
      this.#o.events.add(`postgres: ${s.primary} is the primary${took} (failovers: ${s.failovers})`)
    }
  }

  #watchRotation(): void {
    const byAddress = new Map(this.#o.backends.map((b) => [b.address, b.id]))
    for (const b of this.#o.channelPool.connectivity().backends) {
      const now = `${b.health}/${b.inRotation}`
      const was = this.#rotation.get(b.address)
      this.#rotation.set(b.address, now)
      if (was === undefined || was === now) continue
      const who = `backend ${byAddress.get(b.address) ?? '?'} (${b.address})`
      // UNKNOWN: no health stream (a stopped server); its connection failing keeps it out of round_robin.
      const rotation = !b.inRotation
        ? 'out of rotation'
        : b.health === 'SERVING'
          ? 'in rotation'
          : 'unreachable'
      this.#o.events.add(`client: ${who} health ${b.health}, ${rotation}`)
    }
  }
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
