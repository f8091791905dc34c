/**
 * `berth demo`: the seed's billing service, end to end. A database (DATABASE_URL, or an embedded
 * PostgreSQL primary with a streaming standby), three billing backends sharing one berth/pg
 * cluster (writes on the primary, reads on the standby), a client on berth/grpc driving a steady
 * load, and a dashboard with /metrics and break-things buttons (fail-over included) on a loopback
 * port. It stops after `durationMs` or when `signal` aborts, shutting down in order: load, client
 * pool, servers, Postgres clusters, Postgres.
 */
import { randomBytes } from 'node:crypto'
import { ConnectionManager } from '../grpc/connection-manager.js'
import { createPgCluster } from '../pg/pg-cluster.js'
import type { PgPoolStats } from '../pg/pg-pool-stats.js'
import { DemoActions } from './actions.js'
import { billingClientConstructor } from './billing-proto.js'
import { BillingBackend } from './billing-server.js'
import { type DemoDatabase, openDemoDatabase } from './database.js'
import { DemoShutdownTimeoutError } from './errors.js'
import { EventLog } from './events.js'
import { type DemoHttpServer, startDemoHttpServer } from './http-server.js'
import { BillingLoad } from './load.js'
import { createDemoMetrics } from './metrics.js'
import { DemoMonitor } from './monitor.js'
import { Progress } from './progress.js'
import { BILLING_SCHEMA, ensureBillingSchema } from './schema.js'

/** Options of {@link runDemo}. */
export interface RunDemoOptions {
  /** Stop after this long, ms. Default: run until `signal` aborts. */
  durationMs?: number
  /** Port of the dashboard, /metrics and /api on 127.0.0.1; 0 picks a free one. Default 0. */
  port?: number
  /** Serve the dashboard page; /metrics and /api are served either way. */
  dashboard: boolean
  /**
   * The database to use (one host, or a libpq multi-host URL); without one the demo starts an
   * embedded PostgreSQL primary and standby and removes them at the end.
   */
  databaseUrl?: string
  /** Aborting it shuts the demo down gracefully (Ctrl-C). */
  signal: AbortSignal
  /** Progress, events and the summary go here. */
  out: NodeJS.WritableStream
  /** Called with the dashboard's URL (`http://127.0.0.1:<port>/`) once it listens. */
  onListening?: (url: string) => void
  /** Client calls per second. Default 200. */
  ratePerSecond?: number
}

/** The billing backends' ids, as used in /api/backends/<id>/... */
export const BACKEND_IDS = ['a', 'b', 'c'] as const
/** Connections of the backends' cluster, per server. */
const CLUSTER_MAX_CONNS = 8
/** How long a call waits for a primary during a failover before it fails (PgNoPrimaryError), ms. */
const FAILOVER_TIMEOUT_MS = 10_000
/** How long each shutdown step may take before the next one runs anyway, ms. */
const STEP_TIMEOUT_MS = 10_000

