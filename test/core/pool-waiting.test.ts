import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { AcquireAbortedError, type Lease, Pool, QueueFullError } from '../../src/core/index.js'

function simple(max: number, extra: { maxWaiting?: number; acquireTimeoutMs?: number } = {}) {
  let next = 0
  return new Pool<{ id: number }>({ create: async () => ({ id: ++next }), destroy: () => {}, max, ...extra })
}

describe('waiting', () => {
  it('serves waiting callers first-in-first-out', async () => {
    const pool = simple(1)
    const first = await pool.acquire()
    const order: number[] = []
    const waiters = [1, 2, 3, 4, 5].map((n) =>
      pool.acquire().then((l) => {
        order.push(n)
        return l
      }),
    )
    await sleep(2)
    first.release()
    for (const w of waiters) (await w).release()
    assert.deepEqual(order, [1, 2, 3, 4, 5])
    await pool.close()
  })

  it('gives a released resource to the oldest waiter, not to a newcomer', async () => {
    const pool = simple(1)
    const held = await pool.acquire()
    const old = pool.acquire()
    await sleep(2)
    held.release()
    const newcomer = pool.acquire({ timeoutMs: 30 })
    const got = await old
    assert.equal(got.resource, held.resource)
    await assert.rejects(newcomer, { code: 'BERTH_ACQUIRE_TIMEOUT' })
    got.release()
    await pool.close()
  })

  it('refuses at once with QueueFullError when maxWaiting callers already wait', async () => {
    const pool = simple(1, { maxWaiting: 2 })
    const held = await pool.acquire()
    const a = pool.acquire()
    const b = pool.acquire()
    const started = performance.now()
    await assert.rejects(pool.acquire(), QueueFullError)
    assert.ok(performance.now() - started < 1000)
    assert.equal(pool.stats().counters.queueFull, 1)
    held.release()
    ;(await a).release()
    ;(await b).release()
    await pool.close()
  })

  it('removes an aborted waiter at once, and it never receives a resource later', async () => {
    const pool = simple(1)
    const held = await pool.acquire()
    const ac = new AbortController()
    const aborted = pool.acquire({ signal: ac.signal })
    const behind = pool.acquire()
    ac.abort(new Error('client went away'))
    const err = await aborted.catch((e: unknown) => e)
    assert.ok(err instanceof AcquireAbortedError)
    assert.equal((err.cause as Error).message, 'client went away')
    assert.equal(pool.stats().waiting, 1)
    held.release()
    const next = await behind
    assert.equal(next.resource, held.resource, 'the resource skipped the aborted waiter')
    assert.equal(pool.stats().counters.cancellations, 1)
    next.release()
    await pool.close()
  })

  it('rejects at once when the signal is already aborted', async () => {
    const pool = simple(1)
    await assert.rejects(pool.acquire({ signal: AbortSignal.abort('late') }), {
      code: 'BERTH_ACQUIRE_ABORTED',
    })
    assert.equal(pool.stats().total, 0, 'nothing was created for it')
    assert.equal(pool.stats().counters.acquires, 1, 'it still counts as an acquire')
    assert.equal(pool.stats().counters.cancellations, 1)
    await pool.close()
  })

  it('times a waiter out after timeoutMs and removes it from the queue', async () => {
    const pool = simple(1, { acquireTimeoutMs: 10_000 })
    const held = await pool.acquire()
    const started = performance.now()
    await assert.rejects(
      pool.acquire({ timeoutMs: 40 }),
      (e: Error & { code?: string; timeoutMs?: number }) => {
        assert.equal(e.code, 'BERTH_ACQUIRE_TIMEOUT')
        assert.equal(e.timeoutMs, 40)
        assert.match(e.message, /pool 'pool'.*waiting=1/)
        return true
      },
    )
    assert.ok(performance.now() - started >= 35)
    assert.equal(pool.stats().waiting, 0)
    assert.equal(pool.stats().counters.timeouts, 1)
    held.release()
    await pool.close()
  })

  it('times out waiters with different deadlines each on its own deadline', async () => {
    const pool = simple(1)
    const held = await pool.acquire()
    const ends: [number, number][] = []
    const t0 = performance.now()
    const calls = [120, 30, 60].map((ms) =>
      pool.acquire({ timeoutMs: ms }).catch(() => {
        ends.push([ms, performance.now() - t0])
      }),
    )
    await Promise.all(calls)
    assert.deepEqual(
      ends.map(([ms]) => ms),
      [30, 60, 120],
    )
    for (const [ms, at] of ends) assert.ok(at >= ms - 2, `${ms} ms waiter ended at ${at.toFixed(1)} ms`)
    held.release()
    await pool.close()
  })

  it('lets a timed-out waiter leave without disturbing the ones behind it', async () => {
    const pool = simple(2)
    const held: Lease<{ id: number }>[] = [await pool.acquire(), await pool.acquire()]
    const quick = pool.acquire({ timeoutMs: 20 })
    const patient = pool.acquire({ timeoutMs: 5000 })
    await assert.rejects(quick, { code: 'BERTH_ACQUIRE_TIMEOUT' })
    held[0]!.release()
    const got = await patient
    assert.equal(got.resource, held[0]!.resource)
    got.release()
    held[1]!.release()
    await pool.close()
  })
})
