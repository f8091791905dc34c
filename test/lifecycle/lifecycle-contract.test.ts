/**
 * The lifecycle contract, checked the same way against every owner of connections: close twice,
 * destroy during close, bad close options (typed error, and the owner still closes), work after
 * close (typed error at once, never a hang), and nothing left keeping the event loop alive.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidOptionError } from '../../src/core/errors.js'
import { Pool } from '../../src/core/pool.js'
import { ChannelPool } from '../../src/grpc/channel-pool.js'
import { ChannelRegistry } from '../../src/grpc/channel-registry.js'
import { Pool as CompatPool, createPgCluster, createPgPool } from '../../src/pg/index.js'
import { type PostgresCluster, startPostgresCluster } from '../../src/testing/index.js'
import { type EchoServer, echoClientConstructor, startEchoServer } from '../support/grpc.js'
import { createDatabase } from '../support/postgres.js'

type Check =
  | 'close twice'
  | 'destroy during close'
  | 'bad close options'
  | 'work after close'
  | 'no timers left'
  | 'stats shape'

interface Subject {
  close(options?: unknown): Promise<unknown>
  destroy(reason?: unknown): Promise<unknown>
  /** The lifecycle state as the owner reports it. */
  state(): string
  /** One unit of the owner's work (acquire, query, call): must fail typed, at once, after close. */
  work(): Promise<unknown>
  stats(): Record<string, unknown>
}

interface Row {
  owner: string
  make(): Promise<Subject>
  /** The latencies its stats() carry at the top level, each a LatencySummary in ms. */
  latencies: string[]
}

let server: EchoServer
let pgUrl: string
let pgCluster: PostgresCluster

before(async () => {
  server = await startEchoServer()
  pgUrl = await createDatabase('lifecycle')
  pgCluster = await startPostgresCluster({ standbys: 1 })
})
after(async () => {
  await server.stop()
  await pgCluster?.destroy()
})

const rows: Row[] = [
  {
    owner: 'core Pool',
    async make() {
      let n = 0
      const pool = new Pool({ create: async () => ({ id: ++n }), destroy: () => {}, min: 1, max: 2 })
      await pool.ready()
      return {
        close: (o) => pool.close(o as never),
        destroy: (r) => pool.destroy(r),
        state: () => pool.state,
        work: () => pool.acquire(),
        stats: () => pool.stats() as never,
      }
    },
    latencies: ['acquireWaitMs', 'createMs'],
  },
  {
    owner: 'PgPool (createPgPool)',
    async make() {
      const pool = createPgPool(pgUrl, { minConns: 1, maxConns: 2 })
      await pool.ready()
      return {
        close: (o) => pool.close(o as never),
        destroy: (r) => pool.destroy(r),
        state: () => pool.state,
        work: () => pool.query('select 1'),
        stats: () => pool.stats() as never,
      }
    },
    latencies: ['acquireWaitMs', 'queryMs'],
  },
  {
    owner: 'PgCluster (createPgCluster, a primary and a standby)',
    async make() {
      const db = createPgCluster(pgCluster.url, {
        minConns: 1,
        maxConns: 2,
        probePeriod: 50,
        budgetCheck: false,
      })
      await db.probe()
      await db.read.query('select 1')
      return {
        close: (o) => db.close(o as never),
        destroy: (r) => db.destroy(r),
        state: () => db.state,
        work: () => db.query('select 1'),
        stats: () => db.stats() as never,
      }
    },
    // Latencies are per host, in each host pool's stats.
    latencies: [],
  },
  {
    owner: 'pg.Pool drop-in',
    async make() {
      const pool = new CompatPool({ connectionString: pgUrl, max: 2 })
      await pool.query('select 1')
      return {
        close: (o) => pool.close(o as never),
        destroy: (r) => pool.destroy(r),
        state: () => pool.state,
        work: () => pool.query('select 1'),
        stats: () => pool.stats() as never,
      }
    },
    latencies: ['acquireWaitMs', 'createMs'],
  },
  {
    owner: 'ChannelPool',
    async make() {
      const pool = new ChannelPool(server.address, { size: 2 })
      await pool.waitForReady({ signal: AbortSignal.timeout(5000) })
      const Echo = echoClientConstructor()
      return {
        close: (o) => pool.close(o as never),
        destroy: (r) => pool.destroy(r),
        state: () => pool.state,
        work: async () => pool.client(Echo),
        stats: () => pool.stats() as never,
      }
    },
    latencies: ['acquireWaitMs', 'callMs'],
    // 'bad close options' is the bug the lifecycle issue names: the old close() stopped DNS and
    // health checks and cached its promise before its options were checked.
  },
  {
    owner: 'ChannelRegistry',
    async make() {
      const registry = new ChannelRegistry()
      const handle = registry.acquire(server.address)
      await handle.pool.waitForReady({ signal: AbortSignal.timeout(5000) })
      return {
        close: (o) => registry.close(o as never),
        destroy: (r) => registry.destroy(r),
        state: () => registry.state,
        work: async () => registry.acquire(server.address),
        stats: () => registry.stats() as never,
      }
    },
    // A registry lends handles synchronously and times nothing itself: its pools carry the latencies.
    latencies: [],
  },
]

