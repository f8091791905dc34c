import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { InvalidOptionError, LeaseReleasedError, PoolClosedError } from '../../src/core/errors.js'
import { ChannelRegistry, RegistryClosedError } from '../../src/grpc/channel-registry.js'
import {
  callsAtServer,
  echo,
  echoClientConstructor,
  startEchoServer,
  withEchoServer,
} from '../support/grpc.js'
import { until } from '../support/until.js'

const Echo = echoClientConstructor()

test('acquiring the same target twice hands out the same pool; other options get another', async () => {
  await withEchoServer(async (server) => {
    await using registry = new ChannelRegistry()
    const a = registry.acquire(server.address)
    const b = registry.acquire(server.address, { credentials: grpc.credentials.createInsecure() })
    const c = registry.acquire(server.address, { size: 2 })
    const d = registry.acquire([server.address])
    assert.equal(a.pool, b.pool, 'equal credentials share a pool')
    assert.equal(a.pool, d.pool, 'a one-address list is the same target')
    assert.notEqual(a.pool, c.pool)
    assert.equal(registry.get(server.address), a.pool)
    const reply = await echo(a.client(Echo), { message: 'hi' })
    assert.equal(reply.message, 'hi')
    const s = registry.stats()
    assert.equal(s.created, 2)
    assert.deepEqual(
      s.entries.map((e) => [e.refs, e.pinned, e.state]),
      [
        [3, true, 'active'],
        [1, false, 'active'],
      ],
    )
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.entries[0]))
  })
})

test('fifty concurrent acquires make one pool and the server sees one connection', async () => {
  await withEchoServer(async (server) => {
    await using registry = new ChannelRegistry()
    const handles = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await sleep(i % 7)
        await Promise.resolve()
        return registry.acquire(server.address)
      }),
    )
    const pools = new Set(handles.map((h) => h.pool))
    assert.equal(pools.size, 1)
    assert.equal(registry.stats().created, 1)
    assert.equal(registry.stats().entries[0]!.refs, 50)
    await handles[0]!.pool.waitForReady({ timeoutMs: 5000 })
    const replies = await Promise.all(handles.map((h, i) => echo(h.client(Echo), { message: `${i}` })))
    assert.equal(replies.length, 50)
    assert.equal(server.calls, 50)
    assert.equal(server.peers.size, 1, `one connection carried every call (${[...server.peers]})`)
  })
})

test('releasing every handle makes the pool idle, and it closes after idleCloseMs', async () => {
  await withEchoServer(async (server) => {
    await using registry = new ChannelRegistry({ idleCloseMs: 50 })
    const a = registry.acquire(server.address)
    const b = registry.acquire(server.address)
    const client = a.client(Echo)
    await echo(client)
    a.release()
    assert.equal(registry.stats().entries[0]!.state, 'active', 'one handle still holds it')
    b.release()
    const idle = registry.stats().entries[0]!
    assert.equal(idle.state, 'idle')
    assert.equal(idle.refs, 0)
    assert.equal(typeof idle.idleSince, 'number')
    await until(() => registry.stats().entries.length === 0, 3000, 'the idle pool to close')
    assert.equal(registry.stats().idleClosed, 1)
    assert.equal(a.pool.stats().state, 'closed')
    await assert.rejects(echo(client), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.UNAVAILABLE)
      assert.ok(err.cause instanceof PoolClosedError)
      return true
    })
  })
})

test('acquiring an idle pool again before idleCloseMs keeps it open', async () => {
  await withEchoServer(async (server) => {
    await using registry = new ChannelRegistry({ idleCloseMs: 100 })
    const first = registry.acquire(server.address)
    first.release()
    await sleep(40)
    const second = registry.acquire(server.address)
    assert.equal(second.pool, first.pool)
    assert.equal(registry.stats().entries[0]!.state, 'active')
    await sleep(200)
    assert.equal(second.pool.stats().state, 'open')
    assert.equal(registry.stats().idleClosed, 0)
    assert.equal((await echo(second.client(Echo), { message: 'still here' })).message, 'still here')
  })
})

