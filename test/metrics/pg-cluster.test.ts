/**
 * berth/metrics with a real PgCluster (a primary and one streaming standby): the per-server and
 * per-cluster series in Prometheus and OpenTelemetry, each host's pool under the pg pool families,
 * lag that moves while the standby's replay is paused, no password in any label, name clashes
 * between host pools refused, and a failover (the primary stopped, the standby promoted) counted.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import {
  DuplicateMetricSourceError,
  PrometheusExporter,
  registerOpenTelemetry,
} from '../../src/metrics/index.js'
import { type PgCluster, createPgCluster, createPgPool } from '../../src/pg/index.js'
import { type PostgresCluster, startPostgresCluster } from '../../src/testing/index.js'
import { until } from '../support/until.js'
import { find, parseExposition, value } from './exposition.js'
import { TestReader, collectPoints, one, pointsOf } from './otel-points.js'

let cluster: PostgresCluster
let primary: string
let standby: string

before(async () => {
  cluster = await startPostgresCluster({ standbys: 1 })
  primary = `127.0.0.1:${cluster.primary.port}`
  standby = `127.0.0.1:${cluster.standbys[0]!.port}`
})
after(async () => {
  await cluster?.destroy()
})

/** A cluster named 'orders' whose standby is in rotation with its lag known. */
async function open(): Promise<PgCluster> {
  const db = createPgCluster(cluster.url, { budgetCheck: false, probePeriod: 100, name: 'orders' })
  await until(
    () => {
      const s = db.stats()
      return s.replicasInRotation === 1 && s.hosts.every((h) => h.lagBytes !== null && h.lagMs !== null)
    },
    5000,
    { message: () => `standby not in rotation with lag known: ${JSON.stringify(db.stats().hosts)}` },
  )
  return db
}

async function scrape(exporter: PrometheusExporter) {
  return parseExposition(await exporter.registry.metrics())
}

