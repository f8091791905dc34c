import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  CreateFailedError,
  type Lease,
  Pool,
  QueueFullError,
} from '../../src/core/index.js'
import { type Fake, createFakeFactory, createManualClock } from '../support/fake-resources.js'
import { until } from '../support/until.js'

describe('stats() gauges', () => {
  it('returns a frozen snapshot, with frozen counters, destroys, acquireWaitMs and resourceAgeMs', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy })
    try {
      const lease = await pool.acquire()
      lease.release()
      const s = pool.stats()
      assert.ok(Object.isFrozen(s))
      assert.ok(Object.isFrozen(s.counters))
      assert.ok(Object.isFrozen(s.counters.destroys))
      assert.ok(Object.isFrozen(s.acquireWaitMs))
      assert.ok(Object.isFrozen(s.resourceAgeMs))
      assert.throws(() => {
        ;(s as { total: number }).total = 99
      }, TypeError)
      assert.throws(() => {
        ;(s.counters as { acquires: number }).acquires = 99
      }, TypeError)
      assert.throws(() => {
        ;(s.counters.destroys as { close: number }).close = 99
      }, TypeError)
      const again = await pool.acquire()
      again.release()
      assert.equal(s.counters.acquires, 1, 'a snapshot does not change afterwards')
      assert.equal(pool.stats().counters.acquires, 2)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('counts leased, shared, idle and waiting resources in a known situation', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ name: 'gauges', create: f.create, destroy: f.destroy, max: 3, capacity: 2 })
    const leases: Lease<Fake>[] = []
    try {
      const a = await pool.acquire()
      const s1 = await pool.acquire({ shared: true })
      const s2 = await pool.acquire({ shared: true })
      assert.equal(s1.resource, s2.resource, 'both shared leases ride one resource')
      const b = await pool.acquire()
      b.release()
      leases.push(a, s1, s2)

      const before = pool.stats()
      assert.equal(before.name, 'gauges')
      assert.equal(before.state, 'open')
      assert.equal(before.total, 3)
      assert.equal(before.idle, 1)
      assert.equal(before.leased, 1)
      assert.equal(before.shared, 1)
      assert.equal(before.sharedLeases, 2)
      assert.equal(before.creating, 0)
      assert.equal(before.waiting, 0)
      assert.equal(before.max, 3)
      assert.equal(before.min, 0)

      const c = await pool.acquire()
      leases.push(c)
      const d = pool.acquire()
      const e = pool.acquire()
      await sleep(5)
      const during = pool.stats()
      assert.equal(during.total, 3)
      assert.equal(during.idle, 0)
      assert.equal(during.leased, 2)
      assert.equal(during.shared, 1)
      assert.equal(during.sharedLeases, 2)
      assert.equal(during.waiting, 2)
      assert.equal(during.creating, 0)

      a.release()
      c.release()
      const [dl, el] = await Promise.all([d, e])
      leases.push(dl, el)
      assert.equal(pool.stats().waiting, 0)
    } finally {
      for (const l of leases) if (!l.released) l.release()
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('counts a create in progress in creating and total', async () => {
    const f = createFakeFactory()
    f.stallNext(1)
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, max: 2 })
    const pending = pool.acquire().catch((err: unknown) => err)
    try {
      await until(() => f.calls.create === 1, 2000)
      const s = pool.stats()
      assert.equal(s.creating, 1)
      assert.equal(s.total, 1)
      assert.equal(s.waiting, 1)
      assert.equal(s.idle, 0)
    } finally {
      await pool.destroy()
      await pending
    }
  })
})