test('acquiring a pool while its idle close is in flight gives a fresh working pool', async () => {
  await withEchoServer(async (server) => {
    await using registry = new ChannelRegistry({ idleCloseMs: 10 })
    const old = registry.acquire(server.address)
    const slow = echo(old.client(Echo), { message: 'slow', delayMs: 400 })
    await until(() => server.inFlight === 1, 3000, 'the slow call to start')
    old.release()
    await until(() => registry.stats().closing === 1, 3000, 'the idle close to start')
    assert.equal(old.pool.stats().state, 'closing', 'the close waits for the slow call')
    const fresh = registry.acquire(server.address)
    assert.notEqual(fresh.pool, old.pool)
    assert.equal(registry.stats().created, 2)
    assert.deepEqual(
      registry.stats().entries.map((e) => e.state),
      ['active', 'closing'],
    )
    assert.equal((await echo(fresh.client(Echo), { message: 'new' })).message, 'new')
    assert.equal((await slow).message, 'slow', 'the call in flight on the closing pool finished')
    await until(() => registry.stats().closing === 0, 3000, 'the old pool to finish closing')
    assert.equal(old.pool.stats().state, 'closed')
    assert.equal(fresh.pool.stats().state, 'open')
  })
})

test('a pool closed by hand is replaced on the next acquire', async () => {
  await withEchoServer(async (server) => {
    await using registry = new ChannelRegistry()
    const a = registry.acquire(server.address)
    await a.pool.close()
    const b = registry.acquire(server.address)
    assert.notEqual(b.pool, a.pool)
    assert.equal((await echo(b.client(Echo))).serverId, server.id)
    a.release()
  })
})

test('close() closes every pool, held ones included, and acquire fails at once after it', async () => {
  const one = await startEchoServer()
  const two = await startEchoServer()
  const registry = new ChannelRegistry()
  try {
    const a = registry.acquire(one.address)
    const b = registry.acquire(two.address)
    const pinned = registry.get(two.address, { size: 1 })
    b.release()
    const call = echo(a.client(Echo), { delayMs: 150 })
    await until(() => one.inFlight === 1, 3000, 'the call to start')
    const closing = registry.close({ timeoutMs: 5000 })
    assert.equal(registry.close(), closing, 'idempotent')
    assert.equal(registry.stats().state, 'closing')
    assert.throws(() => registry.acquire(one.address), RegistryClosedError)
    await closing
    assert.ok((await call).serverId, 'the call in flight finished')
    for (const pool of [a.pool, b.pool, pinned]) assert.equal(pool.stats().state, 'closed')
    assert.equal(registry.stats().state, 'closed')
    assert.equal(registry.stats().entries.length, 0)
    await registry.destroy()
  } finally {
    one.kill()
    two.kill()
  }
})

test('close({ timeoutMs }) destroys the pools whose calls outlast the deadline', async () => {
  await withEchoServer(async (server) => {
    const registry = new ChannelRegistry()
    const a = registry.acquire(server.address)
    const [call] = await callsAtServer(a.client(Echo), server, 1, 5000)
    const started = Date.now()
    await registry.close({ timeoutMs: 100 })
    assert.ok(Date.now() - started < 2000, `closed in ${Date.now() - started} ms`)
    await assert.rejects(call!, (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE)
    assert.equal(a.pool.state, 'closed')
    assert.equal(registry.state, 'closed')
    assert.equal(registry.stats().entries.length, 0)
  })
})

test('releasing a handle twice throws LeaseReleasedError and leaves the count alone', async () => {
  await withEchoServer(async (server) => {
    await using registry = new ChannelRegistry({ idleCloseMs: 60_000 })
    const a = registry.acquire(server.address)
    const b = registry.acquire(server.address)
    a.release()
    assert.throws(
      () => a.release(),
      (err: unknown) => err instanceof LeaseReleasedError && err.code === 'BERTH_LEASE_RELEASED',
    )
    assert.throws(() => a.client(Echo), LeaseReleasedError)
    assert.equal(registry.stats().entries[0]!.refs, 1)
    assert.equal(registry.stats().entries[0]!.state, 'active')
    b[Symbol.dispose]()
    assert.equal(registry.stats().entries[0]!.state, 'idle')
  })
})

test('bad options are refused with InvalidOptionError', () => {
  assert.throws(() => new ChannelRegistry({ idleCloseMs: -1 }), InvalidOptionError)
  assert.throws(() => new ChannelRegistry({ create: 1 as never }), InvalidOptionError)
  const registry = new ChannelRegistry()
  assert.throws(() => registry.acquire('127.0.0.1:1', { size: 0 }), InvalidOptionError)
  assert.equal(registry.stats().entries.length, 0)
})
