import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { PoolClosedError } from '../../src/core/errors.js'
import { createChannelPool } from '../../src/grpc/channel-pool.js'
import { InvalidTargetError } from '../../src/grpc/errors.js'
import {
  type EchoClient,
  type EchoServer,
  echo,
  echoClientConstructor,
  echoServiceDefinition,
  startEchoServer,
  until,
} from '../support/grpc.js'

const servers: EchoServer[] = []
async function server(options: Parameters<typeof startEchoServer>[0] = {}): Promise<EchoServer> {
  const s = await startEchoServer(options)
  servers.push(s)
  return s
}
after(async () => {
  await Promise.all(servers.map((s) => s.stop(1000)))
})

const quiet = { onWarning: () => {} }

describe('channel pool', () => {
  it('gives each of its channels a connection of its own (the server sees one peer per channel)', async () => {
    const s = await server()
    const pool = createChannelPool(s.address, { size: 4 })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    await until(
      () => pool.connectivity().channels.every((c) => c.state === 'READY'),
      5000,
      'all channels READY',
    )
    await Promise.all(Array.from({ length: 40 }, () => echo(client, { delayMs: 20 })))
    assert.equal(s.peers.size, 4, `peers: ${[...s.peers].join(', ')}`)
    assert.equal(pool.stats().channels, 4)
    await pool.close()
  })

  it('sends each call to the channel with the fewest calls in flight', async () => {
    const s = await server()
    const pool = createChannelPool(s.address, { size: 3 })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const calls = Array.from({ length: 9 }, () => echo(client, { delayMs: 300 }))
    await until(() => s.inFlight === 9, 5000, 'nine calls at the server')
    const inFlight = pool.connectivity().channels.map((c) => c.callsInFlight)
    assert.deepEqual(inFlight, [3, 3, 3])
    assert.equal(pool.stats().callsInFlight, 9)
    await Promise.all(calls)
    assert.deepEqual(
      pool.connectivity().channels.map((c) => c.callsInFlight),
      [0, 0, 0],
    )
    await pool.close()
  })

  it('spreads calls over several backends with round_robin and keeps to one with pick_first', async () => {
    const [a, b, c] = await Promise.all([server(), server(), server()])
    const rr = createChannelPool([a!.address, b!.address, c!.address], { size: 1 })
    const rrClient = rr.client(echoClientConstructor())
    await rr.waitForReady({ timeoutMs: 5000 })
    await sleep(200) // let every subchannel connect
    const seen = new Map<string, number>()
    for (let i = 0; i < 30; i++) {
      const r = await echo(rrClient)
      seen.set(r.serverId, (seen.get(r.serverId) ?? 0) + 1)
    }
    assert.equal(seen.size, 3, JSON.stringify([...seen]))
    await rr.close()

    const pf = createChannelPool([a!.address, b!.address, c!.address], {
      size: 1,
      loadBalancing: 'pick_first',
    })
    const pfClient = pf.client(echoClientConstructor())
    const ids = new Set<string>()
    for (let i = 0; i < 10; i++) ids.add((await echo(pfClient)).serverId)
    assert.equal(ids.size, 1)
    await pf.close()
  })

  it('serves server-streaming and bidi calls and counts them in flight until they end', async () => {
    const s = await server()
    const pool = createChannelPool(s.address, { size: 2 })
    const client = pool.client(echoClientConstructor())
    const ticks: string[] = []
    for await (const m of client.ticks({ message: 't', count: 3, delayMs: 5 })) ticks.push(m.message)
    assert.deepEqual(ticks, ['t#0', 't#1', 't#2'])
    const chat = client.chat()
    const got: string[] = []
    chat.on('data', (m) => got.push(m.message))
    chat.write({ message: 'one' })
    chat.write({ message: 'two' })
    await until(() => got.length === 2, 5000, 'two echoes')
    assert.equal(pool.stats().callsInFlight, 1, 'the open bidi stream holds a lease')
    chat.end()
    await new Promise((resolve) => chat.on('status', resolve))
    assert.deepEqual(got, ['one', 'two'])
    assert.equal(pool.stats().callsInFlight, 0)
    await pool.close()
  })

  it('works with clients made by makeGenericClientConstructor, as generated stubs are', async () => {
    const s = await server()
    const pool = createChannelPool(s.address, { size: 1 })
    const Generated = grpc.makeGenericClientConstructor(echoServiceDefinition(), 'Echo')
    const client = pool.client(Generated) as unknown as EchoClient
    const reply = await echo(client, { message: 'stub' })
    assert.equal(reply.message, 'stub')
    await pool.close()
  })

  it('holds calls made before any channel exists and runs them when one does', async () => {
    const s = await server({ serverOptions: { 'grpc.max_concurrent_streams': 10 } })
    // 'auto' probes the server's stream limit before its first channel: the first calls wait.
    const pool = createChannelPool(s.address, { size: 'auto', minChannels: 1 })
    const client = pool.client(echoClientConstructor())
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, i) => echo(client, { message: `early${i}` })),
    )
    assert.deepEqual(
      replies.map((r) => r.message),
      ['early0', 'early1', 'early2', 'early3', 'early4'],
    )
    assert.equal(pool.stats().streamsPerChannel, 10, 'the advertised limit was learned')
    await pool.close()
  })

  it('fails a waiting call with DEADLINE_EXCEEDED when its deadline passes before a channel is free', async () => {
    const s = await server({ serverOptions: { 'grpc.max_concurrent_streams': 2 } })
    const pool = createChannelPool(s.address, { size: 'auto', maxChannels: 1 })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const slow = [echo(client, { delayMs: 500 }), echo(client, { delayMs: 500 })]
    await until(() => pool.stats().callsInFlight === 2, 5000, 'the channel full')
    const started = Date.now()
    await assert.rejects(echo(client, {}, { deadline: Date.now() + 100 }), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED)
      return true
    })
    assert.ok(Date.now() - started < 450, 'it failed at its deadline, not after the slow calls')
    await Promise.all(slow)
    await pool.close()
  })

  it('cancels a waiting call at once when the caller cancels it', async () => {
    const s = await server({ serverOptions: { 'grpc.max_concurrent_streams': 1 } })
    const pool = createChannelPool(s.address, { size: 'auto', maxChannels: 1 })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const slow = echo(client, { delayMs: 400 })
    await until(() => pool.stats().callsInFlight === 1, 5000, 'the channel full')
    const result = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.echo({ message: 'x' }, (err) => resolve(err))
      setTimeout(() => call.cancel(), 20)
    })
    const err = await result
    assert.equal(err?.code, grpc.status.CANCELLED)
    assert.equal(pool.stats().callsWaiting, 0)
    await slow
    await pool.close()
  })

  it('refuses calls after close at once with UNAVAILABLE carrying a PoolClosedError', async () => {
    const s = await server()
    const pool = createChannelPool(s.address, { size: 2 })
    const client = pool.client(echoClientConstructor())
    await echo(client)
    await pool.close()
    const started = Date.now()
    await assert.rejects(echo(client), (err: grpc.ServiceError & { cause?: unknown; berthCode?: string }) => {
      assert.equal(err.code, grpc.status.UNAVAILABLE)
      assert.ok(err.cause instanceof PoolClosedError)
      assert.equal(err.berthCode, 'BERTH_POOL_CLOSED')
      return true
    })
    assert.ok(Date.now() - started < 100)
    assert.throws(() => pool.client(echoClientConstructor()), PoolClosedError)
    await pool.close() // idempotent
    await pool.destroy()
  })

  it('loses no call that had started when closed under load', async () => {
    const s = await server()
    const pool = createChannelPool(s.address, { size: 2 })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const calls = Array.from({ length: 50 }, (_, i) =>
      echo(client, { message: `c${i}`, delayMs: 100 + (i % 5) * 20 }),
    )
    await until(() => s.inFlight === 50, 5000, 'all calls at the server')
    const closing = pool.close({ timeoutMs: 5000 })
    const results = await Promise.allSettled(calls)
    assert.equal(results.filter((r) => r.status === 'rejected').length, 0)
    await closing
    assert.equal(pool.stats().channels, 0)
    assert.equal(pool.stats().poolState, 'closed')
  })

  it('destroy() ends calls in flight at once', async () => {
    const s = await server()
    const pool = createChannelPool(s.address, { size: 1 })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const call = echo(client, { delayMs: 2000 })
    await until(() => s.inFlight === 1, 5000, 'the call at the server')
    const started = Date.now()
    await pool.destroy()
    await assert.rejects(call)
    assert.ok(Date.now() - started < 1500)
  })

  it('moves traffic to new backends with setAddresses and fails no call', async () => {
    const [a, b] = await Promise.all([server(), server()])
    const pool = createChannelPool(a!.address, { size: 2 })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    let stop = false
    const failures: unknown[] = []
    const seen: string[] = []
    const worker = async () => {
      for (let i = 0; i < 2000 && !stop; i++) {
        try {
          seen.push((await echo(client, { delayMs: 2 })).serverId)
        } catch (err) {
          failures.push(err)
        }
      }
    }
    const workers = Promise.all(Array.from({ length: 8 }, worker))
    await until(() => seen.length > 50, 5000, 'traffic to a')
    pool.setAddresses([b!.address])
    const mark = seen.length
    await until(() => seen.slice(mark).filter((id) => id === b!.id).length > 100, 5000, 'traffic to b')
    const tail = seen.slice(-50)
    stop = true
    await workers
    assert.deepEqual(failures, [])
    assert.ok(
      tail.every((id) => id === b!.id),
      'the last calls all went to b',
    )
    assert.deepEqual(pool.stats().addresses, [b!.address])
    await pool.close()
  })

  it('resolves a DNS name itself and calls the addresses it finds', async () => {
    const s = await server()
    const pool = createChannelPool(`localhost:${s.port}`, { size: 1, reresolveEveryMs: 60_000 })
    const client = pool.client(echoClientConstructor())
    assert.equal((await echo(client, { message: 'dns' })).message, 'dns')
    assert.ok(pool.stats().dnsLookups >= 1)
    assert.ok(pool.stats().addresses.includes(`127.0.0.1:${s.port}`), pool.stats().addresses.join(','))
    await pool.close()
  })

  it('fails waitForReady with the cause when no channel can be made (xds: without @grpc/grpc-js-xds)', async () => {
    const pool = createChannelPool('xds:///billing', { size: 1 })
    await assert.rejects(
      pool.waitForReady({ timeoutMs: 5000 }),
      (err: Error & { cause?: { cause?: unknown } }) => {
        assert.equal((err as { code?: string }).code, 'BERTH_NOT_READY')
        assert.match(String((err.cause as Error)?.message ?? ''), /grpc-js-xds|create/i)
        return true
      },
    )
    assert.throws(() => pool.setAddresses(['127.0.0.1:1']), { code: 'BERTH_UNSUPPORTED' })
    await pool.destroy()
  })

  it('rejects bad targets and options with typed errors naming the field', () => {
    assert.throws(() => createChannelPool('', quiet), InvalidTargetError)
    assert.throws(() => createChannelPool('127.0.0.1:99999', quiet), /port "99999"/)
    assert.throws(() => createChannelPool('http://x:1', quiet), /unsupported scheme/)
    assert.throws(() => createChannelPool('127.0.0.1:1', { size: 0 }), /Invalid option size/)
    assert.throws(() => createChannelPool('127.0.0.1:1', { keepalive: { timeMs: -1 } }), /keepalive\.timeMs/)
    assert.throws(() => createChannelPool('127.0.0.1:1', { retry: { maxAttempts: 1 } }), /retry\.maxAttempts/)
    assert.throws(() => createChannelPool('127.0.0.1:1', { nope: 1 } as never), /Invalid option nope/)
    assert.throws(
      () => createChannelPool('127.0.0.1:1', { credentials: {} as grpc.ChannelCredentials }),
      /Invalid option credentials/,
    )
    assert.throws(() => createChannelPool('10.0.0.1:443'), /BERTH_INSECURE_CHANNEL|plaintext|insecure/i)
  })
})
