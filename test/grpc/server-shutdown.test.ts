import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import { InvalidOptionError } from '../../src/core/errors.js'
import {
  type HealthCheckResponse,
  checkHealth,
  createHealthService,
  healthClientConstructor,
} from '../../src/grpc/server-health.js'
import { shutdownServer } from '../../src/grpc/server-shutdown.js'
import {
  type EchoClient,
  type EchoServer,
  echo,
  echoClientConstructor,
  startEchoServer,
} from '../support/grpc.js'
import { until } from '../support/until.js'

const LOCAL_POOL: grpc.ClientOptions = { 'grpc.use_local_subchannel_pool': 1 }

function echoClient(server: EchoServer): EchoClient {
  const Client = echoClientConstructor()
  return new Client(server.address, grpc.credentials.createInsecure(), LOCAL_POOL)
}

test('calls in flight finish during a graceful shutdown, which reports graceful: true', async () => {
  const server = await startEchoServer()
  const client = echoClient(server)
  try {
    const calls = [1, 2, 3].map((i) => echo(client, { message: `m${i}`, delayMs: 200 }))
    await until(() => server.inFlight === 3, 2000, 'three calls in flight')
    const result = await shutdownServer(server.server, { timeoutMs: 3000 })
    const replies = await Promise.all(calls)
    assert.deepEqual(
      replies.map((r) => r.message),
      ['m1', 'm2', 'm3'],
    )
    assert.equal(result.graceful, true)
    assert.ok(result.durationMs >= 100, `shutdown waited for the calls (${result.durationMs} ms)`)
    assert.ok(result.durationMs < 3000, `shutdown did not run into its deadline (${result.durationMs} ms)`)
    assert.ok(Object.isFrozen(result))
  } finally {
    client.close()
    server.kill()
  }
})

test('a call started after shutdown begins is refused at once', async () => {
  const server = await startEchoServer()
  const client = echoClient(server)
  try {
    await echo(client, { message: 'warm' })
    const slow = echo(client, { delayMs: 300 })
    await until(() => server.inFlight === 1, 2000, 'the slow call in flight')
    const shutdown = shutdownServer(server.server, { timeoutMs: 3000 })
    const started = performance.now()
    await assert.rejects(
      echo(client, { message: 'late' }, { deadline: Date.now() + 2000 }),
      (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE)
        return true
      },
    )
    assert.ok(performance.now() - started < 1000, 'refused without waiting for the deadline')
    assert.equal((await slow).serverId, server.id)
    assert.equal((await shutdown).graceful, true)
  } finally {
    client.close()
    server.kill()
  }
})

test('a stream that never ends is cut by forceShutdown after timeoutMs, which reports graceful: false', async () => {
  const server = await startEchoServer()
  const client = echoClient(server)
  try {
    const chat = client.chat()
    const failed = once(chat, 'error')
    chat.write({ message: 'hello' })
    const [first] = await once(chat, 'data')
    assert.equal(first.message, 'hello')

    const result = await shutdownServer(server.server, { timeoutMs: 300 })
    assert.equal(result.graceful, false)
    assert.ok(result.durationMs >= 290, `waited for the deadline (${result.durationMs} ms)`)
    assert.ok(result.durationMs < 2000, `then forced at once (${result.durationMs} ms)`)
    const [err] = (await failed) as [grpc.ServiceError]
    assert.notEqual(err.code, grpc.status.OK)
  } finally {
    client.close()
    server.kill()
  }
})

test('shutdownServer is idempotent: a second call joins the first and ignores its options', async () => {
  const server = await startEchoServer()
  const client = echoClient(server)
  try {
    const call = echo(client, { delayMs: 200 })
    await until(() => server.inFlight === 1, 2000, 'a call in flight')
    const first = shutdownServer(server.server, { timeoutMs: 3000 })
    const second = shutdownServer(server.server, { timeoutMs: 0 })
    assert.equal(second, first)
    const [a, b] = await Promise.all([first, second])
    assert.equal(a, b)
    assert.equal(a.graceful, true)
    await call
    assert.equal(await shutdownServer(server.server), a)
  } finally {
    client.close()
    server.kill()
  }
})

test('with the health service, watchers hear NOT_SERVING and their open Watch does not hold shutdown', async () => {
  const health = createHealthService({ '': 'SERVING', 'berth.test.Echo': 'SERVING' })
  const server = await startEchoServer({ setup: (s) => health.addTo(s) })
  const Health = healthClientConstructor()
  const client = new Health(server.address, grpc.credentials.createInsecure(), LOCAL_POOL)
  try {
    const watch = client.watch({ service: 'berth.test.Echo' })
    const seen: string[] = []
    watch.on('data', (r: HealthCheckResponse) => seen.push(r.status))
    const ended = once(watch, 'status')
    assert.equal(await checkHealth(client, 'berth.test.Echo'), 'SERVING')
    await until(() => seen.length === 1, 2000, 'the first Watch update')

    const result = await shutdownServer(server.server, { timeoutMs: 2000, health })
    assert.equal(result.graceful, true)
    assert.ok(result.durationMs < 2000)
    const [status] = (await ended) as [grpc.StatusObject]
    assert.equal(status.code, grpc.status.OK)
    assert.deepEqual(seen, ['SERVING', 'NOT_SERVING'])
    assert.equal(health.status(''), 'NOT_SERVING')
  } finally {
    client.close()
    server.kill()
  }
})

test('without the health service, an open Watch stream holds a graceful shutdown to its deadline', async () => {
  const health = createHealthService()
  const server = await startEchoServer({ setup: (s) => health.addTo(s) })
  const Health = healthClientConstructor()
  const client = new Health(server.address, grpc.credentials.createInsecure(), LOCAL_POOL)
  try {
    const watch = client.watch({ service: '' })
    watch.on('error', () => {})
    await once(watch, 'data')
    const result = await shutdownServer(server.server, { timeoutMs: 200 })
    assert.equal(result.graceful, false)
  } finally {
    client.close()
    server.kill()
  }
})

test('a server that never started shuts down gracefully at once', async () => {
  const server = new grpc.Server()
  const result = await shutdownServer(server, { timeoutMs: 1000 })
  assert.equal(result.graceful, true)
})

test('bad options are refused with InvalidOptionError naming the field', async () => {
  const server = new grpc.Server()
  for (const timeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, '10' as never]) {
    await assert.rejects(
      shutdownServer(server, { timeoutMs }),
      (err: InvalidOptionError) => err instanceof InvalidOptionError && err.option === 'timeoutMs',
    )
  }
  await assert.rejects(
    shutdownServer(server, { health: {} as never }),
    (err: InvalidOptionError) => err instanceof InvalidOptionError && err.option === 'health',
  )
  await assert.rejects(
    shutdownServer({} as never),
    (err: InvalidOptionError) => err instanceof InvalidOptionError && err.option === 'server',
  )
  // None of the refused calls counts as the shutdown.
  assert.equal((await shutdownServer(server, { timeoutMs: 100 })).graceful, true)
})