describe('PrometheusExporter with a real PgCluster', () => {
  it('exports role, rotation, reads and lag per host, the cluster figures, and each host pool', async () => {
    await using db = await open()
    const exporter = new PrometheusExporter().addPgCluster(db)
    try {
      for (let i = 0; i < 5; i++) await db.read.queryRow('select $1::int as n', [i])
      await db.queryRow('select 1 as one')
      const s = await scrape(exporter)
      const p = { pool: 'orders', host: primary }
      const r = { pool: 'orders', host: standby }

      assert.equal(value(s, 'berth_pg_cluster_host_role', { ...p, role: 'primary' }), 1)
      assert.equal(value(s, 'berth_pg_cluster_host_role', { ...p, role: 'standby' }), 0)
      assert.equal(value(s, 'berth_pg_cluster_host_role', { ...r, role: 'standby' }), 1)
      assert.equal(value(s, 'berth_pg_cluster_host_role', { ...r, role: 'unknown' }), 0)
      assert.equal(
        find(s, 'berth_pg_cluster_host_role', { pool: 'orders' }).length,
        6,
        'three roles per host',
      )
      assert.equal(value(s, 'berth_pg_cluster_host_up', p), 1)
      assert.equal(value(s, 'berth_pg_cluster_host_up', r), 1)
      assert.equal(value(s, 'berth_pg_cluster_host_read_only', p), 0)
      assert.equal(value(s, 'berth_pg_cluster_host_read_only', r), 1)
      assert.equal(value(s, 'berth_pg_cluster_host_in_rotation', p), 0)
      assert.equal(value(s, 'berth_pg_cluster_host_in_rotation', r), 1)
      assert.equal(value(s, 'berth_pg_cluster_host_reads_total', r), 5)
      assert.equal(value(s, 'berth_pg_cluster_host_reads_total', p), 0)
      assert.equal(value(s, 'berth_pg_cluster_host_reads_in_flight', r), 0)
      assert.equal(value(s, 'berth_pg_cluster_host_promotions_total', r), 0)
      assert.equal(value(s, 'berth_pg_cluster_host_replay_paused', r), 0)
      assert.equal(value(s, 'berth_pg_cluster_host_lag_bytes', p), 0, 'the primary does not lag')
      assert.equal(value(s, 'berth_pg_cluster_host_lag_seconds', p), 0)
      assert.ok(value(s, 'berth_pg_cluster_host_lag_bytes', r) >= 0)
      const lag = value(s, 'berth_pg_cluster_host_lag_seconds', r)
      assert.ok(lag >= 0 && lag < 60, `standby lag in seconds: ${lag}`)

      assert.equal(value(s, 'berth_pg_cluster_has_primary', { pool: 'orders' }), 1)
      assert.equal(value(s, 'berth_pg_cluster_without_primary_seconds', { pool: 'orders' }), 0)
      assert.equal(value(s, 'berth_pg_cluster_failovers_total', { pool: 'orders' }), 0)
      assert.equal(find(s, 'berth_pg_cluster_last_failover_duration_seconds').length, 0, 'none before one')
      assert.ok(value(s, 'berth_pg_cluster_probe_rounds_total', { pool: 'orders' }) >= 1)
      assert.equal(value(s, 'berth_pg_cluster_replicas_in_rotation', { pool: 'orders' }), 1)
      assert.equal(value(s, 'berth_pg_cluster_reads_total', { pool: 'orders', target: 'replica' }), 5)
      assert.equal(value(s, 'berth_pg_cluster_reads_total', { pool: 'orders', target: 'primary' }), 0)

      // Each host's pool, under its own name, through the pg and core pool families.
      const stats = db.stats()
      for (const h of stats.hosts) {
        assert.equal(h.pool.name, `orders@${h.host}`)
        assert.equal(value(s, 'berth_pg_max_conns', { pool: h.pool.name }), h.pool.maxConns)
        assert.equal(value(s, 'berth_pg_new_conns_count', { pool: h.pool.name }), h.pool.newConnsCount)
        assert.equal(
          value(s, 'berth_pool_acquires_total', { pool: h.pool.name, kind: 'pg' }),
          h.pool.pool.counters.acquires,
        )
      }
      assert.ok(value(s, 'berth_pg_query_duration_seconds_count', { pool: `orders@${standby}` }) >= 5)
      assert.ok(value(s, 'berth_pg_query_duration_seconds_count', { pool: `orders@${primary}` }) >= 1)
      for (const x of s) assert.ok(Number.isFinite(x.value), `${x.name} is a number`)
    } finally {
      exporter.unregister()
    }
  })

  it('shows a paused standby falling behind, and its lag shrinking once it resumes', async () => {
    await using db = await open()
    const exporter = new PrometheusExporter().addPgCluster(db)
    const paused = cluster.standbys[0]!
    const r = { pool: 'orders', host: standby }
    await db.exec('create table if not exists items (id int primary key, note text)')
    await paused.pauseReplay()
    try {
      for (let i = 0; i < 20; i++)
        await db.exec(
          'insert into items values ($1, $2) on conflict (id) do update set note = excluded.note',
          [100 + i, `n${i}`],
        )
      let s = await scrape(exporter)
      await until(
        async () => {
          s = await scrape(exporter)
          return (
            value(s, 'berth_pg_cluster_host_replay_paused', r) === 1 &&
            value(s, 'berth_pg_cluster_host_lag_bytes', r) > 0
          )
        },
        5000,
        { message: () => `no lag seen: ${JSON.stringify(find(s, 'berth_pg_cluster_host_lag_bytes'))}` },
      )
    } finally {
      await paused.resumeReplay()
    }
    await until(
      async () => {
        const s = await scrape(exporter)
        return (
          value(s, 'berth_pg_cluster_host_replay_paused', r) === 0 &&
          value(s, 'berth_pg_cluster_host_lag_bytes', r) === 0
        )
      },
      5000,
      'the standby to catch up in the scrape',
    )
    exporter.unregister()
  })

  it('never puts the password into a label, whether a cluster is named by its URL or not', async () => {
    const password = cluster.primary.password
    assert.ok(password.length > 0 && cluster.url.includes(password), 'the URL has a password to leak')
    await using db = await open()
    await using named = createPgCluster(cluster.url, {
      budgetCheck: false,
      probePeriod: 100,
      name: cluster.url,
    })
    const exporter = new PrometheusExporter().addPgCluster(db).addPgCluster(named, { name: cluster.url })
    try {
      await until(() => named.stats().hosts.every((h) => h.state === 'up'), 5000, 'both servers probed')
      const text = await exporter.registry.metrics()
      assert.ok(!text.includes(password), 'the password is not in the scrape')
      const s = parseExposition(text)
      const labels = new Set(s.flatMap((x) => Object.values(x.labels)))
      for (const label of labels) assert.ok(!label.includes(password), label)
      const clusterLabels = new Set(find(s, 'berth_pg_cluster_has_primary').map((x) => x.labels.pool))
      assert.equal(clusterLabels.size, 2)
      assert.ok(clusterLabels.has('orders'))
      const urlLabel = [...clusterLabels].find((l) => l !== 'orders')!
      assert.ok(urlLabel.startsWith('postgres') && !urlLabel.includes(`:${password}@`), urlLabel)
      assert.deepEqual(
        new Set(find(s, 'berth_pg_cluster_host_up').map((x) => x.labels.host)),
        new Set([primary, standby]),
      )
    } finally {
      exporter.unregister()
    }
  })
})

