/**
 * Soak: mixed Postgres and gRPC load with random faults, for minutes, then a report.
 *
 *   npm run soak -- --minutes 10 [--seed 42] [--fault-every 10] [--json]
 *
 * A private embedded PostgreSQL and three Echo gRPC backends run behind TCP fault proxies (all on
 * loopback). berth/pg and berth/grpc pools drive a steady, bounded load while a fault is injected
 * every `--fault-every` seconds, picked at random (seeded) from: Postgres restart, terminate every
 * pool connection, blackhole to Postgres; a gRPC backend killed and restarted, blackholed, shut
 * down gracefully, its connections reset; and a Postgres failover: a primary and a standby run
 * under createPgCluster (writes and replica reads), the primary is stopped and the standby
 * promoted, and the old primary rejoins as the new standby. Each fault heals after a few seconds.
 *
 * Reported: calls and errors by type; hung calls (a call pending 30 s after the load stopped and
 * every fault healed: must be 0); leaked connections (server sessions of the pool left after its
 * close: must be 0); heap and RSS growth; for the cluster, failovers, the longest time without a
 * primary, and its write errors, which must all be PgFailoverError (in flight at the stop, typed,
 * retryable) or PgNoPrimaryError. Exit code 1 when a must-be-0 figure is not.
 */
import { parseArgs } from 'node:util'
import { createChannelPool } from '../src/grpc/channel-pool.js'
import { createPgCluster, createPgPool } from '../src/pg/index.js'
import {
  type FaultProxy,
  type PostgresServer,
  startFaultProxy,
  startPostgres,
  startPostgresCluster,
} from '../src/testing/index.js'
import { type EchoServer, echo, echoClientConstructor, startEchoServer } from '../test/support/grpc.js'
import { seededRandom } from '../test/support/random.js'

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    seed: { type: 'string' },
    'fault-every': { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
})
if (flags.help) {
  process.stdout.write('Usage: npm run soak -- [--minutes 1] [--seed n] [--fault-every 10] [--json]\n')
  process.exit(0)
}
const minutes = Number(flags.minutes)
const faultEveryS = Number(flags['fault-every'])
if (!(minutes > 0 && minutes <= 24 * 60))
  throw new Error(`--minutes: expected a number from 0 to 1440, got ${flags.minutes}`)
if (!(faultEveryS >= 2))
  throw new Error(`--fault-every: expected at least 2 seconds, got ${flags['fault-every']}`)
