import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import { InvalidOptionError } from '../../src/core/errors.js'
import {
  type CallLogEntry,
  type LoggingInterceptorOptions,
  formatCallLogEntry,
  loggingInterceptor,
} from '../../src/grpc/interceptor-logging.js'
import { type EchoClient, echo, echoFixture } from '../support/grpc.js'

function statusOf(stream: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>) {
  stream.on('data', () => {})
  stream.on('error', () => {})
  return new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve))
}

describe('loggingInterceptor', () => {
  const fixture = echoFixture()

  function logged(options: Omit<LoggingInterceptorOptions, 'log'> = {}): {
    client: EchoClient
    entries: CallLogEntry[]
  } {
    const entries: CallLogEntry[] = []
    const client = fixture.client([loggingInterceptor({ ...options, log: (e) => entries.push(e) })])
    return { client, entries }
  }

  test('at level all, an OK call is logged with its method, duration, status and peer', async () => {
    const { client, entries } = logged({ level: 'all' })
    await echo(client, { message: 'hi', delayMs: 30 })
    assert.equal(entries.length, 1)
    const [e] = entries
    assert.ok(e)
    assert.equal(e.method, '/berth.test.Echo/Echo')
    assert.equal(e.kind, 'unary')
    assert.equal(e.code, grpc.status.OK)
    assert.equal(e.status, 'OK')
    assert.equal(e.details, undefined)
    assert.equal(e.slow, false)
    assert.equal(e.peer, fixture.server.address)
    assert.ok(e.durationMs >= 30 && e.durationMs < 1000, `durationMs ${e.durationMs}`)
  })

  test('a failing call is logged with its status name and details', async () => {
    const { client, entries } = logged()
    await assert.rejects(echo(client, { failWith: grpc.status.UNAVAILABLE }))
    assert.equal(entries.length, 1)
    assert.equal(entries[0]?.code, grpc.status.UNAVAILABLE)
    assert.equal(entries[0]?.status, 'UNAVAILABLE')
    assert.match(entries[0]?.details ?? '', /failed on request/)
  })

  test('by default only failed and slow calls are logged', async () => {
    const { client, entries } = logged({ slowMs: 100 })
    await echo(client, { message: 'fast' })
    assert.equal(entries.length, 0)
    await echo(client, { message: 'slow', delayMs: 150 })
    assert.equal(entries.length, 1)
    assert.equal(entries[0]?.status, 'OK')
    assert.equal(entries[0]?.slow, true)
    await assert.rejects(echo(client, { failWith: grpc.status.NOT_FOUND }))
    assert.deepEqual(
      entries.map((e) => e.status),
      ['OK', 'NOT_FOUND'],
    )
  })

  test('server streams and bidi streams are logged once each, when they end', async () => {
    const { client, entries } = logged({ level: 'all' })
    const ticks = client.ticks({ message: 't', count: 3, delayMs: 20 })
    assert.equal((await statusOf(ticks)).code, grpc.status.OK)
    const chat = client.chat()
    const chatStatus = statusOf(chat)
    chat.write({ message: 'one' })
    chat.write({ message: 'two' })
    chat.end()
    assert.equal((await chatStatus).code, grpc.status.OK)

    assert.deepEqual(
      entries.map((e) => [e.method, e.kind, e.status]),
      [
        ['/berth.test.Echo/Ticks', 'server-stream', 'OK'],
        ['/berth.test.Echo/Chat', 'bidi', 'OK'],
      ],
    )
    assert.ok((entries[0]?.durationMs ?? 0) >= 60, `ticks took ${entries[0]?.durationMs} ms`)
  })

  test('a call cancelled by its caller is logged as CANCELLED', async () => {
    const { client, entries } = logged()
    const ticks = client.ticks({ count: 100, delayMs: 50 })
    const status = statusOf(ticks)
    setTimeout(() => ticks.cancel(), 30)
    assert.equal((await status).code, grpc.status.CANCELLED)
    assert.equal(entries.length, 1)
    assert.equal(entries[0]?.status, 'CANCELLED')
  })

  test('a throwing log function neither fails the call nor crashes the process, and is reported once', async () => {
    const client = fixture.client([
      loggingInterceptor({
        level: 'all',
        log: () => {
          throw new Error('logger broke')
        },
      }),
    ])
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    try {
      assert.equal((await echo(client, { message: 'still here' })).message, 'still here')
      assert.equal((await echo(client, { message: 'again' })).message, 'again')
      await new Promise((resolve) => setImmediate(resolve))
      const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'BERTH_GRPC_LOG_FAILED')
      assert.equal(ours.length, 1)
      assert.match(ours[0]?.message ?? '', /logger broke/)
    } finally {
      process.off('warning', onWarning)
    }
  })

  test('formatCallLogEntry renders one line with the facts', () => {
    const line = formatCallLogEntry({
      method: '/pkg.Svc/Get',
      kind: 'unary',
      durationMs: 12.34,
      code: 14,
      status: 'UNAVAILABLE',
      details: 'connection refused',
      peer: '127.0.0.1:50051',
      slow: false,
    })
    assert.equal(line, 'grpc /pkg.Svc/Get UNAVAILABLE 12.3 ms peer=127.0.0.1:50051 "connection refused"')
  })

  test('invalid options are refused at construction', () => {
    assert.throws(() => loggingInterceptor({ slowMs: 0 }), InvalidOptionError)
    assert.throws(() => loggingInterceptor({ slowMs: Number.NaN }), { option: 'slowMs' })
    assert.throws(() => loggingInterceptor({ level: 'debug' as 'all' }), { option: 'level' })
    assert.doesNotThrow(() => loggingInterceptor({ slowMs: Number.POSITIVE_INFINITY }))
  })
})
