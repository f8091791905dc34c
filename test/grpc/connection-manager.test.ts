import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type AddressInfo, type Socket, createServer } from 'node:net'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { CloseTimeoutError, InvalidOptionError, PoolClosedError } from '../../src/core/errors.js'
import { createChannelPool } from '../../src/grpc/channel-pool.js'
import { ManagerClosedError, ManagerNotReadyError } from '../../src/grpc/connection-manager-types.js'
import { ConnectionManager } from '../../src/grpc/connection-manager.js'
import { createPgPool } from '../../src/pg/index.js'
import { echo, echoClientConstructor, startEchoServer, until, withEchoServer } from '../support/grpc.js'
import { testPostgres } from '../support/postgres.js'

const Echo = echoClientConstructor()

test('start() waits for a gRPC pool and a Postgres pool, and health() follows the lifecycle', async () => {
  const { url } = await testPostgres()
  await withEchoServer(async (server) => {
    const manager = new ConnectionManager()
    try {
      const echoPool = manager.grpc('echo', server.address)
      const db = manager.postgres('db', createPgPool(url, { name: 'db' }))
      const before = manager.health()
      assert.equal(before.live, true)
      assert.equal(before.ready, false, 'not ready before start')
      assert.deepEqual(Object.keys(before.resources), ['echo', 'db'])

      await manager.start({ timeoutMs: 10_000 })
      assert.equal(echoPool.connectivity().ready, true)
      assert.ok(db.stats().totalConns >= 1, 'start opened a Postgres connection')
      const started = manager.health()
      assert.equal(started.ready, true)
      assert.equal(started.resources.echo!.kind, 'grpc')
      assert.equal(started.resources.echo!.state, 'ready')
      assert.equal(started.resources.echo!.detail?.connectivity, 'READY')
      assert.equal(started.resources.db!.kind, 'postgres')
      assert.equal(started.resources.db!.ready, true)
      assert.ok(Object.isFrozen(started) && Object.isFrozen(started.resources.db))

      const report = await manager.close({ timeoutMs: 5000 })
      assert.equal(report.clean, true)
      assert.equal(report.resources.echo!.outcome, 'closed')
      assert.equal(report.resources.db!.outcome, 'closed')
      const after = manager.health()
      assert.equal(after.live, false)
      assert.equal(after.ready, false)
      assert.equal(after.resources.echo!.state, 'closed')
      assert.equal(after.resources.db!.state, 'closed')
    } finally {
      await manager.destroy()
    }
  })
})

test('start() names the resources that were not ready in time', async () => {
  // Accepts TCP connections and never answers, so the channel stays CONNECTING.
  const sockets = new Set<Socket>()
  const blackhole = createServer((socket) => sockets.add(socket))
  await once(blackhole.listen(0, '127.0.0.1'), 'listening')
  const { port } = blackhole.address() as AddressInfo
  const manager = new ConnectionManager()
  try {
    // A fixed size skips the stream-limit probe, which would hold destroy() up for connectTimeoutMs.
    manager.grpc('silent', `127.0.0.1:${port}`, { size: 1 })
    manager.add('fine', { close: () => undefined, ready: () => Promise.resolve() })
    await assert.rejects(manager.start({ timeoutMs: 200 }), (err: unknown) => {
      assert.ok(err instanceof ManagerNotReadyError)
      assert.equal(err.code, 'BERTH_NOT_READY')
      assert.deepEqual(err.resources, ['silent'])
      return true
    })
    const health = manager.health()
    assert.equal(health.ready, false)
    assert.equal(health.live, true)
    assert.equal(health.resources.silent!.state, 'connecting')
    assert.equal(health.resources.fine!.ready, true)
  } finally {
    await manager.destroy()
    for (const s of sockets) s.destroy()
    blackhole.close()
  }
})

test('close under load lets 50 calls and a query in flight finish, then refuses new calls at once', async () => {
  const { url } = await testPostgres()
  await withEchoServer(async (server) => {
    const manager = new ConnectionManager()
    try {
      const pool = manager.grpc('echo', server.address)
      const db = manager.postgres('db', createPgPool(url))
      await manager.start({ timeoutMs: 10_000 })
      const client = pool.client(Echo)
      let finished = 0
      const calls = Array.from({ length: 50 }, (_, i) =>
        echo(client, { message: `${i}`, delayMs: 200 }).finally(() => finished++),
      )
      const query = db.queryRow<{ done: string }>("SELECT pg_sleep(0.2), 'yes' AS done")
      await until(() => server.inFlight === 50, 3000, '50 calls in flight')
      const closing = manager.close({ timeoutMs: 5000 })
      const inFlightAtClose = closing.then(() => server.inFlight)
      assert.equal(manager.health().ready, false, 'not ready while draining')
      assert.equal(manager.health().live, true, 'still live while draining')

      await assert.rejects(echo(client, { message: 'late' }), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE)
        assert.ok(err.cause instanceof PoolClosedError, `cause: ${String(err.cause)}`)
        return true
      })
      assert.equal(finished, 0, 'refused at once, while the 50 calls still ran')

      const replies = await Promise.all(calls)
      assert.deepEqual(
        replies.map((r) => r.message),
        Array.from({ length: 50 }, (_, i) => `${i}`),
      )
      assert.equal((await query)?.done, 'yes')
      const report = await closing
      assert.equal(report.clean, true)
      assert.equal(report.resources.echo!.outcome, 'closed')
      assert.equal(report.resources.db!.outcome, 'closed')
      assert.equal(await inFlightAtClose, 0, 'close waited for every call')
      assert.equal(server.calls, 50, 'the late call never reached the server')
      assert.throws(() => manager.grpc('more', server.address), ManagerClosedError)
      await assert.rejects(manager.start(), ManagerClosedError)
      assert.equal(manager.close(), closing, 'idempotent')
    } finally {
      await manager.destroy()
    }
  })
})

