/**
 * `berth demo`: the seed's billing service, end to end. A database (DATABASE_URL, or an embedded
 * PostgreSQL), three billing backends on berth/pg, a client on berth/grpc driving a steady load,
 * and a dashboard with /metrics and break-things buttons on a loopback port. It stops after
 * `durationMs` or when `signal` aborts, shutting down in order: load, client pool, servers,
 * Postgres pools, Postgres.
 */
import { randomBytes } from 'node:crypto'
import { ConnectionManager } from '../grpc/connection-manager.js'
import { type PgPool, createPgPool } from '../pg/pg-pool.js'
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
  /** The database to use; without one the demo starts an embedded PostgreSQL and removes it at the end. */
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
/** Connections per backend pool. */
const BACKEND_MAX_CONNS = 4
/** How long each shutdown step may take before the next one runs anyway, ms. */
const STEP_TIMEOUT_MS = 10_000

/** Runs the demo until `durationMs` passes or `signal` aborts; resolves once everything is shut down. */
export async function runDemo(options: RunDemoOptions): Promise<void> {
  const { out, signal } = options
  const started = performance.now()
  const tag = randomBytes(3).toString('hex')
  const applicationPrefix = `berth-demo-${tag}-`
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
        : 'berth demo: starting an embedded PostgreSQL...',
    )
    db = await openDemoDatabase(options.databaseUrl)
    const database = db
    teardown.push({ name: 'stop Postgres', run: () => database.dispose() })
    say(`database: ${db.description}`)
    if (signal.aborted) return

    const admin = createPgPool(db.url, {
      name: 'admin',
      maxConns: 1,
      applicationName: `berth-demo-admin-${tag}`,
      pipeline: false,
      budgetCheck: false,
    })
    const pools: { pool: PgPool; applicationName: string }[] = BACKEND_IDS.map((id) => ({
      applicationName: `${applicationPrefix}${id}`,
      pool: createPgPool(db!.url, {
        name: `billing-${id}`,
        maxConns: BACKEND_MAX_CONNS,
        minConns: 1,
        applicationName: `${applicationPrefix}${id}`,
        acquireTimeout: 2000,
        instances: BACKEND_IDS.length,
      }),
    }))
    teardown.push({
      name: 'close the Postgres pools',
      run: () => Promise.all([admin, ...pools.map((p) => p.pool)].map((p) => p.close({ timeoutMs: 5000 }))),
    })
    const schema = await ensureBillingSchema(admin, signal)
    say(`schema ${BILLING_SCHEMA}: ${schema.accounts} accounts, ${schema.invoices} invoices`)

    backends = pools.map(({ pool }, i) => new BillingBackend({ id: BACKEND_IDS[i]!, db: pool }))
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

    const actions = new DemoActions({ backends, admin, applicationPrefix, events })
    teardown.push({ name: 'release held connections', run: () => actions.release() })
    const monitor = new DemoMonitor({
      backends,
      pgPools: pools,
      applicationPrefix,
      channelPool: channels,
      load: running,
      admin,
      events,
    })
    monitor.start()
    teardown.push({ name: 'stop the monitor', run: async () => monitor.stop() })
    const metrics = createDemoMetrics({
      pgPools: [admin, ...pools.map((p) => p.pool)],
      channelPools: [channels],
      backends,
      load: () => running.snapshot(),
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
