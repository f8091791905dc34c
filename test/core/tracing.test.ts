import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  AcquireTimeoutError,
  POOL_TRACING_NAMES,
  Pool,
  type PoolAcquireContext,
  type PoolCreateContext,
  poolTracing,
} from '../../src/core/index.js'
import { recordTrace } from '../support/tracing.js'

const ORDER = ['start', 'end', 'asyncStart', 'asyncEnd']
const FAILED = ['start', 'end', 'error', 'asyncStart', 'asyncEnd']

describe('tracing channels of the core pool', () => {
  it('are the tracing channels of their names', () => {
    assert.equal(POOL_TRACING_NAMES.acquire, 'berth:pool:acquire')
    assert.equal(POOL_TRACING_NAMES.create, 'berth:pool:create')
    // A subscriber by name reaches the exported channel object.
    const byName = diagnostics.tracingChannel<unknown, PoolAcquireContext>('berth:pool:acquire')
    const seen: string[] = []
    const start = (ctx: PoolAcquireContext) => seen.push(ctx.pool)
    byName.start.subscribe(start as (m: unknown) => void)
    try {
      assert.equal(poolTracing.acquire.hasSubscribers, true)
      assert.equal(poolTracing.acquire.start, byName.start)
    } finally {
      byName.start.unsubscribe(start as (m: unknown) => void)
    }
    assert.equal(poolTracing.acquire.hasSubscribers, false)
  })

  it('traces an acquire (start, end, asyncStart, asyncEnd) with the pool, shared and the wait', async () => {
    const pool = new Pool({ name: 'traced', create: async () => ({ id: 1 }), destroy: () => {}, max: 1 })
    const acquires = recordTrace(poolTracing.acquire)
    const creates = recordTrace(poolTracing.create)
    try {
      const first = await pool.acquire()
      // The second caller waits for the first lease to come back.
      const second = pool.acquire()
      await sleep(30)
      first.release()
      const lease = await second
      lease.release()
      const shared = await pool.acquire({ shared: true })
      shared.release()

      const ctxs = acquires.contexts()
      assert.equal(ctxs.length, 3)
      for (const ctx of ctxs) {
        const mine = acquires.records.filter((r) => r.ctx === ctx).map((r) => r.event)
        assert.deepEqual(mine, ORDER)
        assert.equal(ctx.pool, 'traced')
        assert.equal(typeof ctx.waitMs, 'number')
        assert.ok(ctx.result !== undefined, 'the lease is the result')
      }
      assert.deepEqual(
        ctxs.map((c) => c.shared),
        [false, false, true],
      )
      assert.ok(ctxs[1]!.waitMs! >= 25, `the waiter waited ${ctxs[1]!.waitMs} ms`)
      // waitMs is set by asyncStart, not before: start and end saw none.
      const startOf = acquires.records.find((r) => r.event === 'start' && r.ctx === ctxs[1])!
      assert.equal(startOf.snapshot['waitMs'], undefined)
      const asyncStartOf = acquires.records.find((r) => r.event === 'asyncStart' && r.ctx === ctxs[1])!
      assert.equal(typeof asyncStartOf.snapshot['waitMs'], 'number')

      // One resource made, one create trace.
      assert.deepEqual(creates.events(), ORDER)
      const created = creates.contexts()[0] as PoolCreateContext
      assert.equal(created.pool, 'traced')
      assert.deepEqual(created.result, { id: 1 })
    } finally {
      acquires.stop()
      creates.stop()
      await pool.close()
    }
  })

  it('publishes error with the error when an acquire or a create fails', async () => {
    const boom = new Error('connect ECONNREFUSED')
    const pool = new Pool({
      name: 'failing',
      create: async () => {
        throw boom
      },
      destroy: () => {},
      max: 1,
      acquireTimeoutMs: 50,
    })
    const acquires = recordTrace(poolTracing.acquire)
    const creates = recordTrace(poolTracing.create)
    try {
      await assert.rejects(pool.acquire())
      assert.deepEqual(acquires.events(), FAILED)
      const ctx = acquires.contexts()[0]!
      const err = acquires.records.find((r) => r.event === 'error')!.snapshot['error']
      assert.equal(err, ctx.error)
      assert.ok(err instanceof Error)
      assert.equal(typeof ctx.waitMs, 'number')
      assert.deepEqual(creates.events().slice(0, 5), FAILED)
      assert.equal(creates.contexts()[0]!.error, boom)
    } finally {
      acquires.stop()
      creates.stop()
      await pool.close()
    }
  })

  it('an acquire that times out waiting ends with its AcquireTimeoutError', async () => {
    const pool = new Pool({ name: 'busy', create: async () => ({}), destroy: () => {}, max: 1 })
    const held = await pool.acquire()
    const acquires = recordTrace(poolTracing.acquire)
    try {
      await assert.rejects(pool.acquire({ timeoutMs: 30 }), AcquireTimeoutError)
      assert.deepEqual(acquires.events(), FAILED)
      assert.ok(acquires.contexts()[0]!.error instanceof AcquireTimeoutError)
      assert.ok(acquires.contexts()[0]!.waitMs! >= 25)
    } finally {
      acquires.stop()
      held.release()
      await pool.close()
    }
  })

  it('leaves nothing subscribed and publishes nothing once unsubscribed', async () => {
    const pool = new Pool({ create: async () => ({}), destroy: () => {}, max: 1 })
    const acquires = recordTrace(poolTracing.acquire)
    const creates = recordTrace(poolTracing.create)
    acquires.stop()
    creates.stop()
    assert.equal(poolTracing.acquire.hasSubscribers, false)
    assert.equal(poolTracing.create.hasSubscribers, false)
    const lease = await pool.acquire()
    lease.release()
    assert.deepEqual(acquires.records, [])
    assert.deepEqual(creates.records, [])
    await pool.close()
  })
})