test('a close whose deadline passes destroys the pool under its call and reports it', async () => {
  await withEchoServer(async (server) => {
    const manager = new ConnectionManager()
    const events: string[] = []
    const quiet = new ConnectionManager({ logger: (e) => events.push(e.event) })
    try {
      const pool = manager.grpc('echo', server.address)
      quiet.add('other', { close: () => sleep(10) })
      await manager.start({ timeoutMs: 5000 })
      const call = echo(pool.client(Echo), { delayMs: 2000 })
      await until(() => server.inFlight === 1, 3000, 'the call to start')
      const started = performance.now()
      const report = await manager.close({ timeoutMs: 100 })
      const took = performance.now() - started
      assert.ok(took < 1500, `close did not wait for the 2 s call (${took} ms)`)
      assert.equal(report.clean, false)
      const echoReport = report.resources.echo!
      assert.equal(echoReport.outcome, 'destroyed')
      assert.equal(echoReport.inFlightWhenForced, 1)
      assert.ok(echoReport.reason instanceof CloseTimeoutError)
      await assert.rejects(call, (err: grpc.ServiceError) => err.code !== grpc.status.OK)
      assert.equal(pool.stats().poolState, 'closed')

      const otherReport = await quiet.close({ timeoutMs: 1000 })
      assert.equal(otherReport.resources.other!.outcome, 'closed')
      assert.deepEqual(events, ['close', 'closed'])
    } finally {
      await manager.destroy()
      await quiet.destroy()
    }
  })
})

test('a signal closes everything gracefully, and the returned function removes the listeners', async () => {
  const { url } = await testPostgres()
  await withEchoServer(async (server) => {
    const manager = new ConnectionManager()
    const termListeners = process.listenerCount('SIGTERM')
    const intListeners = process.listenerCount('SIGINT')
    try {
      const pool = manager.grpc('echo', server.address)
      const db = manager.postgres('db', createPgPool(url))
      await manager.start({ timeoutMs: 10_000 })
      const seen: string[] = []
      const remove = manager.handleSignals(['SIGTERM', 'SIGINT'], {
        exit: false,
        timeoutMs: 2000,
        onClosed: (report, signal) => {
          seen.push(`${signal} clean=${report.clean}`)
        },
      })
      assert.equal(manager.handleSignals(), remove, 'listeners are installed once')
      assert.equal(process.listenerCount('SIGTERM'), termListeners + 1)
      assert.equal(process.listenerCount('SIGINT'), intListeners + 1)

      const call = echo(pool.client(Echo), { delayMs: 100 })
      await until(() => server.inFlight === 1, 3000, 'the call to start')
      process.emit('SIGTERM')
      const report = await manager.close()
      assert.equal(report.clean, true)
      assert.ok((await call).serverId, 'the call in flight finished')
      assert.equal(pool.stats().poolState, 'closed')
      assert.equal(db.stats().pool.state, 'closed')
      assert.equal(manager.health().live, false)
      await until(() => seen.length === 1, 3000, 'onClosed')
      assert.deepEqual(seen, ['SIGTERM clean=true'])
      assert.equal(process.listenerCount('SIGTERM'), termListeners, 'removed after the close (exit: false)')
      remove()
      assert.equal(process.listenerCount('SIGTERM'), termListeners)
      assert.equal(process.listenerCount('SIGINT'), intListeners)
    } finally {
      await manager.destroy()
    }
  })
})

test('names are unique, and resources are checked when added', async () => {
  const server = await startEchoServer()
  const manager = new ConnectionManager()
  const pool = createChannelPool(server.address)
  try {
    manager.add('echo', pool)
    assert.equal(manager.health().resources.echo!.kind, 'grpc')
    assert.throws(
      () => manager.grpc('echo', server.address),
      (err: unknown) => err instanceof InvalidOptionError && err.option === 'name',
    )
    assert.throws(() => manager.add('x', {} as never), InvalidOptionError)
    assert.throws(() => manager.postgres('pg', { close() {} } as never), InvalidOptionError)
    assert.throws(() => manager.grpc('', server.address), InvalidOptionError)
  } finally {
    await manager.destroy()
    server.kill()
  }
})
