import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import { InvalidOptionError } from '../../src/core/errors.js'
import { type DeadlineInterceptorOptions, deadlineInterceptor } from '../../src/grpc/interceptor-deadline.js'
import { type EchoClient, echo, echoFixture } from '../support/grpc.js'

function ticksStatus(client: EchoClient, count: number, delayMs: number): Promise<grpc.StatusObject> {
  const stream = client.ticks({ count, delayMs })
  stream.on('data', () => {})
  stream.on('error', () => {})
  return new Promise((resolve) => stream.on('status', resolve))
}

describe('deadlineInterceptor', () => {
  const fixture = echoFixture()

  const client = (options: DeadlineInterceptorOptions): EchoClient =>
    fixture.client([deadlineInterceptor(options)])

  test('a 500 ms call without a deadline fails DEADLINE_EXCEEDED after defaultMs', async () => {
    const c = client({ defaultMs: 50 })
    const started = performance.now()
    await assert.rejects(echo(c, { delayMs: 500 }), { code: grpc.status.DEADLINE_EXCEEDED })
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 45 && elapsed < 400, `failed after ${elapsed} ms`)
  })

  test('a call with its own deadline keeps it, even a later one', async () => {
    const c = client({ defaultMs: 50 })
    const reply = await echo(c, { message: 'mine', delayMs: 500 }, { deadline: Date.now() + 3000 })
    assert.equal(reply.message, 'mine')
    const asDate = await echo(c, { message: 'date', delayMs: 200 }, { deadline: new Date(Date.now() + 3000) })
    assert.equal(asDate.message, 'date')
  })

  test('an Infinity deadline counts as none and gets the default', async () => {
    const c = client({ defaultMs: 50 })
    await assert.rejects(echo(c, { delayMs: 500 }, { deadline: Number.POSITIVE_INFINITY }), {
      code: grpc.status.DEADLINE_EXCEEDED,
    })
  })

  test('a per-method deadline takes the place of the default, by full path or without the slash', async () => {
    const full = client({ defaultMs: 50, perMethod: { '/berth.test.Echo/Echo': 2000 } })
    assert.equal((await echo(full, { message: 'a', delayMs: 300 })).message, 'a')
    const short = client({ defaultMs: 50, perMethod: { 'berth.test.Echo/Echo': 2000 } })
    assert.equal((await echo(short, { message: 'b', delayMs: 300 })).message, 'b')
    const tighter = client({ defaultMs: 5000, perMethod: { 'berth.test.Echo/Echo': 50 } })
    await assert.rejects(echo(tighter, { delayMs: 500 }), { code: grpc.status.DEADLINE_EXCEEDED })
    const none = client({ defaultMs: 50, perMethod: { 'berth.test.Echo/Echo': Number.POSITIVE_INFINITY } })
    assert.equal((await echo(none, { message: 'c', delayMs: 300 })).message, 'c')
  })

  test('streams get the default only when streams is set, and per-method deadlines always', async () => {
    assert.equal((await ticksStatus(client({ defaultMs: 50 }), 4, 50)).code, grpc.status.OK)
    assert.equal(
      (await ticksStatus(client({ defaultMs: 50, streams: true }), 4, 50)).code,
      grpc.status.DEADLINE_EXCEEDED,
    )
    const perMethod = client({ defaultMs: 5000, perMethod: { '/berth.test.Echo/Ticks': 50 } })
    assert.equal((await ticksStatus(perMethod, 4, 50)).code, grpc.status.DEADLINE_EXCEEDED)
  })

  test('invalid options are refused at construction with the option at fault', () => {
    for (const defaultMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '50' as unknown as number]) {
      assert.throws(
        () => deadlineInterceptor({ defaultMs }),
        (err) => err instanceof InvalidOptionError && err.option === 'defaultMs',
        String(defaultMs),
      )
    }
    assert.throws(() => deadlineInterceptor({ defaultMs: 10, perMethod: { Echo: 10 } }), {
      code: 'BERTH_INVALID_OPTION',
      option: 'perMethod["Echo"]',
    })
    assert.throws(() => deadlineInterceptor({ defaultMs: 10, perMethod: { '/a.B/C': -5 } }), {
      option: 'perMethod["/a.B/C"]',
    })
    assert.throws(() => deadlineInterceptor({ defaultMs: 10, streams: 'yes' as unknown as boolean }), {
      option: 'streams',
    })
  })
})