describe('stats() counters', () => {
  it('count acquires, waited acquires, timeouts, cancellations, creates and create failures', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      max: 1,
      random: () => 0, // no backoff delay after the create failure
    })
    try {
      const first = await pool.acquire() // waits for the create
      first.release()
      const second = await pool.acquire() // served at once
      let s = pool.stats()
      assert.equal(s.counters.acquires, 2)
      assert.equal(s.counters.waitedAcquires, 1)
      assert.equal(s.counters.creates, 1)

      await assert.rejects(pool.acquire({ timeoutMs: 20 }), AcquireTimeoutError)
      const ac = new AbortController()
      const aborted = pool.acquire({ signal: ac.signal })
      ac.abort(new Error('caller gave up'))
      await assert.rejects(aborted, AcquireAbortedError)
      s = pool.stats()
      assert.equal(s.counters.acquires, 4)
      assert.equal(s.counters.waitedAcquires, 3)
      assert.equal(s.counters.timeouts, 1)
      assert.equal(s.counters.cancellations, 1)

      second.destroy(new Error('broken'))
      f.failNext(1)
      await assert.rejects(pool.acquire(), CreateFailedError)
      const third = await pool.acquire()
      third.release()
      s = pool.stats()
      assert.equal(s.counters.acquires, 6)
      assert.equal(s.counters.createFailures, 1)
      assert.equal(s.counters.creates, 2)
      assert.equal(s.counters.releases, 3)
      assert.equal(s.counters.destroys.error, 1)
      assert.equal(s.consecutiveCreateFailures, 0)
      assert.equal(s.lastCreateError, 'fake create failed')
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('count destroys by reason: error, health, lifetime, idle and close', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: f.validate,
      max: 5,
      maxLifetimeMs: 10_000,
      maxLifetimeJitterMs: 0,
      maxIdleMs: 40, // maintenance every 20 ms of real time, judging idleness on the manual clock
      validateAfterIdleMs: 20,
      clock: clock.now,
    })
    try {
      const broken = await pool.acquire()
      broken.destroy()
      assert.deepEqual(
        { ...pool.stats().counters.destroys },
        { lifetime: 0, idle: 0, health: 0, error: 1, close: 0 },
      )

      const l2 = await pool.acquire()
      const r2 = l2.resource
      l2.release()
      f.setHealthy(r2, false)
      clock.set(30) // idle 30 ms: above validateAfterIdleMs, below maxIdleMs
      const held = await pool.acquire()
      assert.notEqual(held.resource, r2)
      assert.equal(pool.stats().counters.destroys.health, 1)

      clock.set(10_030) // held was created at 30: it expires now, under its holder
      held.release()
      assert.equal(pool.stats().counters.destroys.lifetime, 1)

      const l4 = await pool.acquire()
      l4.release()
      clock.set(10_100)
      await until(() => pool.stats().counters.destroys.idle === 1, 2000, {
        message: 'idle resource not reaped',
      })

      const l5 = await pool.acquire()
      l5.release()
      await pool.close()
      assert.deepEqual(
        { ...pool.stats().counters.destroys },
        { lifetime: 1, idle: 1, health: 1, error: 1, close: 1 },
      )
      assert.equal(pool.stats().counters.creates, 5)
      assert.equal(f.calls.destroy, 5)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('count queue-full refusals', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, max: 1, maxWaiting: 1 })
    try {
      const held = await pool.acquire()
      const waiting = pool.acquire()
      await assert.rejects(pool.acquire(), (err: unknown) => {
        assert.ok(err instanceof QueueFullError)
        assert.equal(err.context.waiting, 1)
        return true
      })
      assert.equal(pool.stats().counters.queueFull, 1)
      held.release()
      ;(await waiting).release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })
})

describe('stats().acquireWaitMs', () => {
  it('percentiles come from a histogram of the wait of every acquire (manual clock)', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, max: 1, clock: clock.now })
    try {
      for (let i = 0; i < 91; i++) (await pool.acquire()).release() // the first waits for a create at t=0
      for (let i = 0; i < 10; i++) {
        const hold = await pool.acquire()
        const waiter = pool.acquire()
        clock.advance(100)
        hold.release()
        ;(await waiter).release()
      }
      const w = pool.stats().acquireWaitMs
      assert.equal(w.count, 111)
      assert.ok(w.p50 < 0.01, `p50 ${w.p50}`)
      assert.ok(w.p99 >= 99 && w.p99 <= 101, `p99 ${w.p99}`)
      assert.ok(w.max >= 99 && w.max <= 101, `max ${w.max}`)
      assert.ok(Math.abs(w.mean - 1000 / 111) < 0.5, `mean ${w.mean}`)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('percentiles keep the true proportions when many instant acquires share one clock reading', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, max: 1, clock: clock.now })
    try {
      for (let i = 0; i < 70; i++) (await pool.acquire()).release() // 70 waits of 0 ms, all at t=0
      for (let i = 0; i < 10; i++) {
        const hold = await pool.acquire() // waits 0 ms
        const waiter = pool.acquire()
        clock.advance(100)
        hold.release()
        ;(await waiter).release() // waited 100 ms
      }
      const w = pool.stats().acquireWaitMs
      assert.equal(w.count, 90)
      assert.ok(w.max >= 99 && w.max <= 101, `max ${w.max}`)
      // 80 of the 90 acquires waited 0 ms, so the median wait is 0.
      assert.ok(w.p50 < 0.01, `p50 is ${w.p50} ms although 80 of 90 acquires waited 0 ms`)
      assert.ok(w.p99 >= 99 && w.p99 <= 101, `p99 ${w.p99}`)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a real ~100 ms wait shows in p99 and max while p50 stays small', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, max: 1, min: 1 })
    try {
      await pool.ready()
      for (let i = 0; i < 19; i++) (await pool.acquire()).release()
      const hold = await pool.acquire()
      const waiter = pool.acquire()
      await sleep(100)
      hold.release()
      ;(await waiter).release()
      const w = pool.stats().acquireWaitMs
      assert.equal(w.count, 21)
      assert.ok(w.p50 < 5, `p50 ${w.p50}`)
      assert.ok(w.p99 >= 90, `p99 ${w.p99}`)
      assert.ok(w.max >= 90, `max ${w.max}`)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })
})

