import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { CallMetrics, metricsInterceptor } from '../../src/grpc/interceptor-metrics.js'
import { type EchoClient, echo, echoFixture } from '../support/grpc.js'

const ECHO = '/berth.test.Echo/Echo'
const TICKS = '/berth.test.Echo/Ticks'

describe('metricsInterceptor', () => {
  const fixture = echoFixture()

  const client = (metrics: CallMetrics): EchoClient => fixture.client([metricsInterceptor(metrics)])

  test('a slow call is in flight while it runs and leaves a latency above its delay', async () => {
    const metrics = new CallMetrics()
    const c = client(metrics)
    const call = echo(c, { message: 'slow', delayMs: 200 })
    await sleep(50)
    const during = metrics.snapshot()
    assert.equal(during.inFlight, 1)
    assert.equal(metrics.inFlight, 1)
    assert.equal(during.started, 1)
    assert.equal(during.finished, 0)
    assert.equal(during.methods[ECHO]?.inFlight, 1)

    await call
    const done = metrics.snapshot()
    assert.equal(done.inFlight, 0)
    assert.equal(done.finished, 1)
    const latency = done.methods[ECHO]?.latency
    assert.ok(latency)
    assert.equal(latency.count, 1)
    assert.ok(latency.p50 >= 200, `p50 ${latency.p50} ms`)
    assert.ok(latency.p99 >= 200, `p99 ${latency.p99} ms`)
    assert.ok(latency.max >= 200 && latency.max < 1000, `max ${latency.max} ms`)
  })

  test('percentiles separate fast calls from slow ones', async () => {
    const metrics = new CallMetrics()
    const c = client(metrics)
    await Promise.all(Array.from({ length: 18 }, () => echo(c, { delayMs: 0 })))
    await Promise.all([echo(c, { delayMs: 150 }), echo(c, { delayMs: 150 })])
    const latency = metrics.snapshot().methods[ECHO]?.latency
    assert.ok(latency)
    assert.equal(latency.count, 20)
    assert.ok(latency.p50 < 100, `p50 ${latency.p50} ms`)
    assert.ok(latency.p99 >= 150, `p99 ${latency.p99} ms`)
  })

  test('finished calls are counted per method and per status, with totals over all methods', async () => {
    const metrics = new CallMetrics()
    const c = client(metrics)
    await echo(c, { message: 'a' })
    await echo(c, { message: 'b' })
    await assert.rejects(echo(c, { failWith: grpc.status.UNAVAILABLE }), { code: grpc.status.UNAVAILABLE })
    await assert.rejects(echo(c, { failWith: grpc.status.UNAVAILABLE }), { code: grpc.status.UNAVAILABLE })
    await assert.rejects(echo(c, { failWith: grpc.status.NOT_FOUND }), { code: grpc.status.NOT_FOUND })
    const ticks = c.ticks({ message: 't', count: 3 })
    ticks.on('data', () => {})
    await new Promise((resolve) => ticks.on('status', resolve))

    const s = metrics.snapshot()
    assert.deepEqual(s.methods[ECHO]?.byStatus, { OK: 2, UNAVAILABLE: 2, NOT_FOUND: 1 })
    assert.equal(s.methods[ECHO]?.started, 5)
    assert.equal(s.methods[ECHO]?.finished, 5)
    assert.deepEqual(s.methods[TICKS]?.byStatus, { OK: 1 })
    assert.deepEqual(s.byStatus, { OK: 3, UNAVAILABLE: 2, NOT_FOUND: 1 })
    assert.equal(s.started, 6)
    assert.equal(s.finished, 6)
    assert.equal(s.inFlight, 0)
  })

  test('a call the caller cancels counts as CANCELLED and leaves flight', async () => {
    const metrics = new CallMetrics()
    const c = client(metrics)
    const call = c.echo({ delayMs: 1000 }, new grpc.Metadata(), {}, () => {})
    await sleep(30)
    assert.equal(metrics.inFlight, 1)
    call.cancel()
    await sleep(30)
    const s = metrics.snapshot()
    assert.equal(s.inFlight, 0)
    assert.deepEqual(s.byStatus, { CANCELLED: 1 })
  })

  test('the snapshot is a frozen copy that later calls do not change', async () => {
    const metrics = new CallMetrics()
    const c = client(metrics)
    await echo(c)
    const s = metrics.snapshot()
    await echo(c)
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.methods) && Object.isFrozen(s.byStatus))
    assert.ok(Object.isFrozen(s.methods[ECHO]) && Object.isFrozen(s.methods[ECHO]?.latency))
    assert.equal(s.finished, 1)
    assert.equal(metrics.snapshot().finished, 2)
  })

  test('one CallMetrics serves several clients, and its interceptor is the same function each time', async () => {
    const metrics = new CallMetrics()
    assert.equal(metricsInterceptor(metrics), metrics.interceptor)
    await echo(client(metrics))
    await echo(client(metrics))
    assert.equal(metrics.snapshot().methods[ECHO]?.finished, 2)
  })

  test('an empty CallMetrics has an empty snapshot', () => {
    const s = new CallMetrics().snapshot()
    assert.deepEqual(s, { started: 0, finished: 0, inFlight: 0, byStatus: {}, methods: {} })
  })
})
