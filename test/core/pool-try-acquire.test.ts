import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Lease, Pool, PoolClosedError } from '../../src/core/index.js'

interface Chan {
  id: number
}

function channels(options: { min?: number; max: number; capacity: number; spreadShared?: boolean }) {
  let next = 0
  return new Pool<Chan>({ create: async () => ({ id: ++next }), destroy: () => {}, ...options })
}

function perResource(leases: Lease<Chan>[]): number[] {
  const m = new Map<number, number>()
  for (const l of leases) if (!l.released) m.set(l.resource.id, (m.get(l.resource.id) ?? 0) + 1)
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n)
}

describe('tryAcquire', () => {
  it('lends an idle or shared resource synchronously and returns undefined when none is free', async () => {
    const pool = channels({ min: 1, max: 2, capacity: 2 })
    await pool.ready()
    const a = pool.tryAcquire({ shared: true })
    const b = pool.tryAcquire({ shared: true })
    assert.ok(a && b, 'two shared leases fit on the one resource')
    assert.equal(a.resource, b.resource)
    assert.equal(pool.tryAcquire({ shared: true }), undefined, 'the resource is at capacity and none is idle')
    assert.equal(pool.tryAcquire(), undefined, 'no idle resource for an exclusive caller either')
    assert.equal(pool.stats().total, 1, 'tryAcquire never creates')
    a.release()
    b.release()
    const ex = pool.tryAcquire()
    assert.ok(ex && !ex.shared)
    ex.release()
    assert.equal(pool.stats().counters.acquires, 3)
    await pool.close()
  })

  it('leaves the resource to callers already waiting', async () => {
    const pool = channels({ min: 1, max: 1, capacity: 1 })
    await pool.ready()
    const held = await pool.acquire()
    const waiting = pool.acquire()
    held.release()
    assert.equal(pool.tryAcquire(), undefined, 'the waiter is served first')
    ;(await waiting).release()
    await pool.close()
  })

  it('throws PoolClosedError once the pool is closing', async () => {
    const pool = channels({ max: 1, capacity: 1 })
    const closing = pool.close()
    assert.throws(() => pool.tryAcquire({ shared: true }), PoolClosedError)
    await closing
  })
})

describe('spreadShared', () => {
  it('puts shared leases on idle resources before doubling up, so load spreads evenly', async () => {
    const pool = channels({ min: 3, max: 3, capacity: 100, spreadShared: true })
    await pool.ready()
    const leases: Lease<Chan>[] = []
    for (let i = 0; i < 9; i++) leases.push(pool.tryAcquire({ shared: true })!)
    assert.deepEqual(perResource(leases), [3, 3, 3])
    for (const l of leases.filter((l) => l.resource.id === 2)) l.release()
    leases.push(pool.tryAcquire({ shared: true })!)
    assert.equal(leases.at(-1)!.resource.id, 2, 'the idle resource (fewest in flight) is picked')
    for (const l of leases) if (!l.released) l.release()
    await pool.close()
  })

  it('without it, shared leases fill the busy resource and leave idle ones idle', async () => {
    const pool = channels({ min: 3, max: 3, capacity: 100 })
    await pool.ready()
    const leases: Lease<Chan>[] = []
    for (let i = 0; i < 9; i++) leases.push(pool.tryAcquire({ shared: true })!)
    assert.deepEqual(perResource(leases), [9])
    assert.equal(pool.stats().idle, 2)
    for (const l of leases) l.release()
    await pool.close()
  })

  it('rejects a non-boolean value naming the option', () => {
    assert.throws(
      () => new Pool({ create: async () => 1, destroy: () => {}, spreadShared: 'yes' as unknown as boolean }),
      /spreadShared/,
    )
  })
})
