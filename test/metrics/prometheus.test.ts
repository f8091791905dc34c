import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Registry, validateMetricName } from 'prom-client'
import { InvalidOptionError, Pool } from '../../src/core/index.js'
import { createChannelPool } from '../../src/grpc/index.js'
import {
  DEFAULT_BUCKETS,
  DuplicateMetricSourceError,
  MetricNameConflictError,
  PROMETHEUS_FAMILIES,
  PrometheusExporter,
} from '../../src/metrics/index.js'
import { createPgPool } from '../../src/pg/index.js'
import { createFakeFactory } from '../support/fake-resources.js'
import { type EchoServer, echo, echoClientConstructor, startEchoServer } from '../support/grpc.js'
import { createDatabase, testPostgres } from '../support/postgres.js'
import { until } from '../support/until.js'
import { find, parseExposition, value } from './exposition.js'

const ECHO = '/berth.test.Echo/Echo'

async function scrape(exporter: PrometheusExporter) {
  return parseExposition(await exporter.registry.metrics())
}

const servers: EchoServer[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.stop(1000)))
})

describe('PrometheusExporter with a real PgPool', () => {
  it('exports pgxpool-equivalent gauges and counters that move with queries', async () => {
    const url = await createDatabase('metrics_prom')
    const db = createPgPool(url, { maxConns: 3, name: 'orders' })
    const exporter = new PrometheusExporter().addPgPool(db)
    try {
      await db.queryRow('select 1 as one')
      const before = await scrape(exporter)
      const acquiresBefore = value(before, 'berth_pg_acquire_count', { pool: 'orders' })
      const queriesBefore = value(before, 'berth_pg_query_duration_seconds_count', { pool: 'orders' })
      for (let i = 0; i < 20; i++) await db.query('select $1::int as n', [i])
      await db.tx(async (tx) => {
        await tx.query('select 1')
      })
      const s = await scrape(exporter)
      assert.ok(value(s, 'berth_pg_acquire_count', { pool: 'orders' }) >= acquiresBefore + 1)
      assert.ok(value(s, 'berth_pg_query_duration_seconds_count', { pool: 'orders' }) >= queriesBefore + 20)
      assert.equal(value(s, 'berth_pg_max_conns', { pool: 'orders' }), 3)
      const stats = db.stats()
      assert.equal(value(s, 'berth_pg_total_conns', { pool: 'orders' }), stats.totalConns)
      assert.ok(stats.totalConns >= 1)
      assert.equal(value(s, 'berth_pg_new_conns_count', { pool: 'orders' }), stats.newConnsCount)
      // A histogram by default: the query buckets, then +Inf at the count.
      const les = find(s, 'berth_pg_query_duration_seconds_bucket', { pool: 'orders' }).map(
        (b) => b.labels.le,
      )
      assert.deepEqual(les, [...DEFAULT_BUCKETS.query.map(String), '+Inf'])
      assert.equal(
        value(s, 'berth_pg_query_duration_seconds_bucket', { pool: 'orders', le: '+Inf' }),
        value(s, 'berth_pg_query_duration_seconds_count', { pool: 'orders' }),
      )
      const sum = value(s, 'berth_pg_query_duration_seconds_sum', { pool: 'orders' })
      assert.ok(sum > 0 && sum < 60, `query seconds in all: ${sum}`)
      // The core pool under the PgPool is exported too, with kind="pg".
      assert.equal(
        value(s, 'berth_pool_acquires_total', { pool: 'orders', kind: 'pg' }),
        stats.pool.counters.acquires,
      )
      assert.equal(value(s, 'berth_pool_max_resources', { pool: 'orders', kind: 'pg' }), 3)
      assert.equal(value(s, 'berth_pool_state', { pool: 'orders', kind: 'pg', state: 'open' }), 1)
      assert.equal(find(s, 'berth_pool_resources', { pool: 'orders', kind: 'pg' }).length, 5)
      const waits = find(s, 'berth_pool_acquire_wait_seconds_bucket', { pool: 'orders', kind: 'pg' })
      assert.equal(waits.length, DEFAULT_BUCKETS.acquireWait.length + 1)
    } finally {
      exporter.unregister()
      await db.close({ timeoutMs: 5000 })
    }
  })

  it('never puts a password or connection string into a label', async () => {
    const info = await testPostgres()
    const url = await createDatabase('metrics_secret')
    assert.ok(info.password.length > 0, 'the test server has a password to leak')
    const db = createPgPool(url, { maxConns: 1, name: url })
    const exporter = new PrometheusExporter().addPgPool(db)
    try {
      await db.queryRow('select 1 as one')
      const text = await exporter.registry.metrics()
      assert.ok(!text.includes(info.password), 'the password is not in the scrape')
      const labels = new Set(find(parseExposition(text), 'berth_pg_max_conns').map((s) => s.labels.pool))
      assert.equal(labels.size, 1)
      const [label] = labels
      assert.ok(label?.startsWith('postgres'), `label keeps the name without its secret: ${label}`)
      assert.ok(!label?.includes('@'))
    } finally {
      exporter.unregister()
      await db.close({ timeoutMs: 5000 })
    }
  })
})

