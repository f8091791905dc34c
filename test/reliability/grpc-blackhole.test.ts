/**
 * Issue 6, scenario 8: a blackholed backend (the fault proxy reads and drops every byte; the OS
 * still acknowledges TCP, so only keepalive pings and berth's connect timeout can notice). Calls
 * carry no deadline on purpose: if a call ends, it is because berth or grpc-js noticed the fault.
 * Measured: calls caught in the hole, when the last one was routed there (time to detect), when
 * they were released, failed calls, and time from heal to traffic (time to recover).
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
  proxyTo,
  recovered,
  timeUntil,
  track,
  watchProcessErrors,
} from './grpc-support.js'

const KEEPALIVE = { timeMs: 500, timeoutMs: 500, permitWithoutCalls: true }
const CONNECT_TIMEOUT_MS = 500

describe('reliability: a blackholed gRPC backend', () => {
  it('releases the calls caught in the hole, routes around it, leaves none pending, and uses it again after heal', async (t) => {
    const watch = watchProcessErrors()
    const [a, b] = await Promise.all([echoServer({ id: 'a' }), echoServer({ id: 'b' })])
    const [pa, pb] = await Promise.all([proxyTo(a), proxyTo(b)])
    const pool = track(
      createChannelPool([pa.address, pb.address], {
        size: 2,
        keepalive: KEEPALIVE,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        ...FAST_RECONNECT,
      }),
    )
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const load = new TrackedLoad(client, { workers: 6, request: { delayMs: 2 }, slowMs: 400 })
    await timeUntil(() => load.count('b') > 30, 10_000, 'traffic on b')

    const holeAt = load.now()
    pb.blackhole(true)
    // Steady state with b dark: every call started from now on ends fast, on a.
    await timeUntil(() => load.oldestPendingStart() > holeAt, 15_000, 'the calls caught in the hole to end')
    const routedAroundAt = load.now()
    await sleep(1000)
    const bMark = load.count('b')
    await sleep(500)
    assert.equal(load.count('b'), bMark, 'no reply from b while it is blackholed')

    const healedAt = load.now()
    pb.blackhole(false)
    const recoverMs = await timeUntil(
      () => load.firstReplyAfter('b', healedAt) !== undefined,
      15_000,
      'traffic back on b',
    )
    await sleep(300)
    await load.stop()
    watch.dispose()

    // Calls caught in the hole: slow ones started around or after it opened, before it was routed around.
    const caught = load.slow.filter((c) => c.start >= holeAt - 100 && c.start < routedAroundAt)
    const lastRoutedIn = Math.max(holeAt, ...caught.map((c) => c.start))
    const releasedAt = Math.max(routedAroundAt, ...caught.map((c) => c.end))
    const failed = load.failures
    t.diagnostic(
      `2 backends, 1 blackholed (keepalive ${KEEPALIVE.timeMs}+${KEEPALIVE.timeoutMs} ms): ${caught.length} calls caught, ` +
        `last routed into the hole ${lastRoutedIn - holeAt} ms after it opened, all released ${releasedAt - holeAt} ms after; ` +
        `${failed.length} failed of ${load.started} (${JSON.stringify(failureCounts(failed))}); ` +
        `first reply from b ${recoverMs} ms after heal`,
    )
    assert.equal(load.pending, 0, 'every call ended')
    assert.equal(load.ok + failed.length, load.started)
    assert.ok(caught.length > 0, 'the blackhole caught calls (else this test tests nothing)')
    // Keepalive declares the connection dead after time + timeout; the rest is scheduling slack.
    assert.ok(releasedAt - holeAt < KEEPALIVE.timeMs + KEEPALIVE.timeoutMs + 5000, 'released in bounded time')
    // A call caught in the hole got no response headers, so it is uncommitted: the retry policy
    // (3 attempts on UNAVAILABLE) moves it to a. At most the caught calls may fail.
    assert.ok(failed.length <= caught.length, `${failed.length} failed, ${caught.length} were caught`)
    assert.ok(
      failed.every((f) => f.typed && f.code === grpc.status.UNAVAILABLE),
      JSON.stringify(failed),
    )
    assert.deepEqual(load.failuresAfter(releasedAt + 1), [], 'nothing fails once the hole is routed around')
    assert.equal(pool.connectivity().state, 'READY')
    assert.deepEqual(watch.errors, [])
  })

  it('ends every call with a typed status while the only backend is blackholed, and recovers after heal', async (t) => {
    const watch = watchProcessErrors()
    const a = await echoServer({ id: 'a' })
    const pa = await proxyTo(a)
    const pool = track(
      createChannelPool(pa.address, {
        size: 2,
        keepalive: KEEPALIVE,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        ...FAST_RECONNECT,
      }),
    )
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const load = new TrackedLoad(client, { workers: 6, request: { delayMs: 2 }, pauseAfterFailureMs: 20 })
    await timeUntil(() => load.ok > 50, 10_000, 'load on a')

    const holeAt = load.now()
    const startedBefore = load.started
    pa.blackhole(true)
    const detectMs = await timeUntil(
      () => pool.connectivity().state !== 'READY',
      15_000,
      'the pool to leave READY',
    )
    await timeUntil(() => load.oldestPendingStart() > holeAt, 15_000, 'the calls caught in the hole to end')
    const releasedAt = load.now()
    // Reconnect attempts during the hole: TCP is accepted, nothing comes back; berth cuts each.
    await timeUntil(
      () => pool.stats().connectTimeouts >= 2,
      10_000,
      'connect attempts cut by connectTimeoutMs',
    )
    await sleep(500)
    const failedInHole = load.failures.length
    const startedInHole = load.started - startedBefore
    assert.ok(load.pending <= 6, 'no more calls pending than callers')

    const healedAt = load.now()
    await pa.heal()
    const { firstReplyMs: recoverMs, allReadyAt } = await recovered(
      load,
      pool,
      'a',
      healedAt,
      'a reply after heal',
    )
    await sleep(300)
    await load.stop()
    watch.dispose()

    const failed = load.failures
    const stats = pool.stats()
    t.diagnostic(
      `only backend blackholed: left READY ${detectMs} ms after, calls in the hole released ${releasedAt - holeAt} ms after; ` +
        `${failedInHole} failed of ${startedInHole} started before heal (${JSON.stringify(failureCounts(failed))}); ` +
        `${stats.connectTimeouts} connect attempts cut at ${CONNECT_TIMEOUT_MS} ms; ` +
        `first reply ${recoverMs} ms and every channel READY ${allReadyAt - healedAt} ms after heal`,
    )
    assert.equal(load.pending, 0, 'every call ended')
    assert.equal(load.ok + failed.length, load.started)
    assert.ok(failedInHole > 0, 'calls fail while nothing answers')
    assert.ok(
      failed.every(
        (f) => f.typed && (f.code === grpc.status.UNAVAILABLE || f.code === grpc.status.DEADLINE_EXCEEDED),
      ),
      JSON.stringify(failureCounts(failed)),
    )
    assert.deepEqual(load.failuresAfter(allReadyAt + 100), [], 'nothing fails once every channel is READY')
    assert.equal(pool.connectivity().state, 'READY')
    assert.deepEqual(watch.errors, [])
  })
})
