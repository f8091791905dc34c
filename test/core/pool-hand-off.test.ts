/**
 * A release with callers waiting hands the resource straight to the oldest one. The pool has a fast
 * path for the common case (an exclusive lease, nobody listening) and the general path for the
 * rest; these tests hold the two to the same behaviour.
 */
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { getEventListeners } from 'node:events'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Lease, Pool, type PoolOptions } from '../../src/core/index.js'
import { seededRandom } from '../support/random.js'

interface Res {
  readonly id: number
}

/**
 * A seeded mix of exclusive and shared acquires, releases, destroys and aborts by several workers,
 * driven only by promise jobs (no timers), so the same seed replays the same interleaving. Returns
 * who got which resource, in order, and the pool's counters and gauges at the end.
 */
async function script(seed: number, extra: Partial<PoolOptions<Res>> = {}) {
  const random = seededRandom(seed)
  let next = 0
  const pool = new Pool<Res>({
    create: async () => ({ id: ++next }),
    destroy: () => {},
    max: 3,
    capacity: 2,
    ...extra,
  })
  const grants: string[] = []
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await Promise.resolve()
  }
  const worker = async (name: number) => {
    for (let step = 0; step < 60; step++) {
      const shared = random() < 0.2
      const controller = new AbortController()
      const abortLater = random() < 0.1
      const pending = pool.acquire({ shared, signal: controller.signal })
      if (abortLater) queueMicrotask(() => controller.abort())
      let lease: Lease<Res>
      try {
        lease = await pending
      } catch (err) {
        grants.push(`${name}:${(err as { code: string }).code}`)
        continue
      }
      grants.push(`${name}:${lease.shared ? 's' : 'x'}${lease.resource.id}`)
      await turns(Math.floor(random() * 4))
      if (random() < 0.1) lease.destroy()
      else lease.release()
    }
  }
  await Promise.all([1, 2, 3, 4, 5, 6, 7].map(worker))
  const s = pool.stats()
  await pool.close()
  const { acquireWaitMs, createMs, resourceAgeMs, ...rest } = s
  return { grants, stats: { ...rest, waitCount: acquireWaitMs.count, createCount: createMs.count } }
}

/** A pool of one resource, so a second caller waits for the first one's release. */
function onePool(): Pool<Res> {
  return new Pool<Res>({ create: async () => ({ id: 1 }), destroy: () => {}, max: 1 })
}

describe('hand-off on release', () => {
  it('gives the same grants and the same stats with and without a diagnostics subscriber or leak detection', async () => {
    for (const seed of [1, 2, 3]) {
      const plain = await script(seed)
      // Sanity: the script does make callers wait, so releases do hand resources over.
      assert.ok(
        plain.stats.counters.waitedAcquires > 50,
        `seed ${seed}: ${plain.stats.counters.waitedAcquires} waited`,
      )
      assert.ok(plain.grants.length > 300)

      const listener = () => {}
      diagnostics.subscribe('berth:pool:release', listener)
      let observed: Awaited<ReturnType<typeof script>>
      try {
        observed = await script(seed)
      } finally {
        diagnostics.unsubscribe('berth:pool:release', listener)
      }
      assert.deepEqual(observed.grants, plain.grants, `seed ${seed}: grants differ with a release subscriber`)
      assert.deepEqual(observed.stats, plain.stats, `seed ${seed}: stats differ with a release subscriber`)

      const tracked = await script(seed, { leakDetectionMs: 3_600_000 })
      assert.deepEqual(tracked.grants, plain.grants, `seed ${seed}: grants differ with leak detection`)
      assert.deepEqual(
        { ...tracked.stats, counters: { ...tracked.stats.counters } },
        { ...plain.stats, counters: { ...plain.stats.counters } },
        `seed ${seed}: stats differ with leak detection`,
      )
    }
  })

  it("drops the waiter's abort listener when it is handed a resource", async () => {
    const pool = onePool()
    const held = await pool.acquire()
    const controller = new AbortController()
    const waiting = pool.acquire({ signal: controller.signal })
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1)
    held.release()
    const lease = await waiting
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
    controller.abort()
    assert.equal(pool.stats().counters.cancellations, 0)
    assert.equal(lease.released, false)
    lease.release()
    await pool.close()
  })

  it('a waiter handed a resource before its deadline never times out later', async () => {
    const pool = onePool()
    const held = await pool.acquire()
    const waiting = pool.acquire({ timeoutMs: 40 })
    held.release()
    const lease = await waiting
    await sleep(80)
    const s = pool.stats()
    assert.equal(s.counters.timeouts, 0)
    assert.equal(s.waiting, 0)
    assert.equal(s.leased, 1)
    assert.equal(s.counters.releases, 1)
    assert.equal(s.acquireWaitMs.count, 2)
    lease.release()
    await pool.close()
  })

  it('retires an expired resource at release instead of handing it over, and serves the waiter with a new one', async () => {
    let next = 0
    const pool = new Pool<Res>({
      create: async () => ({ id: ++next }),
      destroy: () => {},
      max: 1,
      maxLifetimeMs: 20,
      maxLifetimeJitterMs: 0,
    })
    const held = await pool.acquire()
    const waiting = pool.acquire()
    await sleep(40)
    held.release()
    const lease = await waiting
    assert.equal(lease.resource.id, 2)
    assert.equal(pool.stats().counters.destroys.lifetime, 1)
    lease.release()
    await pool.close()
  })
})

describe('Lease', () => {
  it('is not a thenable: awaiting a lease gives the lease', async () => {
    const pool = onePool()
    const lease = await pool.acquire()
    assert.equal(await Promise.resolve(lease), lease)
    assert.equal(typeof (lease as unknown as { then?: unknown }).then, 'undefined')
    assert.ok(!Object.keys(lease).includes('then'))
    lease.release()
    await pool.close()
  })
})