/** Runs the demo until `durationMs` passes or `signal` aborts; resolves once everything is shut down. */
export async function runDemo(options: RunDemoOptions): Promise<void> {
  const { out, signal } = options
  const started = performance.now()
  const tag = randomBytes(3).toString('hex')
  const applicationName = `berth-demo-${tag}-billing`
  const events = new EventLog()
  // Shutdown steps, pushed as things start and run in reverse.
  const teardown: { name: string; run: () => Promise<unknown> }[] = []
  let progress: Progress | undefined
  const say = (line: string) => (progress ? progress.print(line) : out.write(`${line}\n`))
  const unsubscribe = events.subscribe((e) => say(`${clock(e.time)}  ${e.message}`))

  let db: DemoDatabase | undefined
  let backends: BillingBackend[] = []
  let load: BillingLoad | undefined
  try {
    say(
      options.databaseUrl
        ? 'berth demo: using DATABASE_URL'
        : 'berth demo: starting an embedded PostgreSQL primary and standby...',
    )
    db = await openDemoDatabase(options.databaseUrl)
    const database = db
    teardown.push({ name: 'stop Postgres', run: () => database.dispose() })
    say(`database: ${db.description}`)
    if (signal.aborted) return

    const admin = createPgCluster(db.url, {
      name: 'admin',
      maxConns: 1,
      applicationName: `berth-demo-admin-${tag}`,
      pipeline: false,
      budgetCheck: false,
      failoverTimeout: FAILOVER_TIMEOUT_MS,
    })
    // One cluster for the three backends: every server gets a pool, the primary's takes the writes.
    const cluster = createPgCluster(db.url, {
      name: 'billing',
      maxConns: CLUSTER_MAX_CONNS,
      minConns: 1,
      applicationName,
      acquireTimeout: 2000,
      failoverTimeout: FAILOVER_TIMEOUT_MS,
      probePeriod: 500,
    })
    teardown.push({
      name: 'close the Postgres clusters',
      run: () => Promise.all([admin, cluster].map((c) => c.close({ timeoutMs: 5000 }))),
    })
    const schema = await ensureBillingSchema(admin, signal)
    say(`schema ${BILLING_SCHEMA}: ${schema.accounts} accounts, ${schema.invoices} invoices`)

    backends = BACKEND_IDS.map((id) => new BillingBackend({ id, db: cluster }))
    teardown.push({
      name: 'stop the billing backends',
      run: () => Promise.all(backends.filter((b) => b.up).map((b) => b.stop())),
    })
    for (const b of backends) await b.start()
    say(`billing backends: ${backends.map((b) => `${b.id} ${b.address}`).join(', ')}`)
    if (signal.aborted) return

    const manager = new ConnectionManager()
    const channels = manager.grpc(
      'billing',
      backends.map((b) => b.address),
      {
        healthCheck: { retryMs: 500 },
        // Quick reconnects, so a restarted backend is back within a second or two.
        reconnectBackoff: { initialMs: 250, maxMs: 1000 },
        defaultDeadlineMs: 5000,
      },
    )
    teardown.push({ name: 'close the client pool', run: () => manager.close({ timeoutMs: 5000 }) })
    await manager.start({ timeoutMs: 15_000, signal })

    const running = new BillingLoad(channels.client(billingClientConstructor()), {
      ratePerSecond: options.ratePerSecond,
    })
    load = running
    teardown.push({ name: 'stop the load', run: () => running.stop({ timeoutMs: 5000 }) })
    running.start()

    const actions = new DemoActions({
      backends,
      admin,
      cluster,
      applicationName,
      servers: db.cluster,
      events,
    })
    teardown.push({ name: 'release held connections', run: () => actions.release() })
    const monitor = new DemoMonitor({
      backends,
      cluster,
      applicationName,
      canFailOver: () => actions.canFailOver,
      channelPool: channels,
      load: running,
      admin,
      events,
    })
    monitor.start()
    teardown.push({ name: 'stop the monitor', run: async () => monitor.stop() })
    const metrics = createDemoMetrics({
      pgPools: [admin, cluster].flatMap((c) => c.stats().hosts.map((_, i) => hostPool(c, i))),
      channelPools: [channels],
      backends,
      load: () => running.snapshot(),
      cluster,
    })
    const http: DemoHttpServer = await startDemoHttpServer({
      port: options.port ?? 0,
      dashboard: options.dashboard,
      state: () => monitor.state(),
      metrics,
      actions,
    })
    teardown.push({ name: 'close the HTTP server', run: () => http.close() })
    say(
      options.dashboard
        ? `dashboard: ${http.url}  metrics: ${http.url}metrics  (Ctrl-C to stop)`
        : `api: ${http.url}api/state  metrics: ${http.url}metrics  (Ctrl-C to stop)`,
    )
    options.onListening?.(http.url)

    progress = new Progress(out, () => monitor.state())
    progress.start()
    await stopped(signal, options.durationMs)
  } finally {
    progress?.print('berth demo: shutting down...')
    progress?.stop()
    progress = undefined
    for (const step of teardown.reverse()) {
      try {
        await bounded(step.run(), STEP_TIMEOUT_MS)
      } catch (err) {
        say(`shutdown: ${step.name} failed: ${err instanceof Error ? err.message : String(err)}`)
      }
    }
    unsubscribe()
    say(summary(performance.now() - started, load, backends, db))
  }
}

/** Host `i`'s pool of `cluster`, as a metrics source (the hosts of a cluster are fixed). */
function hostPool(cluster: { stats(): { hosts: readonly { pool: PgPoolStats }[] } }, i: number) {
  return { stats: () => cluster.stats().hosts[i]!.pool }
}

function summary(
  ms: number,
  load: BillingLoad | undefined,
  backends: readonly BillingBackend[],
  db: DemoDatabase | undefined,
): string {
  const parts = [`berth demo: ran ${(ms / 1000).toFixed(1)} s`]
  if (load !== undefined) {
    const s = load.snapshot()
    const byStatus = Object.entries(s.errorsByStatus)
      .map(([status, n]) => `${status} ${n}`)
      .join(', ')
    parts.push(`${s.calls} calls, ${s.errors} errors${byStatus === '' ? '' : ` (${byStatus})`}`)
    parts.push(
      `reads ${s.reads.calls} (${s.reads.errors} failed), writes ${s.writes.calls} (${s.writes.errors} failed)`,
    )
  }
  if (backends.length > 0) parts.push(`served by ${backends.map((b) => `${b.id} ${b.calls}`).join(', ')}`)
  if (db?.embedded) parts.push('embedded PostgreSQL removed')
  return `${parts.join('; ')}.`
}

/** Resolves when `signal` aborts or `durationMs` passes. */
function stopped(signal: AbortSignal, durationMs: number | undefined): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    // Not unref'ed: this timer is the demo's lifetime.
    const timer = durationMs === undefined ? undefined : setTimeout(done, durationMs)
    signal.addEventListener('abort', done, { once: true })
  })
}

function bounded(work: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new DemoShutdownTimeoutError(ms)), ms)
    timer.unref()
  })
  return Promise.race([work, late]).finally(() => clearTimeout(timer))
}

function clock(time: number): string {
  return new Date(time).toTimeString().slice(0, 8)
}
