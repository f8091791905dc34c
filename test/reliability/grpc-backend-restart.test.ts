/**
 * Issue 6, scenario 7: a backend killed (forceShutdown: every connection reset, calls in flight
 * cancelled) and restarted on the same port, under load. What is measured: failed calls and their
 * codes, time to detect (the pool leaves READY / the last failure after the kill), time to recover
 * (restart to first reply and to every channel READY). The retry policy is berth's default: 3
 * attempts on UNAVAILABLE; CANCELLED (a call the server had started) is not retryable.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { createChannelPool } from '../../src/grpc/index.js'
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

describe('reliability: a gRPC backend killed and restarted under load', () => {
  it('fails only the calls running on the killed backend, leaves none pending, and sends it traffic again after a restart', async (t) => {
    const watch = watchProcessErrors()
    const backends = await Promise.all(['a', 'b', 'c'].map((id) => echoServer({ id })))
    const b = backends[1]!
    const pool = track(
      createChannelPool(
        backends.map((s) => s.address),
        { size: 2, ...FAST_RECONNECT },
      ),
    )
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const load = new TrackedLoad(client, { workers: 8, request: { delayMs: 5 } })
    await timeUntil(() => load.count('b') > 30, 10_000, 'traffic on b')

    const inFlightOnB = b.inFlight
    const killedAt = load.now()
    b.kill()
    await sleep(1000)
    const bAfterKill = load.count('b')
    await sleep(500)
    assert.equal(load.count('b'), bAfterKill, 'no reply from b while it is down')
    const okBeforeRestart = load.ok

    const restartedAt = load.now()
    await echoServer({ id: 'b', port: b.port })
    const recoverMs = await timeUntil(
      () => load.firstReplyAfter('b', restartedAt) !== undefined,
      15_000,
      'traffic back on b',
    )
    await timeUntil(() => load.count('b') > bAfterKill + 30, 15_000, 'steady traffic on b')
    await load.stop()
    watch.dispose()

    const failed = load.failures
    const lastFailure = failed.length === 0 ? killedAt : failed[failed.length - 1]!.at
    t.diagnostic(
      `3 backends, 1 killed: ${failed.length} failed of ${load.started} (${JSON.stringify(failureCounts(failed))}), ` +
        `${inFlightOnB} in flight on b at the kill; failures ended ${lastFailure - killedAt} ms after the kill; ` +
        `first reply from b ${recoverMs} ms after its restart`,
    )
    assert.equal(load.pending, 0, 'every call ended')
    assert.equal(load.ok + failed.length, load.started)
    assert.ok(okBeforeRestart > 0 && load.ok > okBeforeRestart, 'a and c kept serving')
    assert.ok(
      failed.every((f) => f.typed && f.code === grpc.status.CANCELLED),
      `only calls the server cancelled fail: ${JSON.stringify(failed)}`,
    )
    // At most the calls b had started: the server cancels them, the policy may not retry them.
    assert.ok(failed.length <= Math.max(inFlightOnB, 8), `${failed.length} failed`)
    assert.deepEqual(load.failuresAfter(restartedAt), [], 'nothing fails after the restart')
    assert.equal(pool.connectivity().state, 'READY')
    assert.deepEqual(watch.errors, [])
  })

  it('ends every call while the only backend is down, with a typed UNAVAILABLE, and is READY again after a restart', async (t) => {
    const watch = watchProcessErrors()
    const a = await echoServer({ id: 'a' })
    const pool = track(createChannelPool(a.address, { size: 2, ...FAST_RECONNECT }))
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const load = new TrackedLoad(client, { workers: 8, request: { delayMs: 5 }, pauseAfterFailureMs: 20 })
    await timeUntil(() => load.ok > 100, 10_000, 'load on a')

    const inFlight = a.inFlight
    const killedAt = load.now()
    const startedBeforeKill = load.started
    a.kill()
    const detectMs = await timeUntil(
      () => pool.connectivity().state !== 'READY',
      10_000,
      'the pool to leave READY',
    )
    // The outage: calls keep being made and must keep ending.
    await sleep(1500)
    const startedInOutage = load.started - startedBeforeKill
    const failedInOutage = load.failures.length
    const pendingInOutage = load.pending
    assert.ok(failedInOutage > 8, `calls fail while nothing serves (${failedInOutage})`)
    assert.ok(pendingInOutage <= 8, 'no more calls pending than callers')

    const restartedAt = load.now()
    await echoServer({ id: 'a', port: a.port })
    const { firstReplyMs, allReadyAt } = await recovered(
      load,
      pool,
      'a',
      restartedAt,
      'a first reply after the restart',
    )
    const allReadyMs = allReadyAt - restartedAt
    await sleep(500)
    await load.stop()
    watch.dispose()

    const failed = load.failures
    const stats = pool.stats()
    t.diagnostic(
      `only backend killed: left READY ${detectMs} ms after the kill (${inFlight} calls in flight); ` +
        `${failed.length} failed of ${load.started} started (${JSON.stringify(failureCounts(failed))}); ` +
        `${failedInOutage} failed / ${startedInOutage} started in the first 1.5 s of the outage; ` +
        `first reply ${firstReplyMs} ms and every channel READY ${allReadyMs} ms after the restart; ` +
        `reconnects ${stats.reconnects}, transient failures ${stats.transientFailures}`,
    )
    assert.equal(load.pending, 0, 'every call ended')
    assert.equal(load.ok + failed.length, load.started)
    assert.ok(
      failed.every(
        (f) => f.typed && (f.code === grpc.status.UNAVAILABLE || f.code === grpc.status.CANCELLED),
      ),
      `failures are UNAVAILABLE (no backend) or CANCELLED (cut by the kill): ${JSON.stringify(failureCounts(failed))}`,
    )
    assert.ok(
      failed.filter((f) => f.code === grpc.status.CANCELLED).length <= Math.max(inFlight, 8),
      'CANCELLED only for calls the kill cut',
    )
    assert.ok(
      failed.every((f) => f.at >= killedAt),
      'nothing failed before the kill',
    )
    assert.deepEqual(load.failuresAfter(allReadyAt + 100), [], 'nothing fails once every channel is READY')
    assert.ok(stats.reconnects >= 2, `each channel reconnected (${stats.reconnects})`)
    assert.equal(pool.connectivity().state, 'READY')
    assert.deepEqual(watch.errors, [])
  })
})
