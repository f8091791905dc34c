import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import type { Meter } from '@opentelemetry/api'
import { AggregationTemporality, DataPointType, MeterProvider } from '@opentelemetry/sdk-metrics'
import { InvalidOptionError, Pool } from '../../src/core/index.js'
import { createChannelPool } from '../../src/grpc/index.js'
import { registerOpenTelemetry } from '../../src/metrics/index.js'
import { createPgPool } from '../../src/pg/index.js'
import { createFakeFactory } from '../support/fake-resources.js'
import { echo, echoClientConstructor, startEchoServer } from '../support/grpc.js'
import { createDatabase } from '../support/postgres.js'
import { until } from '../support/until.js'
import { type Point, TestReader, collectPoints, one, pointsOf } from './otel-points.js'

let reader: TestReader
let provider: MeterProvider
let meter: Meter

beforeEach(() => {
  useReader(new TestReader())
})

function useReader(r: TestReader): void {
  reader = r
  provider = new MeterProvider({ readers: [reader] })
  meter = provider.getMeter('berth-test')
}

afterEach(async () => {
  await provider.shutdown()
})

function collect(): Promise<Point[]> {
  return collectPoints(reader)
}

describe('registerOpenTelemetry with a real PgPool', () => {
  it('observes db.client.connection.* by pool name and state, timeouts and wait time', async () => {
    const url = await createDatabase('metrics_otel')
    const db = createPgPool(url, { maxConns: 1, name: 'ledger', acquireTimeout: 300 })
    const otel = registerOpenTelemetry(meter, { pgPools: [db] })
    try {
      for (let i = 0; i < 5; i++) await db.queryRow('select $1::int as n', [i])
      const pool = { 'db.client.connection.pool.name': 'ledger' }
      await db.tx(async (tx) => {
        await tx.query('select 1')
        // The only connection is in this transaction: a statement outside it times out waiting.
        await assert.rejects(db.query('select 2'))
        const points = await collect()
        const used = one(points, 'db.client.connection.count', {
          ...pool,
          'db.client.connection.state': 'used',
        })
        const idle = one(points, 'db.client.connection.count', {
          ...pool,
          'db.client.connection.state': 'idle',
        })
        assert.equal(used.value, 1)
        assert.equal(idle.value, 0)
        assert.equal(used.type, DataPointType.SUM)
        assert.equal(used.monotonic, false, 'an UpDownCounter')
        assert.equal(used.unit, '{connection}')
        assert.equal(one(points, 'db.client.connection.max', pool).value, 1)
        assert.equal(one(points, 'db.client.connection.pending_requests', pool).value, 0)
        const timeouts = one(points, 'db.client.connection.timeouts', pool)
        assert.equal(timeouts.value, 1)
        assert.equal(timeouts.monotonic, true, 'a Counter')
        const wait = pointsOf(points, 'db.client.connection.wait_time', pool)
        assert.deepEqual(wait.map((p) => p.attributes.quantile).sort(), [0.5, 0.9, 0.99, 1])
        assert.ok(wait.every((p) => p.type === DataPointType.GAUGE && p.unit === 's'))
        const query = pointsOf(points, 'berth.pg.query.duration', pool)
        assert.equal(query.length, 4)
        assert.ok(
          query.every((p) => p.value > 0 && p.value < 60),
          'query durations in seconds',
        )
        // A Postgres pool does not report under the other kinds' names.
        assert.equal(pointsOf(points, 'rpc.client.connection.count').length, 0)
        assert.equal(pointsOf(points, 'berth.pool.resource.count').length, 0)
      })
    } finally {
      otel.unregister()
      await db.close({ timeoutMs: 5000 })
    }
  })
})

