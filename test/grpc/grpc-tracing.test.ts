import assert from 'node:assert/strict'
import { AsyncLocalStorage } from 'node:async_hooks'
import { after, describe, it } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import {
  GRPC_TRACING_NAMES,
  type GrpcCallContext,
  type GrpcPickContext,
  createChannelPool,
  grpcTracing,
} from '../../src/grpc/index.js'
import { type EchoServer, echo, echoClientConstructor, startEchoServer } from '../support/grpc.js'
import { recordTrace } from '../support/tracing.js'

const ORDER = ['start', 'end', 'asyncStart', 'asyncEnd']
const FAILED = ['start', 'end', 'error', 'asyncStart', 'asyncEnd']
const METHOD = '/berth.test.Echo/Echo'

const servers: EchoServer[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.stop(1000)))
})

function eventsOf<C>(records: { event: string; ctx: C }[], ctx: C): string[] {
  return records.filter((r) => r.ctx === ctx).map((r) => r.event)
}

describe('berth/grpc tracing channels', () => {
  it('traces the pick and the call of a unary call: method, target, channel, status', async () => {
    assert.equal(GRPC_TRACING_NAMES.pick, 'berth:grpc:pick')
    assert.equal(GRPC_TRACING_NAMES.call, 'berth:grpc:call')
    const s = await startEchoServer()
    servers.push(s)
    const target = s.address
    const pool = createChannelPool(target, { size: 2 })
    const client = pool.client(echoClientConstructor())
    const picks = recordTrace(grpcTracing.pick)
    const calls = recordTrace(grpcTracing.call)
    try {
      // The first call may wait for a channel (deferred), the later ones find one at once.
      await echo(client, { message: 'hello' })
      await pool.waitForReady({ timeoutMs: 5000 })
      await echo(client, { message: 'again' })

      const pickCtxs = picks.contexts() as GrpcPickContext[]
      const callCtxs = calls.contexts() as GrpcCallContext[]
      assert.equal(pickCtxs.length, 2)
      assert.equal(callCtxs.length, 2)
      for (const ctx of pickCtxs) {
        assert.deepEqual(eventsOf(picks.records, ctx), ORDER)
        assert.equal(ctx.method, METHOD)
        assert.equal(ctx.target, target)
        assert.equal(typeof ctx.channel, 'number')
        assert.equal(typeof ctx.deferred, 'boolean')
      }
      assert.equal(pickCtxs[1]!.deferred, false)
      for (const ctx of callCtxs) {
        assert.deepEqual(eventsOf(calls.records, ctx), ORDER)
        assert.equal(ctx.method, METHOD)
        assert.equal(ctx.target, target)
        assert.equal(ctx.code, grpc.status.OK)
        assert.equal(ctx.error, undefined)
      }
      // No message content in any context.
      assert.ok(!JSON.stringify(picks.records.map((r) => r.snapshot)).includes('hello'))
      assert.ok(!JSON.stringify(calls.records.map((r) => r.snapshot)).includes('hello'))
    } finally {
      picks.stop()
      calls.stop()
      await pool.close()
    }
  })

  it('publishes error with the status of a failed call', async () => {
    const s = await startEchoServer()
    servers.push(s)
    const pool = createChannelPool(s.address, { size: 1 })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const calls = recordTrace(grpcTracing.call)
    try {
      await assert.rejects(echo(client, { failWith: grpc.status.NOT_FOUND }))
      const [ctx] = calls.contexts() as GrpcCallContext[]
      assert.deepEqual(eventsOf(calls.records, ctx!), FAILED)
      assert.equal(ctx!.code, grpc.status.NOT_FOUND)
      assert.equal((ctx!.error as { code: number }).code, grpc.status.NOT_FOUND)
      assert.match(ctx!.details!, /failed on request/)
    } finally {
      calls.stop()
      await pool.close()
    }
  })

  it('a pick on a closed pool ends with error', async () => {
    const s = await startEchoServer()
    servers.push(s)
    const pool = createChannelPool(s.address, { size: 1 })
    const client = pool.client(echoClientConstructor())
    await pool.close()
    const picks = recordTrace(grpcTracing.pick)
    try {
      await assert.rejects(echo(client, {}))
      const [ctx] = picks.contexts() as GrpcPickContext[]
      assert.deepEqual(eventsOf(picks.records, ctx!), FAILED)
      assert.ok(ctx!.error instanceof Error)
      assert.equal(ctx!.channel, undefined)
    } finally {
      picks.stop()
    }
  })

  it('runs the status callback in the store bound to asyncStart', async () => {
    const s = await startEchoServer()
    servers.push(s)
    const pool = createChannelPool(s.address, { size: 1 })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    const store = new AsyncLocalStorage<string>()
    grpcTracing.call.asyncStart.bindStore(store, (ctx) => `span:${ctx.method}:${ctx.code}`)
    try {
      const seen = await new Promise<string | undefined>((resolve) => {
        client.echo({}, (_err: unknown) => resolve(store.getStore()))
      })
      assert.equal(seen, `span:${METHOD}:0`)
    } finally {
      grpcTracing.call.asyncStart.unbindStore(store)
      await pool.close()
    }
  })

  it('unsubscribed, publishes nothing', async () => {
    const s = await startEchoServer()
    servers.push(s)
    const pool = createChannelPool(s.address, { size: 1 })
    const client = pool.client(echoClientConstructor())
    const picks = recordTrace(grpcTracing.pick)
    const calls = recordTrace(grpcTracing.call)
    picks.stop()
    calls.stop()
    assert.equal(grpcTracing.pick.hasSubscribers, false)
    assert.equal(grpcTracing.call.hasSubscribers, false)
    await echo(client, {})
    assert.deepEqual(picks.records, [])
    assert.deepEqual(calls.records, [])
    await pool.close()
  })
})
