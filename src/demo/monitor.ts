import { unrefInterval } from '../core/timers.js'
/**
 * Builds the demo's {@link DemoState} from the snapshots of its parts, and watches them once a
 * second: the server-side ages of the pools' connections (pool stats give only min/max/mean; the
 * dashboard draws each one), and the backends entering and leaving the client's rotation, which
 * it writes to the event log so the healing is on record next to the breaking.
 */
import type { ChannelPool } from '../grpc/channel-pool.js'
import type { PgPool } from '../pg/pg-pool.js'
import type { DemoBackend, DemoChannelPool, DemoPgPool, DemoState } from './api-types.js'
import type { BillingBackend } from './billing-server.js'
import type { EventLog } from './events.js'
import type { BillingLoad } from './load.js'

export interface DemoMonitorOptions {
  readonly backends: readonly BillingBackend[]
  /** The pools on the dashboard, each with the `application_name` its connections carry. */
  readonly pgPools: readonly { readonly pool: PgPool; readonly applicationName: string }[]
  /** Prefix shared by those application names (for one query over all of them). */
  readonly applicationPrefix: string
  readonly channelPool: ChannelPool
  readonly load: BillingLoad
  /** Runs the connection-age query. */
  readonly admin: PgPool
  readonly events: EventLog
  /** How often the monitor samples, ms. Default 1000. */
  readonly periodMs?: number
}

export class DemoMonitor {
  readonly #o: DemoMonitorOptions
  readonly #started = performance.now()
  #timer: NodeJS.Timeout | undefined
  #ages = new Map<string, number[]>()
  #sampling = false
  /** Last seen health and rotation of each backend address. */
  readonly #rotation = new Map<string, string>()

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
      pgPools: Object.freeze(
        this.#o.pgPools.map(({ pool: p, applicationName }) => this.#pgPool(p, applicationName)),
      ),
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

  #pgPool(pool: PgPool, applicationName: string): DemoPgPool {
    const s = pool.stats()
    return Object.freeze({
      name: s.pool.name,
      totalConns: s.totalConns,
      idleConns: s.idleConns,
      acquiredConns: s.acquiredConns,
      maxConns: s.maxConns,
      waiting: s.pool.waiting,
      acquireWaitP50Ms: round3(s.acquireWaitMs.p50),
      acquireWaitP99Ms: round3(s.acquireWaitMs.p99),
      connectionAgesMs: Object.freeze([...(this.#ages.get(applicationName) ?? [])]),
    })
  }

  #sample(): void {
    this.#watchRotation()
    if (this.#sampling) return // the last query is still running (a saturated or stopped server)
    this.#sampling = true
    this.#o.admin
      .query<{ app: string; age_ms: number }>(
        `SELECT application_name AS app, (extract(epoch FROM now() - backend_start) * 1000)::float8 AS age_ms
         FROM pg_stat_activity
         WHERE datname = current_database() AND application_name LIKE $1
         ORDER BY backend_start`,
        [`${this.#o.applicationPrefix}%`],
        { timeoutMs: 2000 },
      )
      .then(
        (r) => {
          const ages = new Map<string, number[]>()
          for (const { app, age_ms } of r.rows) {
            const list = ages.get(app) ?? []
            list.push(Math.round(age_ms))
            ages.set(app, list)
          }
          this.#ages = ages
        },
        () => {
          // keep the last ages; the dashboard shows the pools' own counts either way
        },
      )
      .finally(() => {
        this.#sampling = false
      })
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