describe('registerOpenTelemetry with a real ChannelPool', () => {
  it('observes rpc.client.connection.* and per-method call counts and durations', async () => {
    const server = await startEchoServer()
    const pool = createChannelPool(server.address, { size: 2, name: 'echo' })
    const otel = registerOpenTelemetry(meter, { channelPools: [pool] })
    try {
      const client = pool.client(echoClientConstructor())
      await pool.waitForReady({ timeoutMs: 5000 })
      await until(() => pool.stats().channelsByState.READY === 2, 5000, 'both channels READY')
      for (let i = 0; i < 5; i++) await echo(client, { message: `m${i}` })
      await assert.rejects(echo(client, { failWith: 5 }))
      const points = await collect()
      const attrs = { 'rpc.client.connection.pool.name': 'echo' }
      assert.equal(
        one(points, 'rpc.client.connection.connectivity', {
          ...attrs,
          'rpc.grpc.connectivity_state': 'READY',
        }).value,
        2,
      )
      const counts = pointsOf(points, 'rpc.client.connection.count', attrs)
      assert.equal(counts.length, 2)
      assert.equal(
        counts.reduce((n, p) => n + p.value, 0),
        pool.stats().pool.idle + pool.stats().pool.leased + pool.stats().pool.shared,
      )
      assert.equal(one(points, 'rpc.client.connection.max', attrs).value, 2)
      assert.equal(one(points, 'rpc.client.call.active', attrs).value, 0)
      const call = { ...attrs, 'rpc.system': 'grpc', 'rpc.service': 'berth.test.Echo', 'rpc.method': 'Echo' }
      assert.equal(one(points, 'rpc.client.call.count', { ...call, 'rpc.grpc.status_code': 0 }).value, 5)
      assert.equal(one(points, 'rpc.client.call.count', { ...call, 'rpc.grpc.status_code': 5 }).value, 1)
      const p50 = one(points, 'rpc.client.call.duration', { ...call, quantile: 0.5 })
      const max = one(points, 'rpc.client.call.duration', { ...call, quantile: 1 })
      assert.ok(p50.value > 0 && p50.value <= max.value, `p50 ${p50.value} <= max ${max.value}`)
      assert.equal(p50.unit, 's')
    } finally {
      otel.unregister()
      await pool.close()
      await server.stop(1000)
    }
  })
})

describe('registerOpenTelemetry: pools and registration', () => {
  it('observes core pools, stops observing a removed pool, and nothing after unregister', async () => {
    // With cumulative temporality the SDK keeps exporting the last value of an attribute set that is
    // no longer observed; with delta it exports only what the callback observed.
    await provider.shutdown()
    useReader(new TestReader({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA }))
    const f = createFakeFactory()
    const a = new Pool({ name: 'a', create: f.create, destroy: f.destroy, max: 3 })
    const b = new Pool({ name: 'b', create: f.create, destroy: f.destroy, max: 5 })
    const otel = registerOpenTelemetry(meter, { pools: [a] }).addPool(b, { name: 'renamed' })
    const lease = await a.acquire()
    try {
      let points = await collect()
      assert.equal(
        one(points, 'berth.pool.resource.count', {
          'berth.pool.name': 'a',
          'berth.pool.resource.state': 'used',
        }).value,
        1,
      )
      assert.equal(one(points, 'berth.pool.resource.max', { 'berth.pool.name': 'renamed' }).value, 5)
      assert.equal(pointsOf(points, 'berth.pool.resource.max', { 'berth.pool.name': 'b' }).length, 0)

      assert.equal(otel.remove(b), true)
      assert.equal(otel.remove(b), false)
      points = await collect()
      assert.equal(pointsOf(points, 'berth.pool.resource.max', { 'berth.pool.name': 'renamed' }).length, 0)
      assert.equal(pointsOf(points, 'berth.pool.resource.max', { 'berth.pool.name': 'a' }).length, 1)

      otel.unregister()
      otel.unregister()
      points = await collect()
      assert.equal(pointsOf(points, 'berth.pool.resource.count').length, 0)
      assert.equal(pointsOf(points, 'berth.pool.resource.max').length, 0)
    } finally {
      lease.release()
      await Promise.all([a.close(), b.close()])
    }
  })

  it('refuses something that is not a Meter', () => {
    assert.throws(() => registerOpenTelemetry({} as Meter), InvalidOptionError)
  })
})
