/**
 * Issue 6, scenario 10: a server that accepts TCP but never completes the handshake (a raw TCP
 * listener that reads and never writes: no HTTP/2 SETTINGS, no TLS ServerHello). grpc-js alone
 * would keep such a connection CONNECTING forever; berth's `connectTimeoutMs` cuts each attempt
 * and grpc-js retries on its reconnect backoff. Measured: connect attempts cut, how calls end,
 * time from the real server's arrival to the first reply.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { createChannelPool, tlsCredentials } from '../../src/grpc/index.js'
import { echoClientConstructor } from '../support/grpc.js'
import { testPki } from '../support/tls.js'
import {
  FAST_RECONNECT,
  TrackedLoad,
  echoServer,
  failureCounts,
  recovered,
  startStallServer,
  timeUntil,
  track,
  watchProcessErrors,
} from './grpc-support.js'

const CONNECT_TIMEOUT_MS = 300

describe('reliability: a gRPC server that accepts TCP but never completes the handshake', () => {
  it('ends every call with a typed UNAVAILABLE, cuts each attempt, and recovers when a real server takes the port', async (t) => {
    const watch = watchProcessErrors()
    const stall = await startStallServer()
    const pool = track(
      createChannelPool(stall.address, { size: 2, connectTimeoutMs: CONNECT_TIMEOUT_MS, ...FAST_RECONNECT }),
    )
    const started = Date.now()
    await assert.rejects(pool.waitForReady({ timeoutMs: 500 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'BERTH_NOT_READY')
      return true
    })
    assert.ok(Date.now() - started < 3000, 'waitForReady ends on its timeout')
    const client = pool.client(echoClientConstructor())
    const load = new TrackedLoad(client, { workers: 4, pauseAfterFailureMs: 20 })
    await timeUntil(() => load.failures.length >= 8, 15_000, 'calls to fail')
    await timeUntil(() => pool.stats().connectTimeouts >= 4, 15_000, 'attempts cut by connectTimeoutMs')
    const cut = pool.stats().connectTimeouts
    const accepted = stall.accepted()
    assert.ok(load.pending <= 4, 'no more calls pending than callers')
    assert.equal(load.ok, 0)
    assert.notEqual(pool.connectivity().state, 'READY')

    // The real server arrives on the same port.
    const port = stall.port
    await stall.close()
    const arrivedAt = load.now()
    await echoServer({ id: 'real', port })
    const { firstReplyMs: recoverMs, allReadyAt } = await recovered(
      load,
      pool,
      'real',
      arrivedAt,
      'a reply from the real server',
    )
    await sleep(300)
    await load.stop()
    watch.dispose()

    const failed = load.failures
    t.diagnostic(
      `stalled handshake, only backend: ${cut} attempts cut at ${CONNECT_TIMEOUT_MS} ms (${accepted} TCP connections accepted) ` +
        `in ${arrivedAt} ms; ${failed.length} calls failed (${JSON.stringify(failureCounts(failed))}), none hung; ` +
        `first reply ${recoverMs} ms after a real server took the port`,
    )
    assert.equal(load.pending, 0, 'every call ended')
    assert.equal(load.ok + failed.length, load.started)
    assert.ok(
      failed.every((f) => f.typed && f.code === grpc.status.UNAVAILABLE),
      JSON.stringify(failureCounts(failed)),
    )
    assert.deepEqual(load.failuresAfter(allReadyAt + 100), [])
    assert.equal(pool.connectivity().state, 'READY')
    assert.deepEqual(watch.errors, [])
  })

  it('serves every call from the healthy backend while the other stalls every handshake', async (t) => {
    const watch = watchProcessErrors()
    const [good, stall] = await Promise.all([echoServer({ id: 'good' }), startStallServer()])
    const pool = track(
      createChannelPool([good.address, stall.address], {
        size: 2,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        ...FAST_RECONNECT,
      }),
    )
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const load = new TrackedLoad(client, { workers: 8, request: { delayMs: 2 } })
    await sleep(2000)
    await load.stop()
    watch.dispose()

    const stats = pool.stats()
    t.diagnostic(
      `1 healthy + 1 stalling backend for 2 s: ${load.ok} ok, ${load.failures.length} failed; ` +
        `${stats.connectTimeouts} attempts to the stalling one cut; pool ${pool.connectivity().state}`,
    )
    assert.equal(load.pending, 0)
    assert.deepEqual(load.failures, [], 'round_robin only uses the backend that connected')
    assert.ok(load.ok > 50)
    assert.ok(stats.connectTimeouts >= 2, 'the stalled attempts were cut and retried')
    assert.equal(pool.connectivity().state, 'READY')
    assert.deepEqual(watch.errors, [])
  })

  it('cuts a TLS handshake that never gets a ServerHello, and fails waitForReady and calls on time', async (t) => {
    const watch = watchProcessErrors()
    const pki = await testPki()
    const stall = await startStallServer()
    const pool = track(
      createChannelPool(`localhost:${stall.port}`, {
        size: 1,
        credentials: tlsCredentials({ ca: pki.ca.cert }),
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        ...FAST_RECONNECT,
      }),
    )
    await assert.rejects(pool.waitForReady({ timeoutMs: 400 }), { code: 'BERTH_NOT_READY' })
    const client = pool.client(echoClientConstructor())
    const started = Date.now()
    const load = new TrackedLoad(client, { workers: 2, maxCalls: 6 })
    await timeUntil(() => load.started === 6 && load.pending === 0, 15_000, 'six calls to end')
    const elapsed = Date.now() - started
    await load.stop()
    await timeUntil(() => pool.stats().connectTimeouts >= 2, 10_000, 'TLS attempts cut')
    watch.dispose()

    t.diagnostic(
      `stalled TLS handshake: ${load.failures.length} of ${load.started} calls failed ` +
        `(${JSON.stringify(failureCounts(load.failures))}) in ${elapsed} ms; ${pool.stats().connectTimeouts} attempts cut`,
    )
    assert.equal(load.pending, 0)
    assert.equal(load.started, 6)
    assert.equal(load.failures.length, load.started)
    assert.ok(load.failures.every((f) => f.typed && f.code === grpc.status.UNAVAILABLE))
    assert.deepEqual(watch.errors, [])
  })
})
