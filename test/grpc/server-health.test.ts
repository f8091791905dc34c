import assert from 'node:assert/strict'
import { type Server as NetServer, createServer } from 'node:net'
import { after, before, describe, test } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import { InvalidOptionError } from '../../src/core/errors.js'
import {
  type HealthCheckResponse,
  type HealthClient,
  type HealthService,
  checkHealth,
  createHealthService,
  healthClientConstructor,
} from '../../src/grpc/server-health.js'
import { type EchoServer, startEchoServer } from '../support/grpc.js'

function healthClient(address: string): HealthClient {
  const Client = healthClientConstructor()
  return new Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 })
}

/** Reads a Watch stream one update at a time. */
function watcher(client: HealthClient, service: string) {
  const stream = client.watch({ service })
  const updates = stream[Symbol.asyncIterator]() as AsyncIterator<HealthCheckResponse>
  return {
    stream,
    async next(): Promise<string> {
      const { value, done } = await updates.next()
      assert.equal(done, false, 'the Watch stream ended')
      return value.status
    },
    /** Resolves with how the stream ended: 'ok' or the status code of its error. */
    async end(): Promise<'ok' | number> {
      try {
        const { done } = await updates.next()
        assert.equal(done, true, 'expected the stream to end, got an update')
        return 'ok'
      } catch (err) {
        return (err as grpc.ServiceError).code
      }
    },
    cancel() {
      stream.on('error', () => {})
      stream.cancel()
    },
  }
}

describe('health service over a real server', () => {
  let health: HealthService
  let server: EchoServer
  let client: HealthClient

  before(async () => {
    health = createHealthService({
      '': 'SERVING',
      'berth.test.Echo': 'SERVING',
      'berth.test.Batch': 'NOT_SERVING',
    })
    server = await startEchoServer({ setup: (s) => health.addTo(s) })
    client = healthClient(server.address)
  })

  after(async () => {
    client.close()
    await server.stop(1000)
  })

  test('Check reports the status of each registered service', async () => {
    assert.equal(await checkHealth(client, ''), 'SERVING')
    assert.equal(await checkHealth(client, 'berth.test.Echo'), 'SERVING')
    assert.equal(await checkHealth(client, 'berth.test.Batch'), 'NOT_SERVING')
  })

  test('Check of a service nobody registered fails with NOT_FOUND', async () => {
    await assert.rejects(checkHealth(client, 'no.such.Service'), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.NOT_FOUND)
      return true
    })
  })

  test('a watching client hears every status change as it happens', async () => {
    const w = watcher(client, 'berth.test.Echo')
    try {
      assert.equal(await w.next(), 'SERVING')
      health.setStatus('berth.test.Echo', 'NOT_SERVING')
      assert.equal(await w.next(), 'NOT_SERVING')
      health.setStatus('berth.test.Echo', 'SERVING')
      assert.equal(await w.next(), 'SERVING')
      assert.equal(await checkHealth(client, 'berth.test.Echo'), 'SERVING')
    } finally {
      w.cancel()
    }
  })

  test('a Watch of an unregistered service reports SERVICE_UNKNOWN, then the status once it is set', async () => {
    const w = watcher(client, 'berth.test.Late')
    try {
      assert.equal(await w.next(), 'SERVICE_UNKNOWN')
      health.setStatus('berth.test.Late', 'SERVING')
      assert.equal(await w.next(), 'SERVING')
      assert.equal(health.status('berth.test.Late'), 'SERVING')
    } finally {
      w.cancel()
    }
  })

  test('setAll changes every registered service and statuses() is a snapshot', async () => {
    health.setAll('NOT_SERVING')
    const snapshot = health.statuses()
    assert.equal(await checkHealth(client, ''), 'NOT_SERVING')
    assert.equal(await checkHealth(client, 'berth.test.Echo'), 'NOT_SERVING')
    health.setAll('SERVING')
    assert.equal(await checkHealth(client, 'berth.test.Batch'), 'SERVING')
    assert.equal(snapshot['berth.test.Echo'], 'NOT_SERVING')
    assert.ok(Object.isFrozen(snapshot))
  })
})

describe('health service shutdown', () => {
  test('shutdown tells watchers NOT_SERVING, ends their streams with OK, and ignores later changes', async () => {
    const health = createHealthService()
    const server = await startEchoServer({ setup: (s) => health.addTo(s) })
    const client = healthClient(server.address)
    try {
      const w = watcher(client, '')
      assert.equal(await w.next(), 'SERVING')
      health.shutdown()
      health.shutdown()
      assert.equal(await w.next(), 'NOT_SERVING')
      assert.equal(await w.end(), 'ok')
      assert.equal(health.isShutdown, true)

      health.setStatus('', 'SERVING')
      health.setAll('SERVING')
      assert.equal(await checkHealth(client, ''), 'NOT_SERVING')

      const late = watcher(client, '')
      assert.equal(await late.next(), 'NOT_SERVING')
      assert.equal(await late.end(), 'ok')
    } finally {
      client.close()
      await server.stop(1000)
    }
  })
})

describe('checkHealth cancellation', () => {
  // A TCP server that accepts and never speaks HTTP/2: the call waits until cancelled.
  let silent: NetServer
  let address: string
  const sockets = new Set<import('node:net').Socket>()

  before(async () => {
    silent = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as import('node:net').AddressInfo).port
    address = `127.0.0.1:${port}`
  })

  after(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => silent.close(resolve))
  })

  test('an aborted signal rejects with its reason', async () => {
    const client = healthClient(address)
    try {
      const controller = new AbortController()
      const reason = new Error('gave up')
      const pending = checkHealth(client, '', { signal: controller.signal })
      setTimeout(() => controller.abort(reason), 50).unref()
      await assert.rejects(pending, (err) => err === reason)
      await assert.rejects(checkHealth(client, '', { signal: controller.signal }), (err) => err === reason)
    } finally {
      client.close()
    }
  })

  test('the deadline ends a call that gets no answer with DEADLINE_EXCEEDED', async () => {
    const client = healthClient(address)
    try {
      const started = performance.now()
      await assert.rejects(
        checkHealth(client, '', { deadline: Date.now() + 150 }),
        (err: grpc.ServiceError) => {
          assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED)
          return true
        },
      )
      assert.ok(performance.now() - started < 2000)
    } finally {
      client.close()
    }
  })
})

describe('health service validation', () => {
  test('a status outside SERVING, NOT_SERVING and UNKNOWN is refused with InvalidOptionError naming the field', () => {
    assert.throws(
      () => createHealthService({ a: 'UP' as never }),
      (err: InvalidOptionError) => err instanceof InvalidOptionError && err.option === 'initial["a"]',
    )
    const health = createHealthService()
    assert.throws(
      () => health.setStatus('x', 'SERVICE_UNKNOWN' as never),
      (err: InvalidOptionError) => err instanceof InvalidOptionError && err.option === 'status',
    )
    assert.throws(
      () => health.setStatus(7 as never, 'SERVING'),
      (err: InvalidOptionError) => err.code === 'BERTH_INVALID_OPTION' && err.option === 'service',
    )
    assert.throws(() => health.setAll('up' as never), InvalidOptionError)
    assert.throws(() => createHealthService(null as never), InvalidOptionError)
  })

  test('the default health service reports the whole server as SERVING', () => {
    assert.deepEqual(createHealthService().statuses(), { '': 'SERVING' })
  })
})
