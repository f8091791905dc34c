import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { InvalidOptionError, Pool } from '../../src/core/index.js'
import { createChannelPool } from '../../src/grpc/index.js'
import {
  DEFAULT_BUCKETS,
  PrometheusExporter,
  type PrometheusExporterOptions,
} from '../../src/metrics/index.js'
import { createPgPool } from '../../src/pg/index.js'
import { createFakeFactory } from '../support/fake-resources.js'
import { type EchoServer, echo, echoClientConstructor, startEchoServer } from '../support/grpc.js'
import { createDatabase } from '../support/postgres.js'
import { type Series, find, parseExposition, value } from './exposition.js'

const ECHO = '/berth.test.Echo/Echo'
/** Timer and scheduling slack over a known sleep, in ms: every bucket below has room for it. */
const SLACK_MS = 80

const servers: EchoServer[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.stop(1000)))
})

async function scrape(exporter: PrometheusExporter) {
  return parseExposition(await exporter.registry.metrics())
}

/** The `_bucket` series of `name` with `labels`, as [le, cumulative count], checked well-formed. */
function buckets(
  series: readonly Series[],
  name: string,
  labels: Record<string, string>,
): [number, number][] {
  const rows = find(series, `${name}_bucket`, labels).map((b) => {
    const le = b.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.labels.le)
    return [le, b.value] as [number, number]
  })
  assert.ok(rows.length > 1, `${name}${JSON.stringify(labels)} has buckets`)
  rows.forEach(([le, n], i) => {
    if (i === 0) return
    const [prevLe, prevN] = rows[i - 1]!
    assert.ok(le > prevLe, `${name}: bounds increase (${prevLe} then ${le})`)
    assert.ok(n >= prevN, `${name}: cumulative counts never decrease (le=${le}: ${prevN} then ${n})`)
  })
  assert.equal(rows.at(-1)![0], Number.POSITIVE_INFINITY, `${name}: the last bucket is +Inf`)
  assert.equal(rows.at(-1)![1], value(series, `${name}_count`, labels), `${name}: +Inf equals _count`)
  return rows
}

/** Per-bucket differences between two scrapes (what `increase()` gives). */
function delta(after: [number, number][], before: [number, number][]): [number, number][] {
  return after.map(([le, n], i) => [le, n - before[i]![1]])
}

/** Prometheus's `histogram_quantile`: linear interpolation inside the bucket holding the rank. */
function histogramQuantile(q: number, rows: [number, number][]): number {
  const total = rows.at(-1)![1]
  const rank = q * total
  let lower = 0
  let below = 0
  for (const [le, n] of rows) {
    if (n >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lower
      return lower + ((le - lower) * (rank - below)) / (n - below)
    }
    lower = le
    below = n
  }
  return Number.NaN
}

/** The bucket (lower, upper] that holds `seconds`. */
function bucketOf(seconds: number, bounds: readonly number[]): [number, number] {
  const i = bounds.findIndex((b) => seconds <= b)
  return [i === 0 ? 0 : bounds[i - 1]!, bounds[i]!]
}

/** `n` acquires held together, each waiting for its own create of `createDelayMs`. */
async function acquireFresh<T>(pool: Pool<T>, n: number): Promise<void> {
  const leases = await Promise.all(Array.from({ length: n }, () => pool.acquire()))
  for (const lease of leases) lease.release()
}