describe('PrometheusExporter with a real ChannelPool', () => {
  it('exports connectivity, calls by method and status, and the request duration histogram', async () => {
    const server = await startEchoServer()
    servers.push(server)
    const pool = createChannelPool(server.address, { size: 2, name: 'echo' })
    const exporter = new PrometheusExporter().addChannelPool(pool)
    try {
      const client = pool.client(echoClientConstructor())
      await pool.waitForReady({ timeoutMs: 5000 })
      await until(() => pool.stats().channelsByState.READY === 2, 5000, 'both channels READY')
      for (let i = 0; i < 10; i++) await echo(client, { message: `m${i}` })
      for (let i = 0; i < 2; i++) await assert.rejects(echo(client, { failWith: 5 }))
      const s = await scrape(exporter)
      const ready = pool.stats().channelsByState.READY
      assert.equal(ready, 2)
      assert.equal(value(s, 'grpc_active_connections', { pool: 'echo' }), ready)
      assert.equal(value(s, 'berth_grpc_channels', { pool: 'echo', state: 'READY' }), ready)
      assert.equal(find(s, 'berth_grpc_channels', { pool: 'echo' }).length, 5, 'every connectivity state')
      assert.equal(value(s, 'berth_grpc_calls_started_total', { pool: 'echo', method: ECHO }), 12)
      assert.equal(
        value(s, 'berth_grpc_calls_finished_total', { pool: 'echo', method: ECHO, code: 'OK' }),
        10,
      )
      assert.equal(
        value(s, 'berth_grpc_calls_finished_total', { pool: 'echo', method: ECHO, code: 'NOT_FOUND' }),
        2,
      )
      assert.equal(value(s, 'grpc_request_duration_seconds_count', { pool: 'echo', method: ECHO }), 12)
      const sum = value(s, 'grpc_request_duration_seconds_sum', { pool: 'echo', method: ECHO })
      assert.ok(sum > 0 && sum < 60, `sum in seconds: ${sum}`)
      const inf = { pool: 'echo', method: ECHO, le: '+Inf' }
      assert.equal(value(s, 'grpc_request_duration_seconds_bucket', inf), 12)
      const les = find(s, 'grpc_request_duration_seconds_bucket', { pool: 'echo', method: ECHO })
      assert.equal(les.length, DEFAULT_BUCKETS.rpc.length + 1)
      assert.equal(value(s, 'berth_grpc_calls_in_flight', { pool: 'echo' }), 0)
      assert.equal(value(s, 'berth_pool_max_resources', { pool: 'echo', kind: 'grpc' }), 2)

      const text = await exporter.registry.metrics()
      assert.match(text, /# TYPE grpc_request_duration_seconds histogram/)
      assert.match(text, /# TYPE berth_grpc_reconnects_total counter/)
      assert.match(text, /# TYPE grpc_active_connections gauge/)
    } finally {
      exporter.unregister()
      await pool.close()
    }
  })
})

describe('PrometheusExporter: sources, names and registry', () => {
  function corePool(name: string) {
    const f = createFakeFactory()
    return new Pool({ name, create: f.create, destroy: f.destroy, max: 4 })
  }

  it('drops the series of a removed pool from the next scrape', async () => {
    const a = corePool('a')
    const b = corePool('b')
    const exporter = new PrometheusExporter().addPool(a).addPool(b)
    try {
      ;(await a.acquire()).release()
      let s = await scrape(exporter)
      assert.equal(value(s, 'berth_pool_acquires_total', { pool: 'a', kind: 'core' }), 1)
      assert.equal(value(s, 'berth_pool_acquires_total', { pool: 'b', kind: 'core' }), 0)
      assert.equal(exporter.remove(a), true)
      assert.equal(exporter.remove(a), false)
      s = await scrape(exporter)
      assert.equal(s.filter((x) => x.labels.pool === 'a').length, 0, 'no series of the removed pool are left')
      assert.equal(value(s, 'berth_pool_max_resources', { pool: 'b', kind: 'core' }), 4)
    } finally {
      exporter.unregister()
      await Promise.all([a.close(), b.close()])
    }
  })

  it('takes one stats() snapshot per pool per scrape', async () => {
    const pool = corePool('counted')
    let reads = 0
    const counted = {
      stats() {
        reads++
        return pool.stats()
      },
    }
    const exporter = new PrometheusExporter().addPool(counted, { name: 'counted' })
    try {
      assert.equal(reads, 0, 'adding with a name reads nothing')
      await exporter.registry.metrics()
      assert.equal(reads, 1)
      await exporter.registry.metrics()
      assert.equal(reads, 2)
    } finally {
      exporter.unregister()
      await pool.close()
    }
  })

  it('registers only names that prom-client accepts, and scrapes to valid exposition text', async () => {
    const pool = corePool('names')
    const exporter = new PrometheusExporter().addPool(pool)
    try {
      assert.equal(exporter.metricNames.length, PROMETHEUS_FAMILIES.length)
      for (const name of exporter.metricNames) assert.ok(validateMetricName(name), name)
      assert.ok(exporter.metricNames.includes('grpc_active_connections'))
      assert.ok(exporter.metricNames.includes('grpc_request_duration_seconds'))
      assert.ok(exporter.metricNames.includes('berth_pg_acquire_count'))
      const series = await scrape(exporter)
      assert.ok(series.length > 0)
      for (const s of series) assert.ok(Number.isFinite(s.value), `${s.name} is a number`)
    } finally {
      exporter.unregister()
      await pool.close()
    }
  })

  it('applies the prefix to berth names only and refuses an invalid one', () => {
    const exporter = new PrometheusExporter({ prefix: 'svc_' })
    assert.ok(exporter.metricNames.includes('svc_pg_acquire_count'))
    assert.ok(exporter.metricNames.includes('svc_pool_acquires_total'))
    assert.ok(exporter.metricNames.includes('grpc_active_connections'))
    assert.ok(!exporter.metricNames.some((n) => n.startsWith('berth_')))
    assert.throws(() => new PrometheusExporter({ prefix: 'not a prefix' }), InvalidOptionError)
  })

  it('fails at once on a name clash in a shared registry, leaving the registry as it was', () => {
    const registry = new Registry()
    const first = new PrometheusExporter({ registry })
    const count = registry.getMetricsAsArray().length
    assert.equal(count, first.metricNames.length)
    assert.throws(
      () => new PrometheusExporter({ registry }),
      (e: unknown) => e instanceof MetricNameConflictError && e.code === 'BERTH_METRICS_NAME_CONFLICT',
    )
    assert.equal(registry.getMetricsAsArray().length, count)
    // A second exporter with its own prefix still clashes on the seed names it shares.
    assert.throws(() => new PrometheusExporter({ registry, prefix: 'other_' }), MetricNameConflictError)
    assert.equal(registry.getMetricsAsArray().length, count)
    first.unregister()
    assert.equal(registry.getMetricsAsArray().length, 0)
    first.unregister()
  })

  it('refuses the same pool twice, and two pools of one kind under one name', async () => {
    const a = corePool('same')
    const b = corePool('same')
    const exporter = new PrometheusExporter().addPool(a)
    try {
      assert.throws(() => exporter.addPool(a), DuplicateMetricSourceError)
      assert.throws(() => exporter.addPool(b), DuplicateMetricSourceError)
      exporter.addPool(b, { name: 'same-2' })
      const s = await scrape(exporter)
      assert.equal(find(s, 'berth_pool_max_resources').length, 2)
      assert.throws(() => exporter.addPool({ stats: () => a.stats() }, { name: '' }), InvalidOptionError)
    } finally {
      exporter.unregister()
      await Promise.all([a.close(), b.close()])
    }
  })
})
