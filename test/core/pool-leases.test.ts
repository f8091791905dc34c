import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { LeaseReleasedError, Pool } from '../../src/core/index.js'

interface Res {
  id: number
  destroyed: boolean
}

function counting(extra: Partial<ConstructorParameters<typeof Pool<Res>>[0]> = {}) {
  let next = 0
  const created: Res[] = []
  const pool = new Pool<Res>({
    create: async () => {
      const r = { id: ++next, destroyed: false }
      created.push(r)
      return r
    },
    destroy: (r) => {
      r.destroyed = true
    },
    ...extra,
  })
  return { pool, created }
}

describe('sizing', () => {
  it('creates resources lazily, only as demand needs them, up to max', async () => {
    const { pool, created } = counting({ max: 3 })
    await sleep(5)
    assert.equal(created.length, 0, 'nothing is created before the first acquire')
    const a = await pool.acquire()
    assert.equal(created.length, 1)
    const b = await pool.acquire()
    const c = await pool.acquire()
    assert.equal(created.length, 3)
    const d = pool.acquire({ timeoutMs: 30 })
    await assert.rejects(d, { code: 'BERTH_ACQUIRE_TIMEOUT' })
    assert.equal(created.length, 3, 'never more than max')
    for (const l of [a, b, c]) l.release()
    await pool.close()
  })

  it('creates min resources eagerly at start and refills them after a loss', async () => {
    const { pool, created } = counting({ min: 2, max: 4 })
    await pool.ready()
    assert.equal(created.length, 2)
    assert.equal(pool.stats().idle, 2)
    const lease = await pool.acquire()
    lease.destroy()
    await sleep(5)
    assert.equal(pool.stats().total, 2, 'refilled to min')
    assert.equal(created.length, 3)
    await pool.close()
    assert.ok(created.every((r) => r.destroyed))
  })
})

describe('exclusive leases', () => {
  it('lends the resource to one holder at a time and takes it back on release', async () => {
    const { pool } = counting({ max: 1 })
    const a = await pool.acquire()
    assert.equal(a.shared, false)
    assert.equal(pool.stats().leased, 1)
    const pending = pool.acquire()
    let got = false
    void pending.then(() => {
      got = true
    })
    await sleep(5)
    assert.equal(got, false, 'the second caller waits while the first holds it')
    a.release()
    const b = await pending
    assert.equal(b.resource, a.resource)
    b.release()
    assert.equal(pool.stats().idle, 1)
    await pool.close()
  })

  it('destroys a resource given back with destroy() and never lends it again', async () => {
    const { pool, created } = counting({ max: 1 })
    const a = await pool.acquire()
    a.destroy(new Error('broken'))
    const b = await pool.acquire()
    assert.notEqual(b.resource, a.resource)
    assert.equal(created[0]?.destroyed, true)
    assert.equal(pool.stats().counters.destroys.error, 1)
    b.release()
    await pool.close()
  })

  it('refuses a double release with a typed error and keeps its books straight', async () => {
    const { pool } = counting({ max: 2 })
    const a = await pool.acquire()
    a.release()
    assert.throws(() => a.release(), LeaseReleasedError)
    assert.throws(() => a.destroy(), { code: 'BERTH_LEASE_RELEASED' })
    const s = pool.stats()
    assert.equal(s.idle, 1)
    assert.equal(s.leased, 0)
    assert.equal(s.counters.releases, 1)
    await pool.close()
  })

  it('releases the lease at the end of an await using block, even when the block throws', async () => {
    const { pool } = counting({ max: 1 })
    await assert.rejects(async () => {
      await using lease = await pool.acquire()
      assert.equal(pool.stats().leased, 1)
      assert.ok(lease.resource)
      throw new Error('boom')
    }, /boom/)
    assert.equal(pool.stats().leased, 0)
    assert.equal(pool.stats().idle, 1)
    {
      await using lease = await pool.acquire()
      lease.release() // an explicit release inside the block is fine too
    }
    assert.equal(pool.stats().counters.releases, 2)
    await pool.close()
  })

  it('reuses idle resources last-in-first-out', async () => {
    const { pool } = counting({ max: 3 })
    const [a, b, c] = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
    a!.release()
    b!.release()
    c!.release()
    const next = await pool.acquire()
    assert.equal(next.resource, c!.resource, 'the most recently released comes first')
    next.release()
    await pool.close()
  })
})

describe('types', () => {
  it('accepts a validator that resolves to nothing (healthy unless it throws)', async () => {
    let pings = 0
    let t = 0
    const pool = new Pool<Res>({
      create: async () => ({ id: 1, destroyed: false }),
      destroy: () => {},
      // Must typecheck: `npm test` runs tsc over the tests.
      validate: async () => {
        pings++
      },
      validateAfterIdleMs: 0,
      clock: () => {
        t += 10
        return t
      },
    })
    ;(await pool.acquire()).release()
    const again = await pool.acquire()
    assert.equal(pings, 1, 'validated before reuse')
    assert.equal(again.resource.id, 1, 'and found healthy')
    again.release()
    await pool.close()
  })
})