describe('PrometheusExporter: PgCluster sources', () => {
  it('refuses two sources that would give a Postgres pool the same name', async () => {
    const options = { budgetCheck: false, probePeriod: 100 } as const
    await using a = createPgCluster(cluster.url, options)
    await using b = createPgCluster(cluster.url, options)
    await using other = createPgCluster(cluster.url, { ...options, name: 'other' })
    await using pool = createPgPool(cluster.primary.url, { name: `other@${primary}` })
    const exporter = new PrometheusExporter().addPgCluster(a)
    const refused = (kind: string, poolName: string) => (e: unknown) =>
      e instanceof DuplicateMetricSourceError && e.kind === kind && e.poolName === poolName
    try {
      assert.throws(() => exporter.addPgCluster(a, { name: 'again' }), refused('pg-cluster', 'pg-cluster'))
      assert.throws(() => exporter.addPgCluster(b), refused('pg-cluster', 'pg-cluster'), 'same cluster name')
      // Named apart, but their host pools are both 'pg-cluster@host:port'.
      assert.throws(() => exporter.addPgCluster(b, { name: 'b' }), refused('pg', `pg-cluster@${primary}`))
      exporter.addPgCluster(other)
      assert.throws(() => exporter.addPgPool(pool), refused('pg', `other@${primary}`))
      exporter.addPgPool(pool, { name: 'plain' })
      // Once the first is gone its host pool names are free.
      assert.equal(exporter.remove(a), true)
      exporter.addPgCluster(b, { name: 'b' })
    } finally {
      exporter.unregister()
    }
  })
})

