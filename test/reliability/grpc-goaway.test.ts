/**
 * Issue 6, scenario 9: GOAWAY, i.e. a graceful server shutdown (grpc-js tryShutdown sends GOAWAY,
 * lets the streams it has run to the end, accepts no new ones) under load. berth's
 * `shutdownServer()` first turns the health service NOT_SERVING, then shuts down, then forces
 * whatever is left at its deadline. Measured: failed calls (none expected while another backend
 * serves), how long a backend took to drain, time from restart to traffic.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { createChannelPool, createHealthService, shutdownServer } from '../../src/grpc/index.js'
import type { EchoServer } from '../support/grpc.js'
import { echoClientConstructor } from '../support/grpc.js'
import {
  FAST_RECONNECT,
  TrackedLoad,
  echoServer,
  failureCounts,
  recovered,
  timeUntil,
  track,
  watchProcessErrors,
} from './grpc-support.js'

async function servedWithHealth(id: string, port?: number) {
  const health = createHealthService({ '': 'SERVING' })
  const server = await echoServer({
    id,
    ...(port === undefined ? {} : { port }),
    setup: (s) => health.addTo(s),
  })
  return { server, health }
}

describe('reliability: GOAWAY (graceful server shutdown) under load', () => {
  it('rolls a restart through every backend without failing or stranding a call', async (t) => {
    const watch = watchProcessErrors()
    const ids = ['a', 'b', 'c']
    const nodes = await Promise.all(ids.map((id) => servedWithHealth(id)))
    const pool = track(
      createChannelPool(
        nodes.map((n) => n.server.address),
        { size: 2, healthCheck: { retryMs: 100 }, ...FAST_RECONNECT },
      ),
    )
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    await timeUntil(
      () => pool.connectivity().backends.every((b) => b.health === 'SERVING'),
      5000,
      'all SERVING',
    )
    const load = new TrackedLoad(client, { workers: 12, request: { delayMs: 40 } })
    await timeUntil(() => ids.every((id) => load.count(id) > 20), 10_000, 'traffic on every backend')

    const figures: string[] = []
    let drainedInFlight = 0
    for (const [i, id] of ids.entries()) {
      const { server, health } = nodes[i]!
      const inFlight = server.inFlight
      drainedInFlight += inFlight
      const stoppedAt = load.now()
      const result = await shutdownServer(server.server, { timeoutMs: 5000, health })
      assert.equal(result.graceful, true, `${id} drained before the deadline`)
      // Replies counted after the drain, so that a drained call's reply, which can land in the very
      // millisecond of the restart, is not taken for traffic coming back.
      const repliesBefore = load.count(id)
      const restartedAt = load.now()
      nodes[i] = await servedWithHealth(id, server.port)
      const backMs = await timeUntil(() => load.count(id) > repliesBefore, 15_000, `traffic back on ${id}`)
      figures.push(
        `${id}: ${inFlight} in flight drained in ${Math.round(result.durationMs)} ms, traffic back ${backMs} ms after restart (${restartedAt - stoppedAt} ms shutdown)`,
      )
      await timeUntil(() => load.count(id) > repliesBefore + 20, 10_000, `steady traffic on ${id}`)
    }
    await load.stop()
    watch.dispose()

    t.diagnostic(
      `rolling restart of 3 backends: ${load.failures.length} failed of ${load.started} ` +
        `(${JSON.stringify(failureCounts(load.failures))}), ${drainedInFlight} calls drained; ${figures.join('; ')}`,
    )
    assert.equal(load.pending, 0, 'every call ended')
    assert.deepEqual(load.failures, [], 'a graceful restart fails no call')
    assert.equal(load.ok, load.started)
    assert.ok(drainedInFlight > 0, 'shutdowns happened under load (calls were in flight)')
    assert.equal(pool.connectivity().state, 'READY')
    assert.ok(pool.connectivity().backends.every((b) => b.inRotation))
    assert.deepEqual(watch.errors, [])
  })

  it('lets the calls in flight on the only backend finish, fails new ones with a typed UNAVAILABLE, and recovers after a restart', async (t) => {
    const watch = watchProcessErrors()
    const a = await echoServer({ id: 'a' })
    const pool = track(createChannelPool(a.address, { size: 2, ...FAST_RECONNECT }))
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const load = new TrackedLoad(client, { workers: 8, request: { delayMs: 200 }, pauseAfterFailureMs: 20 })
    await timeUntil(() => a.inFlight >= 6, 10_000, 'calls in flight on a')

    const inFlight = a.inFlight
    const okBefore = load.ok
    const stoppedAt = load.now()
    const result = await shutdownServer(a.server, { timeoutMs: 5000 })
    a.kill() // the helper's own bookkeeping: the server is already down
    await sleep(700)
    const failedWhileDown = load.failures.length
    const restartedAt = load.now()
    await echoServer({ id: 'a', port: a.port })
    const { firstReplyMs: recoverMs, allReadyAt } = await recovered(
      load,
      pool,
      'a',
      restartedAt,
      'a reply after the restart',
    )
    await sleep(500)
    await load.stop()
    watch.dispose()

    const failed = load.failures
    t.diagnostic(
      `only backend, GOAWAY: ${inFlight} calls in flight all answered (drain ${Math.round(result.durationMs)} ms); ` +
        `${failedWhileDown} calls failed in the ${restartedAt - stoppedAt} ms it was down ` +
        `(${JSON.stringify(failureCounts(failed))}); first reply ${recoverMs} ms and every channel READY ` +
        `${allReadyAt - restartedAt} ms after the restart`,
    )
    assert.equal(result.graceful, true)
    assert.ok(load.ok >= okBefore + inFlight, 'the calls in flight at GOAWAY were answered')
    assert.equal(load.pending, 0, 'every call ended')
    assert.equal(load.ok + failed.length, load.started)
    assert.ok(failedWhileDown > 0, 'calls made while nothing serves fail (they do not wait forever)')
    assert.ok(
      failed.every((f) => f.typed && f.code === grpc.status.UNAVAILABLE),
      JSON.stringify(failureCounts(failed)),
    )
    assert.ok(
      failed.every((f) => f.at >= stoppedAt),
      'nothing failed before the shutdown',
    )
    assert.deepEqual(load.failuresAfter(allReadyAt + 100), [])
    assert.equal(pool.connectivity().state, 'READY')
    assert.deepEqual(watch.errors, [])
  })

  it('cuts the calls still running at the shutdown deadline with a typed status, and strands none', async (t) => {
    const watch = watchProcessErrors()
    const [a, b] = await Promise.all([echoServer({ id: 'a' }), echoServer({ id: 'b' })])
    const servers: EchoServer[] = [a, b]
    const pool = track(
      createChannelPool(
        servers.map((s) => s.address),
        { size: 1, ...FAST_RECONNECT },
      ),
    )
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    // Slow calls: the deadline of 200 ms comes before they can finish.
    const load = new TrackedLoad(client, { workers: 8, request: { delayMs: 1000 } })
    await timeUntil(() => b.inFlight >= 2, 10_000, 'slow calls in flight on b')
    const inFlightOnB = b.inFlight
    const result = await shutdownServer(b.server, { timeoutMs: 200 })
    b.kill()
    await sleep(2500)
    await load.stop()
    watch.dispose()

    const failed = load.failures
    t.diagnostic(
      `shutdown deadline 200 ms with ${inFlightOnB} 1 s calls in flight: forced after ${Math.round(result.durationMs)} ms; ` +
        `${failed.length} failed (${JSON.stringify(failureCounts(failed))}) of ${load.started}`,
    )
    assert.equal(result.graceful, false)
    assert.equal(load.pending, 0, 'every call ended')
    assert.ok(
      // Bound: the calls b had started and never answered (those running when it was forced down).
      failed.length >= 1 && failed.length <= b.calls - load.count('b'),
      `${failed.length} failed; b started ${b.calls} calls and answered ${load.count('b')}`,
    )
    assert.ok(
      failed.every((f) => f.typed),
      JSON.stringify(failed),
    )
    assert.ok(load.count('a') > 0, 'a kept serving')
    assert.equal(pool.connectivity().state, 'READY')
    assert.deepEqual(watch.errors, [])
  })
})