/** Settles within `ms`, or reports that it hung. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const ac = new AbortController()
  const hung = sleep(ms, undefined, { signal: ac.signal }).then(() => {
    throw new assert.AssertionError({ message: `${what} did not settle within ${ms} ms` })
  })
  try {
    return await Promise.race([p, hung])
  } finally {
    ac.abort()
    hung.catch(() => {})
  }
}

/** Ref'ed handles (timers, sockets) that keep the event loop alive, by kind. */
function liveHandles(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  return counts
}

const LATENCY_KEYS = ['count', 'max', 'mean', 'p50', 'p90', 'p99']

/** The stats every owner shares: a frozen snapshot with name, the lifecycle state, and one latency shape. */
function checkStatsShape(row: Row, s: Subject): void {
  const stats = s.stats()
  assert.ok(Object.isFrozen(stats), 'stats() is a frozen snapshot')
  assert.equal(typeof stats.name, 'string')
  assert.notEqual(stats.name, '')
  assert.equal(stats.state, s.state(), 'stats().state is the lifecycle state')
  const latencies = Object.entries(stats)
    .filter(([, v]) => v !== null && typeof v === 'object' && 'p50' in v)
    .map(([k]) => k)
  assert.deepEqual(latencies, row.latencies)
  for (const key of latencies) {
    assert.match(key, /Ms$/, `${key}: latencies are named in ms`)
    const summary = stats[key] as Record<string, unknown>
    assert.deepEqual(Object.keys(summary).sort(), LATENCY_KEYS, `${key} has the one latency shape`)
    for (const k of LATENCY_KEYS) assert.equal(typeof summary[k], 'number', `${key}.${k}`)
  }
}

const checks: Record<Check, (row: Row) => Promise<void>> = {
  async 'close twice'(row) {
    const s = await row.make()
    const first = s.close({ timeoutMs: 5000 })
    const second = s.close({ timeoutMs: 5000 })
    await within(Promise.all([first, second]), 6000, 'close() twice')
    assert.equal(s.state(), 'closed')
    await within(s.close(), 1000, 'a third close() after the owner closed')
  },
  async 'destroy during close'(row) {
    const s = await row.make()
    const closing = s.close({ timeoutMs: 60_000 })
    const destroying = s.destroy(new Error('forced'))
    await within(Promise.all([closing, destroying]), 6000, 'close() joined by destroy()')
    assert.equal(s.state(), 'closed')
  },
  async 'bad close options'(row) {
    const s = await row.make()
    await assert.rejects(s.close({ timeoutMs: -1 }), InvalidOptionError)
    assert.equal(s.state(), 'open', 'a refused close changes nothing')
    await within(s.close({ timeoutMs: 5000 }), 6000, 'close() after a refused one')
    assert.equal(s.state(), 'closed', 'the corrected close() closed the owner')
  },
  async 'work after close'(row) {
    const s = await row.make()
    await within(s.close({ timeoutMs: 5000 }), 6000, 'close()')
    const err = await within(
      s.work().then(
        () => undefined,
        (e: unknown) => e,
      ),
      1000,
      'work after close',
    )
    assert.ok(err instanceof Error, 'work after close fails')
    assert.match(String((err as { code?: unknown }).code), /^BERTH_/, 'with a typed error')
  },
  async 'no timers left'(row) {
    const before = liveHandles()
    const s = await row.make()
    await within(s.close({ timeoutMs: 5000 }), 6000, 'close()')
    await sleep(50) // sockets finish closing on the next turns of the loop
    const left = [...liveHandles()].filter(([kind, n]) => n > (before.get(kind) ?? 0))
    assert.deepEqual(left, [], 'nothing the owner made keeps the event loop alive')
  },
  async 'stats shape'(row) {
    const s = await row.make()
    // One unit of work, given back (a lease or handle), so there is something to time.
    await s.work().then(
      (done) => (done as { release?: () => void } | undefined)?.release?.(),
      () => {},
    )
    checkStatsShape(row, s)
    await within(s.close({ timeoutMs: 5000 }), 6000, 'close()')
    checkStatsShape(row, s)
  },
}

for (const row of rows) {
  describe(`lifecycle contract: ${row.owner}`, () => {
    for (const [name, check] of Object.entries(checks)) it(name, () => check(row))
  })
}
