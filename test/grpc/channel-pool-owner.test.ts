/**
 * ChannelPool as a ManagedOwner: `probe()` is the readiness wait a ConnectionManager's start runs,
 * `health()` the summary its readiness endpoint reads.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PoolClosedError } from '../../src/core/errors.js'
import type { ManagedOwner } from '../../src/core/owner.js'
import { createChannelPool } from '../../src/grpc/channel-pool.js'
import { NotReadyError } from '../../src/grpc/errors.js'
import { callsAtServer, echo, echoClientConstructor, echoServers } from '../support/grpc.js'

const server = echoServers()

describe('channel pool as a managed owner', () => {
  it('probe() resolves once a channel is READY, and health() then reports the pool ready', async () => {
    const s = await server()
    const pool: ManagedOwner = createChannelPool(s.address, { size: 2 })
    await pool.probe({ signal: AbortSignal.timeout(5000) })
    const h = pool.health()
    assert.equal(h.kind, 'grpc')
    assert.equal(h.ready, true)
    assert.equal(h.inUse, 0)
    assert.equal(h.detail.connectivity, 'READY')
    assert.equal(h.detail.channels, 2)
    assert.equal(h.detail.resolutionError, undefined)
    assert.ok(Object.isFrozen(h) && Object.isFrozen(h.detail))
    await pool.close()
  })

  it('counts the calls in flight as in use', async () => {
    const s = await server()
    const pool = createChannelPool(s.address, { size: 2 })
    const client = pool.client(echoClientConstructor())
    await pool.probe({ signal: AbortSignal.timeout(5000) })
    const calls = await callsAtServer(client, s, 3, 300)
    const h = pool.health()
    assert.equal(h.inUse, 3)
    assert.equal(h.detail.callsInFlight, 3)
    await Promise.all(calls)
    assert.equal(pool.health().inUse, 0)
    await pool.close()
  })

  it('probe() ends with NotReadyError when its signal aborts before any backend answers', async () => {
    // Port 1 on loopback refuses every connection.
    const pool = createChannelPool('127.0.0.1:1', { size: 1 })
    await assert.rejects(pool.probe({ signal: AbortSignal.timeout(200) }), NotReadyError)
    const h = pool.health()
    assert.equal(h.ready, false)
    assert.notEqual(h.detail.connectivity, 'READY')
    await pool.destroy()
  })

  it('is not ready once closing, and probe() after close fails with PoolClosedError', async () => {
    const s = await server()
    const pool = createChannelPool(s.address, { size: 1 })
    await pool.probe({ signal: AbortSignal.timeout(5000) })
    const closing = pool.close({ timeoutMs: 5000 })
    assert.equal(pool.health().ready, false)
    await closing
    assert.equal(pool.health().ready, false)
    await assert.rejects(pool.probe(), PoolClosedError)
  })
})

describe('channel pool stats latencies', () => {
  it('callMs totals every method, acquireWaitMs every call that took a channel, both in the one latency shape', async () => {
    const s = await server()
    await using pool = createChannelPool(s.address, { size: 2 })
    const client = pool.client(echoClientConstructor())
    await pool.probe({ signal: AbortSignal.timeout(5000) })
    await Promise.all([echo(client), echo(client), echo(client, { message: 'slow', delayMs: 30 })])
    const stats = pool.stats()
    const perMethod = Object.values(stats.calls!.methods).reduce((n, m) => n + m.latency.count, 0)
    assert.equal(stats.callMs.count, 3)
    assert.equal(stats.callMs.count, perMethod)
    assert.ok(stats.callMs.max >= 30, `the slow call is the max (${stats.callMs.max} ms)`)
    assert.ok(stats.acquireWaitMs.count >= 3)
    assert.deepEqual(Object.keys(stats.callMs).sort(), Object.keys(stats.acquireWaitMs).sort())
  })

  it('callMs is the empty summary when metrics are off', async () => {
    const s = await server()
    await using pool = createChannelPool(s.address, { size: 1, metrics: false })
    await echo(pool.client(echoClientConstructor()))
    assert.equal(pool.stats().calls, undefined)
    assert.equal(pool.stats().callMs.count, 0)
  })
})