describe('diagnostics and error messages', () => {
  it("publishes create, acquire, release and destroy on diagnostics_channel with the pool's name", async () => {
    const seen: { channel: string; message: Record<string, unknown> }[] = []
    const names = ['berth:pool:create', 'berth:pool:acquire', 'berth:pool:release', 'berth:pool:destroy']
    const handlers = names.map((channel) => {
      const fn = (message: unknown) => {
        const m = message as Record<string, unknown>
        if (m.pool === 'diag-pool') seen.push({ channel, message: m })
      }
      diagnostics.subscribe(channel, fn)
      return [channel, fn] as const
    })
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ name: 'diag-pool', create: f.create, destroy: f.destroy })
    try {
      const lease = await pool.acquire()
      lease.release()
      const again = await pool.acquire()
      const broken = new Error('socket hang up')
      again.destroy(broken)
      await until(() => seen.some((s) => s.channel === 'berth:pool:destroy'), 2000)
      const of = (channel: string) => seen.filter((s) => s.channel === channel).map((s) => s.message)
      assert.deepEqual(of('berth:pool:create'), [{ pool: 'diag-pool' }])
      assert.deepEqual(of('berth:pool:acquire'), [
        { pool: 'diag-pool', shared: false },
        { pool: 'diag-pool', shared: false },
      ])
      assert.deepEqual(of('berth:pool:release'), [
        { pool: 'diag-pool', shared: false, destroy: false, cause: undefined },
        { pool: 'diag-pool', shared: false, destroy: true, cause: broken },
      ])
      assert.deepEqual(of('berth:pool:destroy'), [{ pool: 'diag-pool', reason: 'error' }])
    } finally {
      for (const [channel, fn] of handlers) diagnostics.unsubscribe(channel, fn)
      await pool.close({ timeoutMs: 500 })
    }
  })

  it("AcquireTimeoutError names the pool and carries the pool's counts in its message and context", async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ name: 'orders-db', create: f.create, destroy: f.destroy, max: 1 })
    try {
      const held = await pool.acquire()
      await assert.rejects(pool.acquire({ timeoutMs: 20 }), (err: unknown) => {
        assert.ok(err instanceof AcquireTimeoutError)
        assert.equal(err.code, 'BERTH_ACQUIRE_TIMEOUT')
        assert.equal(err.timeoutMs, 20)
        assert.ok(err.message.includes("'orders-db'"), err.message)
        assert.ok(err.message.includes('waiting=1'), err.message)
        assert.ok(err.message.includes('leased=1'), err.message)
        assert.ok(err.message.includes('max=1'), err.message)
        assert.deepEqual(err.context, {
          pool: 'orders-db',
          total: 1,
          idle: 0,
          leased: 1,
          shared: 0,
          creating: 0,
          waiting: 1,
          max: 1,
        })
        return true
      })
      held.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it("CreateFailedError names the pool, the failure count and the factory's error", async () => {
    const f = createFakeFactory()
    const cause = new Error('ECONNREFUSED 127.0.0.1:5432')
    f.failNext(1, cause)
    const pool = new Pool<Fake>({ name: 'billing', create: f.create, destroy: f.destroy })
    try {
      await assert.rejects(pool.acquire(), (err: unknown) => {
        assert.ok(err instanceof CreateFailedError)
        assert.equal(err.cause, cause)
        assert.equal(err.consecutiveFailures, 1)
        assert.ok(err.message.includes("'billing'"), err.message)
        assert.ok(err.message.includes('ECONNREFUSED'), err.message)
        assert.ok(err.message.includes('1 consecutive failure'), err.message)
        assert.equal(err.context.pool, 'billing')
        return true
      })
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })
})
