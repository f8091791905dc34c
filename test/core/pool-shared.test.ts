import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Lease, Pool } from '../../src/core/index.js'

interface Chan {
  id: number
}

function channels(max: number, capacity: number | ((c: Chan) => number)) {
  let next = 0
  return new Pool<Chan>({ create: async () => ({ id: ++next }), destroy: () => {}, max, capacity })
}

function inFlight(leases: Lease<Chan>[]): Map<number, number> {
  const m = new Map<number, number>()
  for (const l of leases) if (!l.released) m.set(l.resource.id, (m.get(l.resource.id) ?? 0) + 1)
  return m
}

describe('shared leases', () => {
  it('puts up to capacity shared leases on one resource before creating another', async () => {
    const pool = channels(4, 3)
    const leases: Lease<Chan>[] = []
    for (let i = 0; i < 3; i++) leases.push(await pool.acquire({ shared: true }))
    assert.equal(pool.stats().total, 1, 'three leases fit on one resource of capacity 3')
    assert.deepEqual([...inFlight(leases).values()], [3])
    leases.push(await pool.acquire({ shared: true }))
    assert.equal(pool.stats().total, 2, 'a new resource only when every one is at capacity')
    assert.equal(pool.stats().sharedLeases, 4)
    for (const l of leases) l.release()
    assert.equal(pool.stats().sharedLeases, 0)
    assert.equal(pool.stats().idle, 2)
    await pool.close()
  })

  it('picks the resource with the fewest leases in flight', async () => {
    const pool = channels(2, 4)
    const leases: Lease<Chan>[] = []
    for (let i = 0; i < 5; i++) leases.push(await pool.acquire({ shared: true }))
    // resource 1 is full (4), resource 2 has 1; free two on resource 1
    const onFirst = leases.filter((l) => l.resource.id === 1)
    onFirst[0]!.release()
    onFirst[1]!.release()
    // now 1 has 2, 2 has 1: the next lease goes to 2
    const next = await pool.acquire({ shared: true })
    assert.equal(next.resource.id, 2)
    leases.push(next)
    const again = await pool.acquire({ shared: true })
    // 1 has 2, 2 has 2: either is fine, but it must be balanced afterwards
    leases.push(again)
    const counts = inFlight(leases)
    assert.ok(Math.abs((counts.get(1) ?? 0) - (counts.get(2) ?? 0)) <= 1, JSON.stringify([...counts]))
    for (const l of leases) if (!l.released) l.release()
    await pool.close()
  })

  it('draws exclusive and shared leases from one max budget', async () => {
    const pool = channels(2, 10)
    const ex = await pool.acquire()
    const sh = await pool.acquire({ shared: true })
    assert.equal(pool.stats().total, 2)
    assert.notEqual(ex.resource, sh.resource)
    await assert.rejects(pool.acquire({ timeoutMs: 20 }), { code: 'BERTH_ACQUIRE_TIMEOUT' })
    // a shared caller still fits on the shared resource
    const sh2 = await pool.acquire({ shared: true, timeoutMs: 20 })
    assert.equal(sh2.resource, sh.resource)
    for (const l of [ex, sh, sh2]) l.release()
    await pool.close()
  })

  it('reads capacity from a function of the resource when it is created', async () => {
    const pool = channels(3, (c) => c.id * 2) // 2, 4, 6
    const leases: Lease<Chan>[] = []
    for (let i = 0; i < 6; i++) leases.push(await pool.acquire({ shared: true }))
    const counts = inFlight(leases)
    assert.equal(counts.get(1), 2)
    assert.equal(counts.get(2), 4)
    assert.equal(pool.stats().total, 2)
    for (const l of leases) l.release()
    await pool.close()
  })

  it('never starves an exclusive caller behind a steady stream of shared ones', async () => {
    const pool = channels(2, 2)
    let stop = false
    let sharedServed = 0
    // six shared workers keep both resources at capacity all the time
    const workers = Array.from({ length: 6 }, async () => {
      for (let i = 0; i < 500 && !stop; i++) {
        const l = await pool.acquire({ shared: true, timeoutMs: 5000 })
        sharedServed++
        await sleep(2)
        l.release()
      }
    })
    await sleep(20)
    assert.equal(pool.stats().total, 2)
    assert.equal(pool.stats().sharedLeases, 4)
    const lease = await pool.acquire({ timeoutMs: 3000 })
    assert.equal(lease.shared, false)
    assert.equal(pool.stats().leased, 1, 'one resource is held exclusively while shared traffic goes on')
    const before = sharedServed
    await sleep(20)
    assert.ok(sharedServed > before, 'shared callers keep being served on the other resource')
    lease.release()
    stop = true
    await Promise.all(workers)
    await pool.close()
  })

  it('skips resources that canShare turns down, creating another while under max', async () => {
    let next = 0
    const busy = new Set<number>()
    const pool = new Pool<Chan>({
      create: async () => ({ id: ++next }),
      destroy: () => {},
      max: 2,
      capacity: 10,
      canShare: (c) => !busy.has(c.id),
    })
    const a = await pool.acquire({ shared: true })
    assert.equal(a.resource.id, 1)
    busy.add(1) // say its oldest query is slow
    const b = await pool.acquire({ shared: true })
    assert.equal(b.resource.id, 2, 'a new resource rather than queueing behind the slow one')
    busy.add(2)
    const c = pool.acquire({ shared: true, timeoutMs: 2000 })
    busy.delete(1)
    a.release() // an event on resource 1 lets the waiter in
    const lease = await c
    assert.equal(lease.resource.id, 1)
    for (const l of [b, lease]) l.release()
    await pool.close()
  })

  it('retires a shared resource given back as broken once its other leases are done', async () => {
    const pool = channels(1, 3)
    const a = await pool.acquire({ shared: true })
    const b = await pool.acquire({ shared: true })
    a.destroy(new Error('stream reset'))
    assert.equal(pool.stats().counters.destroys.error, 0, 'b still uses it')
    const c = pool.acquire({ shared: true })
    b.release()
    const fresh = await c
    assert.notEqual(fresh.resource, a.resource, 'the broken resource gets no new leases')
    assert.equal(pool.stats().counters.destroys.error, 1)
    fresh.release()
    await pool.close()
  })
})