describe('Prometheus histograms', () => {
  it('two pools: buckets add up to the known distribution, and histogram_quantile finds it', async () => {
    // Every acquire waits for a create that sleeps 20 ms (fast pool) or 200 ms (slow pool).
    const bounds = [0.01, 0.1, 0.15, 0.5, 1]
    const fast = createFakeFactory({ createDelayMs: 20 })
    const slow = createFakeFactory({ createDelayMs: 200 })
    const a = new Pool({ name: 'fast', create: fast.create, destroy: fast.destroy, max: 30 })
    const b = new Pool({ name: 'slow', create: slow.create, destroy: slow.destroy, max: 10 })
    const exporter = new PrometheusExporter({ buckets: { acquireWait: bounds } }).addPool(a).addPool(b)
    try {
      // The first timers of a fresh test process run ~80 ms late (the runner starting up): let them.
      await new Promise((resolve) => setTimeout(resolve, 100))
      await Promise.all([acquireFresh(a, 30), acquireFresh(b, 10)])
      const s = await scrape(exporter)
      const name = 'berth_pool_acquire_wait_seconds'
      const ra = buckets(s, name, { pool: 'fast', kind: 'core' })
      const rb = buckets(s, name, { pool: 'slow', kind: 'core' })
      assert.deepEqual(
        ra.map(([le]) => le),
        [...bounds, Number.POSITIVE_INFINITY],
      )
      // Exact counts per bucket, from the known sleeps (20-100 ms and 200-280 ms).
      assert.deepEqual(
        ra.map(([, n]) => n),
        [0, 30, 30, 30, 30, 30],
      )
      assert.deepEqual(
        rb.map(([, n]) => n),
        [0, 0, 0, 10, 10, 10],
      )
      assert.equal(value(s, `${name}_count`, { pool: 'fast' }), a.stats().counters.acquires)
      const sumA = value(s, `${name}_sum`, { pool: 'fast' })
      assert.ok(sumA >= 30 * 0.02 * 0.99 && sumA <= 30 * (0.02 + SLACK_MS / 1000), `fast _sum ${sumA} s`)
      const sumB = value(s, `${name}_sum`, { pool: 'slow' })
      assert.ok(sumB >= 10 * 0.2 * 0.99 && sumB <= 10 * (0.2 + SLACK_MS / 1000), `slow _sum ${sumB} s`)

      // sum by (le): the fleet's distribution, 30 waits of ~20 ms and 10 of ~200 ms.
      const summed = ra.map(([le, n], i) => [le, n + rb[i]![1]] as [number, number])
      const known = [...Array(30).fill(0.02), ...Array(10).fill(0.2)] as number[]
      for (const q of [0.5, 0.75, 0.9, 0.99]) {
        const exact = known[Math.ceil(q * known.length) - 1]!
        const estimate = histogramQuantile(q, summed)
        const [lo, hi] = bucketOf(exact, bounds)
        assert.ok(
          estimate > lo && estimate <= hi,
          `q${q}: ${estimate} s in the bucket of ${exact} s (${lo}, ${hi}]`,
        )
      }
      // Interpolated as Prometheus does: p50 = 0.01 + 0.09 * 20/30, p90 = 0.15 + 0.35 * 6/10.
      assert.ok(Math.abs(histogramQuantile(0.5, summed) - (0.01 + (0.09 * 20) / 30)) < 1e-9)
      assert.ok(Math.abs(histogramQuantile(0.9, summed) - (0.15 + (0.35 * 6) / 10)) < 1e-9)

      // Create durations: the same sleeps, once per resource, in the default create buckets.
      const create = 'berth_pool_create_duration_seconds'
      const ca = new Map(buckets(s, create, { pool: 'fast', kind: 'core' }))
      const cb = new Map(buckets(s, create, { pool: 'slow', kind: 'core' }))
      assert.equal(value(s, `${create}_count`, { pool: 'fast' }), a.stats().counters.creates)
      assert.deepEqual([ca.get(0.01), ca.get(0.1), cb.get(0.1), cb.get(0.25)], [0, 30, 0, 10])
      assert.ok(value(s, `${create}_sum`, { pool: 'slow' }) >= 10 * 0.2 * 0.99)

      // Counts stay monotonic: more acquires only add (served from idle resources: zero waits).
      await acquireFresh(a, 5)
      const s2 = await scrape(exporter)
      const ra2 = buckets(s2, name, { pool: 'fast', kind: 'core' })
      ra2.forEach(([, n], i) => assert.ok(n >= ra[i]![1]))
      assert.equal(ra2.at(-1)![1], 35)
      assert.equal(ra2[0]![1], 5, 'the idle hand-offs wait under 10 ms')
    } finally {
      exporter.unregister()
      await Promise.all([a.close(), b.close()])
    }
  })

  it('pg query durations: pg_sleep lands in the known buckets, counted exactly', async () => {
    const url = await createDatabase('metrics_hist')
    const db = createPgPool(url, { maxConns: 2, name: 'sleepy' })
    const exporter = new PrometheusExporter().addPgPool(db)
    try {
      await db.query('select 1')
      const name = 'berth_pg_query_duration_seconds'
      const labels = { pool: 'sleepy' }
      const before = buckets(await scrape(exporter), name, labels)
      for (let i = 0; i < 5; i++) await db.query('select pg_sleep(0.03)')
      for (let i = 0; i < 3; i++) await db.query('select pg_sleep(0.3)')
      const s = await scrape(exporter)
      const rows = buckets(s, name, labels)
      assert.deepEqual(
        rows.map(([le]) => le),
        [...DEFAULT_BUCKETS.query, Number.POSITIVE_INFINITY],
      )
      const d = new Map(delta(rows, before))
      assert.equal(d.get(0.025), 0, 'no query under its sleep')
      assert.equal(d.get(0.05), 5, '30 ms sleeps within (0.025, 0.05]')
      assert.equal(d.get(0.25), 5)
      assert.equal(d.get(0.5), 8, '300 ms sleeps within (0.25, 0.5]')
      assert.equal(d.get(Number.POSITIVE_INFINITY), 8, '_count grows by the queries run')
      const sum = value(s, `${name}_sum`, labels)
      assert.ok(sum >= 5 * 0.03 + 3 * 0.3, `_sum ${sum} s covers the sleeps`)
      assert.ok(sum < 5 * 0.03 + 3 * 0.3 + 9 * (SLACK_MS / 1000), `_sum ${sum} s`)
    } finally {
      exporter.unregister()
      await db.close({ timeoutMs: 5000 })
    }
  })

  it('gRPC durations: grpc_request_duration_seconds is a histogram per method, summed over pools', async () => {
    const server = await startEchoServer()
    servers.push(server)
    const p1 = createChannelPool(server.address, { size: 1, name: 'one' })
    const p2 = createChannelPool(server.address, { size: 1, name: 'two' })
    const exporter = new PrometheusExporter().addChannelPool(p1).addChannelPool(p2)
    try {
      const c1 = p1.client(echoClientConstructor())
      const c2 = p2.client(echoClientConstructor())
      await Promise.all([p1.waitForReady({ timeoutMs: 5000 }), p2.waitForReady({ timeoutMs: 5000 })])
      for (let i = 0; i < 6; i++) await echo(c1, { message: 'x', delayMs: 30 })
      for (let i = 0; i < 2; i++) await echo(c2, { message: 'y', delayMs: 300 })
      const s = await scrape(exporter)
      const name = 'grpc_request_duration_seconds'
      assert.match(await exporter.registry.metrics(), /# TYPE grpc_request_duration_seconds histogram/)
      const r1 = buckets(s, name, { pool: 'one', method: ECHO })
      const r2 = buckets(s, name, { pool: 'two', method: ECHO })
      assert.equal(value(s, `${name}_count`, { pool: 'one', method: ECHO }), 6)
      assert.equal(value(s, `${name}_count`, { pool: 'two', method: ECHO }), 2)
      const summed = r1.map(([le, n], i) => [le, n + r2[i]![1]] as [number, number])
      const at = new Map(summed)
      assert.equal(at.get(0.025), 0)
      // 30 ms calls within (0.025, 0.1] (the first one also connects), 300 ms ones within (0.25, 0.5].
      assert.equal(at.get(0.1), 6)
      assert.equal(at.get(0.25), 6)
      assert.equal(at.get(0.5), 8)
      const p50 = histogramQuantile(0.5, summed)
      assert.ok(p50 > 0.025 && p50 <= 0.1, `fleet p50 ${p50} s in the 30 ms calls' buckets`)
      const p99 = histogramQuantile(0.99, summed)
      assert.ok(p99 > 0.25 && p99 <= 0.5, `fleet p99 ${p99} s in the 300 ms bucket`)
    } finally {
      exporter.unregister()
      await Promise.all([p1.close(), p2.close()])
    }
  })

  it("durations: 'summary' keeps the quantile summaries, 'both' exports the two side by side", async () => {
    const f = createFakeFactory({ createDelayMs: 5 })
    const pool = new Pool({ name: 'q', create: f.create, destroy: f.destroy, max: 4 })
    const summary = new PrometheusExporter({ durations: 'summary' }).addPool(pool)
    const both = new PrometheusExporter({ durations: 'both' }).addPool(pool)
    try {
      await acquireFresh(pool, 4)
      const text = await summary.registry.metrics()
      assert.match(text, /# TYPE berth_pool_acquire_wait_seconds summary/)
      assert.match(text, /# TYPE grpc_request_duration_seconds summary/)
      assert.match(text, /# TYPE berth_pg_query_duration_seconds summary/)
      const s = parseExposition(text)
      const labels = { pool: 'q', kind: 'core' }
      for (const q of ['0.5', '0.9', '0.99', '1']) {
        const v = value(s, 'berth_pool_acquire_wait_seconds', { ...labels, quantile: q })
        assert.ok(v >= 0.005 * 0.99 && v < 1, `quantile ${q}: ${v} s`)
      }
      assert.equal(value(s, 'berth_pool_acquire_wait_seconds_count', labels), 4)
      assert.equal(find(s, 'berth_pool_acquire_wait_seconds_bucket').length, 0)

      assert.ok(both.metricNames.includes('berth_pool_acquire_wait_seconds'))
      assert.ok(both.metricNames.includes('berth_pool_acquire_wait_summary_seconds'))
      assert.ok(both.metricNames.includes('grpc_request_duration_summary_seconds'))
      const t = await both.registry.metrics()
      assert.match(t, /# TYPE berth_pool_acquire_wait_seconds histogram/)
      assert.match(t, /# TYPE berth_pool_acquire_wait_summary_seconds summary/)
      const s2 = parseExposition(t)
      assert.equal(value(s2, 'berth_pool_acquire_wait_seconds_count', labels), 4)
      assert.equal(value(s2, 'berth_pool_acquire_wait_summary_seconds_count', labels), 4)
      assert.equal(summary.metricNames.length + 4, both.metricNames.length)
    } finally {
      summary.unregister()
      both.unregister()
      await pool.close()
    }
  })

  it('validates durations and buckets with InvalidOptionError, registering nothing', () => {
    const bad: [PrometheusExporterOptions, RegExp][] = [
      [{ durations: 'quantiles' as 'summary' }, /durations/],
      [{ buckets: [] as unknown as PrometheusExporterOptions['buckets'] }, /buckets/],
      [{ buckets: { acquireWait: [] } }, /buckets\.acquireWait/],
      [{ buckets: { query: [0.1, 0.05] } }, /buckets\.query/],
      [{ buckets: { rpc: [0.1, 0.1] } }, /buckets\.rpc/],
      [{ buckets: { rpc: [0, 1] } }, /buckets\.rpc/],
      [{ buckets: { rpc: [1, Number.POSITIVE_INFINITY] } }, /buckets\.rpc/],
      [{ buckets: { rpc: ['1' as unknown as number] } }, /buckets\.rpc/],
      [{ buckets: { connect: [1] } as PrometheusExporterOptions['buckets'] }, /buckets/],
    ]
    for (const [options, message] of bad) {
      assert.throws(
        () => new PrometheusExporter(options),
        (err: unknown) => err instanceof InvalidOptionError && message.test(String(err)),
        JSON.stringify(options),
      )
    }
    const custom = new PrometheusExporter({ buckets: { rpc: [0.1, 1] } })
    assert.deepEqual(DEFAULT_BUCKETS.rpc.includes(60), true)
    custom.unregister()
  })
})