describe('registerOpenTelemetry with a real PgCluster', () => {
  it('observes berth.pg.cluster.* per host and per cluster, and each host pool as db.client.connection.*', async () => {
    const reader = new TestReader()
    const provider = new MeterProvider({ readers: [reader] })
    await using db = await open()
    const otel = registerOpenTelemetry(provider.getMeter('berth-test'), { pgClusters: [db] })
    try {
      for (let i = 0; i < 3; i++) await db.read.queryRow('select $1::int as n', [i])
      const points = await collectPoints(reader)
      const c = { 'berth.pg.cluster.name': 'orders' }
      const p = { ...c, 'berth.pg.cluster.host': primary }
      const r = { ...c, 'berth.pg.cluster.host': standby }
      const role = (a: typeof p, name: string) =>
        one(points, 'berth.pg.cluster.host.role', { ...a, 'berth.pg.cluster.host.role': name }).value
      assert.equal(role(p, 'primary'), 1)
      assert.equal(role(p, 'standby'), 0)
      assert.equal(role(r, 'standby'), 1)
      assert.equal(pointsOf(points, 'berth.pg.cluster.host.role', c).length, 6)
      assert.equal(one(points, 'berth.pg.cluster.host.up', r).value, 1)
      assert.equal(one(points, 'berth.pg.cluster.host.read_only', r).value, 1)
      const inRotation = one(points, 'berth.pg.cluster.host.in_rotation', r)
      assert.equal(inRotation.value, 1)
      assert.equal(inRotation.unit, '1')
      assert.equal(inRotation.monotonic, false, 'an UpDownCounter')
      assert.equal(one(points, 'berth.pg.cluster.host.in_rotation', p).value, 0)
      const reads = one(points, 'berth.pg.cluster.host.read.count', r)
      assert.equal(reads.value, 3)
      assert.equal(reads.monotonic, true, 'a Counter')
      assert.equal(one(points, 'berth.pg.cluster.host.read.active', r).value, 0)
      const lagSize = one(points, 'berth.pg.cluster.host.lag.size', r)
      assert.ok(lagSize.value >= 0 && lagSize.unit === 'By')
      const lagTime = one(points, 'berth.pg.cluster.host.lag.time', r)
      assert.ok(lagTime.value >= 0 && lagTime.value < 60 && lagTime.unit === 's')
      assert.equal(one(points, 'berth.pg.cluster.host.lag.size', p).value, 0)
      assert.equal(one(points, 'berth.pg.cluster.host.promotions', r).value, 0)

      assert.equal(one(points, 'berth.pg.cluster.has_primary', c).value, 1)
      assert.equal(one(points, 'berth.pg.cluster.without_primary', c).value, 0)
      assert.equal(one(points, 'berth.pg.cluster.failovers', c).value, 0)
      assert.equal(pointsOf(points, 'berth.pg.cluster.failover.duration').length, 0)
      assert.ok(one(points, 'berth.pg.cluster.probe.rounds', c).value >= 1)
      assert.equal(one(points, 'berth.pg.cluster.replicas_in_rotation', c).value, 1)
      const target = (t: string) =>
        one(points, 'berth.pg.cluster.read.count', { ...c, 'berth.pg.cluster.read.target': t }).value
      assert.equal(target('replica'), 3)
      assert.equal(target('primary'), 0)

      for (const h of db.stats().hosts) {
        const pool = { 'db.client.connection.pool.name': h.pool.name }
        assert.equal(one(points, 'db.client.connection.max', pool).value, h.pool.maxConns)
        assert.equal(pointsOf(points, 'db.client.connection.count', pool).length, 2)
      }
      assert.equal(
        pointsOf(points, 'berth.pg.query.duration', { 'db.client.connection.pool.name': `orders@${standby}` })
          .length,
        4,
      )
    } finally {
      otel.unregister()
      await provider.shutdown()
    }
  })
})

// Last: it moves the primary for good.
describe('PrometheusExporter with a real PgCluster through a failover', () => {
  it('counts the failover and the promotion, and shows the new roles', async () => {
    await using db = await open()
    const exporter = new PrometheusExporter().addPgCluster(db)
    try {
      await cluster.primary.stop()
      await cluster.standbys[0]!.promote()
      await until(() => db.stats().primary === standby, 15000, {
        message: () => `no failover to ${standby}: ${JSON.stringify(db.stats())}`,
      })
      const s = await scrape(exporter)
      const c = { pool: 'orders' }
      assert.equal(value(s, 'berth_pg_cluster_failovers_total', c), 1)
      const took = value(s, 'berth_pg_cluster_last_failover_duration_seconds', c)
      assert.ok(took >= 0 && took < 15, `failover took ${took} s`)
      assert.equal(value(s, 'berth_pg_cluster_has_primary', c), 1)
      assert.equal(value(s, 'berth_pg_cluster_without_primary_seconds', c), 0)
      assert.equal(value(s, 'berth_pg_cluster_host_promotions_total', { ...c, host: standby }), 1)
      assert.equal(value(s, 'berth_pg_cluster_host_role', { ...c, host: standby, role: 'primary' }), 1)
      assert.equal(value(s, 'berth_pg_cluster_host_up', { ...c, host: primary }), 0)
      assert.equal(value(s, 'berth_pg_cluster_host_in_rotation', { ...c, host: primary }), 0)
    } finally {
      exporter.unregister()
    }
  })
})