const startSeed = flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(flags.seed)
/** Seeded, so a run's fault sequence can be replayed with --seed. */
const random = seededRandom(startSeed)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const log = (line: string) =>
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`)

// --- servers ---------------------------------------------------------------------------------
const pg = await startPostgres({ postgresFlags: { max_connections: 50 } })
const pgProxy = await startFaultProxy({ target: { host: '127.0.0.1', port: pg.port } })
const backends: EchoServer[] = []
const grpcProxies: FaultProxy[] = []
for (const id of ['a', 'b', 'c']) {
  const s = await startEchoServer({ id })
  backends.push(s)
  grpcProxies.push(await startFaultProxy({ target: { host: '127.0.0.1', port: s.port } }))
}
const APP = 'berth-soak'
const proxiedUrl = new URL(pg.url)
proxiedUrl.port = String(pgProxy.port)
const db = createPgPool(proxiedUrl.toString(), {
  maxConns: 8,
  applicationName: APP,
  connectTimeout: '2s',
  healthCheckPeriod: '2s',
})
const channels = createChannelPool(
  grpcProxies.map((p) => `127.0.0.1:${p.port}`),
  {
    size: 2,
    keepalive: { timeMs: 2000, timeoutMs: 1000 },
    connectTimeoutMs: 1000,
    reconnectBackoff: { initialMs: 200, maxMs: 1000 },
    onWarning: () => {},
  },
)
const client = channels.client(echoClientConstructor())
await db.ready()
// A primary and a standby for failovers, written and read through createPgCluster.
const ha = await startPostgresCluster({ standbys: 1, postgresFlags: { max_connections: 50 } })
const haDb = createPgCluster(ha.url, {
  maxConns: 4,
  applicationName: APP,
  connectTimeout: '2s',
  probePeriod: '500ms',
  failoverTimeout: '10s',
})
await haDb.exec('create table if not exists soak (id bigint primary key)')
await ha.caughtUp()
let haPrimary: PostgresServer = ha.primary
let haStandby = ha.standbys[0]!
let haNext = 0
let longestNoPrimaryMs = 0
await channels.waitForReady({ timeoutMs: 10_000 })

// --- load ------------------------------------------------------------------------------------
interface Tally {
  calls: number
  ok: number
  errors: Map<string, number>
}
const tallies = {
  pg: { calls: 0, ok: 0, errors: new Map() } as Tally,
  cluster: { calls: 0, ok: 0, errors: new Map() } as Tally,
  grpc: { calls: 0, ok: 0, errors: new Map() } as Tally,
}
const pending = new Map<number, { kind: string; since: number }>()
let nextCall = 0
let stopping = false

function errorKey(err: unknown): string {
  const e = err as { code?: unknown; name?: string; sqlState?: string }
  if (typeof e.code === 'number') return `grpc ${e.code}`
  return `${e.name ?? 'Error'}${e.code ? ` ${String(e.code)}` : ''}${e.sqlState ? ` ${e.sqlState}` : ''}`
}

async function track(kind: 'pg' | 'grpc' | 'cluster', call: () => Promise<unknown>): Promise<void> {
  const id = nextCall++
  const t = tallies[kind]
  t.calls++
  pending.set(id, { kind, since: Date.now() })
  try {
    await call()
    t.ok++
  } catch (err) {
    const key = errorKey(err)
    t.errors.set(key, (t.errors.get(key) ?? 0) + 1)
  } finally {
    pending.delete(id)
  }
}

async function pgWorker(): Promise<void> {
  while (!stopping) {
    const r = random()
    if (r < 0.6) await track('pg', () => db.query('select 1', [], { timeoutMs: 3000 }))
    else if (r < 0.85) await track('pg', () => db.query('select pg_sleep(0.02)', [], { timeoutMs: 3000 }))
    else
      await track('pg', () =>
        db.tx(async (tx) => tx.query('select txid_current()'), { signal: AbortSignal.timeout(3000) }),
      )
    await sleep(5)
  }
}

async function grpcWorker(): Promise<void> {
  while (!stopping) {
    await track('grpc', () => echo(client, { message: 'soak', delayMs: 2 }, { deadline: Date.now() + 3000 }))
    await sleep(5)
  }
}

async function clusterWorker(): Promise<void> {
  while (!stopping) {
    const n = ++haNext
    if (random() < 0.5) await track('cluster', () => haDb.exec('insert into soak values ($1)', [n]))
    else await track('cluster', () => haDb.read.query('select count(*) from soak', [], { timeoutMs: 3000 }))
    const gap = haDb.stats().noPrimaryForMs
    if (gap !== null && gap > longestNoPrimaryMs) longestNoPrimaryMs = gap
    await sleep(5)
  }
}

const workers = [
  ...Array.from({ length: 6 }, pgWorker),
  ...Array.from({ length: 6 }, grpcWorker),
  ...Array.from({ length: 3 }, clusterWorker),
]

// --- faults ----------------------------------------------------------------------------------
type Fault = { name: string; inject(): Promise<() => Promise<void>> }
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
const faults: Fault[] = [
  {
    name: 'postgres restart',
    async inject() {
      await pg.stop()
      return () => pg.start()
    },
  },
  {
    name: 'postgres failover',
    async inject() {
      const old = haPrimary
      await old.stop()
      await haStandby.promote()
      haPrimary = haStandby
      return async () => {
        haStandby = await ha.rejoin(old)
      }
    },
  },
  {
    name: 'terminate every pool connection',
    async inject() {
      const admin = createPgPool(pg.url, { maxConns: 1 })
      await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1',
        [APP],
      )
      await admin.close()
      return async () => {}
    },
  },
  {
    name: 'blackhole to postgres',
    async inject() {
      pgProxy.blackhole(true)
      return async () => pgProxy.blackhole(false)
    },
  },
  {
    name: 'grpc backend killed',
    async inject() {
      const i = Math.floor(random() * backends.length)
      const old = backends[i]!
      old.kill()
      return async () => {
        backends[i] = await startEchoServer({ id: old.id, port: old.port })
      }
    },
  },
  {
    name: 'grpc backend graceful shutdown',
    async inject() {
      const i = Math.floor(random() * backends.length)
      const old = backends[i]!
      await old.stop(2000)
      return async () => {
        backends[i] = await startEchoServer({ id: old.id, port: old.port })
      }
    },
  },
  {
    name: 'grpc backend blackholed',
    async inject() {
      const p = pick(grpcProxies)
      p.blackhole(true)
      return async () => p.blackhole(false)
    },
  },
  {
    name: 'grpc connections reset',
    async inject() {
      pick(grpcProxies).resetAll()
      return async () => {}
    },
  },
]
const injected = new Map<string, number>()

global.gc?.()
const heapStart = process.memoryUsage()
const started = Date.now()
const endAt = started + minutes * 60_000
log(`seed ${startSeed}; ${minutes} min; a fault every ${faultEveryS} s`)
let lastReport = Date.now()
while (Date.now() < endAt) {
  await sleep(Math.min(faultEveryS * 1000, Math.max(0, endAt - Date.now())))
  if (Date.now() >= endAt) break
  const fault = pick(faults)
  injected.set(fault.name, (injected.get(fault.name) ?? 0) + 1)
  log(`fault: ${fault.name}`)
  try {
    const heal = await fault.inject()
    await sleep(1000 + random() * 3000)
    await heal()
  } catch (err) {
    log(`fault ${fault.name} could not be injected or healed: ${(err as Error).message}`)
  }
  if (Date.now() - lastReport > 30_000) {
    lastReport = Date.now()
    log(
      `pg ${tallies.pg.ok}/${tallies.pg.calls} ok, grpc ${tallies.grpc.ok}/${tallies.grpc.calls} ok, pending ${pending.size}`,
    )
  }
}

// --- drain and report --------------------------------------------------------------------------
stopping = true
const HUNG_AFTER_MS = 30_000
const drained = await Promise.race([
  Promise.all(workers).then(() => true),
  sleep(HUNG_AFTER_MS).then(() => false),
])
const hung = [...pending.values()].map((p) => ({ kind: p.kind, pendingMs: Date.now() - p.since }))
await channels.close({ timeoutMs: 5000 })
await db.close({ timeoutMs: 5000 })
const haStats = haDb.stats()
await haDb.close({ timeoutMs: 5000 })
const countLeft = async (url: string) => {
  const admin = createPgPool(url, { maxConns: 1, budgetCheck: false })
  try {
    const row = await admin.queryRow<{ n: string }>(
      'select count(*)::text as n from pg_stat_activity where application_name = $1',
      [APP],
    )
    return Number(row?.n ?? 0)
  } finally {
    await admin.close()
  }
}
let leftoverCount = await countLeft(pg.url)
for (const s of ha.servers) if (s.pid !== undefined) leftoverCount += await countLeft(s.url)
const clusterErrorsUntyped = [...tallies.cluster.errors.keys()].filter(
  (k) => !/BERTH_PG_FAILOVER|BERTH_PG_NO_PRIMARY|QueryTimeoutError|BERTH_QUERY_TIMEOUT/.test(k),
)
global.gc?.()
const heapEnd = process.memoryUsage()
const report = {
  seed: startSeed,
  minutes,
  faultEverySeconds: faultEveryS,
  faults: Object.fromEntries(injected),
  postgres: { calls: tallies.pg.calls, ok: tallies.pg.ok, errors: Object.fromEntries(tallies.pg.errors) },
  grpc: { calls: tallies.grpc.calls, ok: tallies.grpc.ok, errors: Object.fromEntries(tallies.grpc.errors) },
  cluster: {
    calls: tallies.cluster.calls,
    ok: tallies.cluster.ok,
    errors: Object.fromEntries(tallies.cluster.errors),
    failovers: haStats.failovers,
    lastFailoverMs: Math.round(haStats.lastFailoverMs ?? 0),
    longestNoPrimaryMs: Math.round(longestNoPrimaryMs),
    readsOnReplicas: haStats.readsOnReplicas,
    readsOnPrimary: haStats.readsOnPrimary,
    unexpectedErrors: clusterErrorsUntyped,
  },
  hungCalls: hung.length,
  drained,
  leakedConnections: leftoverCount,
  heapGrowthMiB: Number(((heapEnd.heapUsed - heapStart.heapUsed) / 2 ** 20).toFixed(1)),
  rssGrowthMiB: Number(((heapEnd.rss - heapStart.rss) / 2 ** 20).toFixed(1)),
  gcExposed: typeof global.gc === 'function',
}
for (const p of grpcProxies) await p.close()
await pgProxy.close()
for (const s of backends) s.kill()
await pg.destroy()
await ha.destroy()
if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
else {
  const line = (t: typeof report.postgres) =>
    `${t.calls} calls, ${t.ok} ok, errors ${JSON.stringify(t.errors)}`
  process.stdout.write(
    [
      `soak: ${minutes} min, seed ${startSeed}, faults ${JSON.stringify(report.faults)}`,
      `postgres: ${line(report.postgres)}`,
      `grpc:     ${line(report.grpc)}`,
      `cluster:  ${line(report.cluster)}; ${report.cluster.failovers} failovers, last ${report.cluster.lastFailoverMs} ms to a new primary, longest without one ${report.cluster.longestNoPrimaryMs} ms; reads on replicas ${report.cluster.readsOnReplicas}, on the primary ${report.cluster.readsOnPrimary}; unexpected errors ${JSON.stringify(report.cluster.unexpectedErrors)} (must be [])`,
      `hung calls: ${report.hungCalls} (must be 0)`,
      `leaked connections: ${report.leakedConnections} (must be 0)`,
      `heap growth: ${report.heapGrowthMiB} MiB, rss growth: ${report.rssGrowthMiB} MiB${report.gcExposed ? '' : ' (run node with --expose-gc for a settled heap figure)'}`,
      '',
    ].join('\n'),
  )
}
process.exitCode =
  report.hungCalls === 0 && report.leakedConnections === 0 && clusterErrorsUntyped.length === 0 ? 0 : 1
