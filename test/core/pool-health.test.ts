import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { AcquireTimeoutError, Pool } from '../../src/core/index.js'
import { type Fake, createFakeFactory, createManualClock } from '../support/fake-resources.js'
import { until } from '../support/until.js'

/** A clock that reads the real time on every call. */
const exactClock = () => performance.now()

describe('resource lifetime', () => {
  it('an idle resource is lent until created + maxLifetimeMs + 10% default jitter * random(), then replaced', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      maxLifetimeMs: 1000,
      clock: clock.now,
      random: () => 0.999,
    })
    try {
      const first = await pool.acquire()
      const r1 = first.resource
      first.release()
      // Expiry: 0 + 1000 + 100 * 0.999 = 1099.9
      clock.set(1099)
      const second = await pool.acquire()
      assert.equal(second.resource, r1, 'still within its jittered lifetime')
      second.release()
      assert.equal(pool.stats().counters.destroys.lifetime, 0)

      clock.set(1100)
      const third = await pool.acquire()
      assert.notEqual(third.resource, r1, 'an expired idle resource is never lent')
      assert.equal(r1.destroyed, true)
      assert.equal(f.created.length, 2, 'a fresh one was made')
      assert.equal(pool.stats().counters.destroys.lifetime, 1)
      third.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('each resource draws its own jitter: expiry is created + maxLifetimeMs + maxLifetimeJitterMs * random()', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const draws = [0.5, 0.25]
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      maxLifetimeMs: 1000,
      maxLifetimeJitterMs: 400,
      clock: clock.now,
      random: () => draws.shift() ?? 0,
    })
    try {
      const a = await pool.acquire() // expires at 0 + 1000 + 400 * 0.5 = 1200
      clock.set(10)
      const b = await pool.acquire() // expires at 10 + 1000 + 400 * 0.25 = 1110
      const [ra, rb] = [a.resource, b.resource]
      a.release()
      b.release()

      clock.set(1150)
      const x = await pool.acquire()
      const y = await pool.acquire()
      const lent = new Set([x.resource, y.resource])
      assert.ok(lent.has(ra), 'the one with the longer jitter is still lent')
      assert.ok(!lent.has(rb), 'the one with the shorter jitter was retired')
      assert.equal(rb.destroyed, true)
      assert.equal(pool.stats().counters.destroys.lifetime, 1)
      x.release()
      y.release()

      clock.set(1200)
      const z = await pool.acquire()
      const w = await pool.acquire()
      assert.ok(z.resource !== ra && w.resource !== ra)
      assert.equal(ra.destroyed, true)
      assert.equal(pool.stats().counters.destroys.lifetime, 2)
      z.release()
      w.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('an idle resource past its lifetime is retired in the background and replaced up to min', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      min: 1,
      maxLifetimeMs: 60,
      maxLifetimeJitterMs: 0,
    })
    try {
      await pool.ready()
      const r1 = f.created[0]!
      await until(() => r1.destroyed && f.live() === 1, 2000, { message: 'expired resource not replaced' })
      assert.ok(pool.stats().counters.destroys.lifetime >= 1)
      assert.equal(pool.stats().total >= 1, true)
      assert.ok(f.created.length >= 2)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a leased resource past its lifetime is retired when it is released, not under its holder', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      maxLifetimeMs: 40, // maintenance every 20 ms (real time)
      maxLifetimeJitterMs: 0,
      clock: clock.now,
    })
    try {
      const lease = await pool.acquire()
      clock.set(10_000)
      await sleep(100) // several maintenance runs see it expired
      assert.equal(f.calls.destroy, 0, 'not destroyed while held')
      assert.equal(lease.resource.destroyed, false)
      assert.equal(pool.stats().leased, 1)
      lease.release()
      await until(() => f.calls.destroy === 1, 2000)
      assert.equal(lease.resource.destroyed, true)
      assert.equal(pool.stats().counters.destroys.lifetime, 1)
      assert.equal(pool.stats().total, 0)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a shared resource past its lifetime is retired when its last shared lease comes back', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      capacity: 2,
      maxLifetimeMs: 40,
      maxLifetimeJitterMs: 0,
      clock: clock.now,
    })
    try {
      const a = await pool.acquire({ shared: true })
      const b = await pool.acquire({ shared: true })
      assert.equal(a.resource, b.resource)
      clock.set(10_000)
      await sleep(60)
      a.release()
      assert.equal(f.calls.destroy, 0, 'still in use by the other shared lease')
      b.release()
      await until(() => f.calls.destroy === 1, 2000)
      assert.equal(pool.stats().counters.destroys.lifetime, 1)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })
})

describe('idle reaping', () => {
  it('maxIdleMs reaps idle resources above min but never below min', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      min: 1,
      max: 4,
      maxIdleMs: 60, // maintenance every 30 ms, although healthCheckPeriodMs is 60 s
    })
    try {
      await pool.ready()
      const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
      assert.equal(pool.stats().total, 3)
      for (const l of leases) l.release()
      await until(() => pool.stats().counters.destroys.idle === 2, 2000, {
        message: 'idle resources not reaped',
      })
      await sleep(150)
      const s = pool.stats()
      assert.equal(s.counters.destroys.idle, 2, 'reaping stops at min')
      assert.equal(s.total, 1)
      assert.equal(s.idle, 1)
      assert.equal(f.live(), 1)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('maxIdleMs never reaps a pool that is at min', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, min: 2, max: 4, maxIdleMs: 20 })
    try {
      await pool.ready()
      await sleep(120)
      assert.equal(pool.stats().counters.destroys.idle, 0)
      assert.equal(pool.stats().idle, 2)
      assert.equal(f.calls.destroy, 0)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })
  it('maxIdleMs never reaps below minIdle idle resources', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, minIdle: 2, max: 4, maxIdleMs: 20 })
    try {
      await until(() => pool.stats().idle === 2, 2000)
      const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
      for (const l of leases) l.release()
      await until(() => pool.stats().counters.destroys.idle >= 1, 2000, { message: 'nothing reaped' })
      await sleep(100)
      assert.equal(pool.stats().idle, 2)
      assert.equal(f.live(), 2)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })
})

describe('background health check', () => {
  it('validates idle resources every healthCheckPeriodMs and replaces failing ones up to min', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: f.validate,
      min: 2,
      healthCheckPeriodMs: 40,
      validateAfterIdleMs: 10,
    })
    try {
      await pool.ready()
      const [r1, r2] = f.created as [Fake, Fake]
      f.setHealthy(r1, false)
      await until(() => pool.stats().counters.destroys.health === 1, 2000, { message: 'no health failure' })
      assert.equal(r1.destroyed, true)
      assert.equal(r2.destroyed, false)
      assert.ok(pool.stats().counters.validationFailures >= 1)
      await until(() => f.live() === 2 && pool.stats().idle === 2, 2000, {
        message: 'not replaced up to min',
      })
      assert.equal(f.created.length, 3)
      assert.ok(f.calls.validate >= 2, 'the healthy one was validated too')
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('the background check skips idle resources checked less than validateAfterIdleMs ago', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: f.validate,
      min: 2,
      healthCheckPeriodMs: 20,
      validateAfterIdleMs: 60_000,
    })
    try {
      await pool.ready()
      await sleep(120)
      assert.equal(f.calls.validate, 0)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a health-check run that started late does not make the next one skip its turn', async () => {
    // The maintenance timer fires every healthCheckPeriodMs. This clock reads one value per timer
    // turn: turn n reads n * PERIOD, except that turn 1 ran 5 ms late. The check of turn 2 is then
    // due on schedule (2 * PERIOD), although less than PERIOD has passed since turn 1's late start.
    const PERIOD = 30
    const f = createFakeFactory()
    let scripted = false
    let turn = 0
    let inTurn = false
    const clock = () => {
      if (!scripted) return 0
      if (!inTurn) {
        inTurn = true
        turn++
        setImmediate(() => {
          inTurn = false
        })
      }
      return turn * PERIOD + (turn === 1 ? 5 : 0)
    }
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: f.validate,
      min: 1,
      healthCheckPeriodMs: PERIOD,
      validateAfterIdleMs: 0,
      clock,
    })
    try {
      await pool.ready()
      scripted = true
      await until(() => turn >= 4, 2000, { message: 'maintenance did not run' })
      const turns = turn
      assert.equal(f.calls.validate, turns, `${f.calls.validate} health checks in ${turns} periods`)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })
})

describe('validate on acquire', () => {
  async function leaseOnce(pool: Pool<Fake>): Promise<Fake> {
    const lease = await pool.acquire()
    lease.release()
    return lease.resource
  }

  it('a resource idle longer than validateAfterIdleMs (default 1000) is validated before it is lent; a fresher one is not', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: f.validate,
      clock: clock.now,
    })
    try {
      const r1 = await leaseOnce(pool) // released at t=0
      clock.set(900)
      assert.equal(await leaseOnce(pool), r1)
      assert.equal(f.calls.validate, 0, 'idle 900 ms: not validated')
      clock.set(1901)
      assert.equal(await leaseOnce(pool), r1)
      assert.equal(f.calls.validate, 1, 'idle 1001 ms: validated, and lent since healthy')
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a resource idle for exactly validateAfterIdleMs or less is lent without validation, one idle longer is validated', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: f.validate,
      clock: clock.now,
    })
    try {
      const r1 = await leaseOnce(pool)
      clock.set(1000)
      assert.equal(await leaseOnce(pool), r1)
      assert.equal(f.calls.validate, 0)
      clock.set(2001)
      assert.equal(await leaseOnce(pool), r1)
      assert.equal(f.calls.validate, 1)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a failed validation destroys the resource and the caller gets a freshly created one without an error', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: f.validate,
      clock: clock.now,
    })
    try {
      const r1 = await leaseOnce(pool)
      f.setHealthy(r1, false)
      clock.advance(1001)
      const lease = await pool.acquire()
      assert.notEqual(lease.resource, r1)
      assert.equal(lease.resource.id, 2)
      assert.equal(r1.destroyed, true)
      const s = pool.stats()
      assert.equal(s.counters.validationFailures, 1)
      assert.equal(s.counters.destroys.health, 1)
      assert.equal(s.counters.creates, 2)
      lease.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a validate that throws counts as unhealthy', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: (r) => {
        if (r.id === 1) throw new Error('connection reset')
        return true
      },
      clock: clock.now,
    })
    try {
      const r1 = await leaseOnce(pool)
      clock.advance(5000)
      const lease = await pool.acquire()
      assert.equal(lease.resource.id, 2)
      assert.equal(r1.destroyed, true)
      assert.equal(pool.stats().counters.validationFailures, 1)
      lease.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a validate that resolves to undefined counts as healthy', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: async () => undefined,
      clock: clock.now,
    })
    try {
      const r1 = await leaseOnce(pool)
      clock.advance(5000)
      assert.equal(await leaseOnce(pool), r1)
      assert.equal(pool.stats().counters.validationFailures, 0)
      assert.equal(f.calls.destroy, 0)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a validate that hangs counts as unhealthy after validateTimeoutMs, and its signal aborts', async () => {
    const f = createFakeFactory()
    const clock = createManualClock(0)
    const signals: AbortSignal[] = []
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: (_r, signal) => {
        signals.push(signal)
        return new Promise<boolean>(() => {})
      },
      validateAfterIdleMs: 0,
      validateTimeoutMs: 50,
      clock: clock.now,
    })
    try {
      const r1 = await leaseOnce(pool)
      clock.advance(10)
      const lease = await pool.acquire()
      assert.notEqual(lease.resource, r1)
      assert.equal(r1.destroyed, true)
      assert.equal(signals.length, 1)
      assert.equal(signals[0]!.aborted, true)
      assert.equal(pool.stats().counters.validationFailures, 1)
      assert.equal(pool.stats().counters.destroys.health, 1)
      lease.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a caller whose idle resource failed validation still times out after its acquire timeout', async () => {
    // Regression: the waiter is put back in the queue after its validation failed; if its deadline timer
    // is not re-armed then, this acquire waits forever when the replacement create never arrives.
    const f = createFakeFactory()
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: f.validate,
      validateAfterIdleMs: 0,
      clock: exactClock, // real time, so that the deadline passes
    })
    try {
      const r1 = await leaseOnce(pool)
      f.setHealthy(r1, false)
      f.stallNext(1) // the replacement never arrives
      await sleep(2)
      const outcome = await Promise.race([
        pool.acquire({ timeoutMs: 100 }).then(
          (lease) => {
            lease.release()
            return 'lent'
          },
          (err: unknown) => err,
        ),
        sleep(1000, 'still waiting after 1000 ms'),
      ])
      assert.ok(
        outcome instanceof AcquireTimeoutError,
        `expected AcquireTimeoutError, got: ${String(outcome)}`,
      )
      assert.equal(pool.stats().counters.timeouts, 1)
    } finally {
      await pool.destroy()
    }
  })

  it('with the default clock, a resource idle longer than validateAfterIdleMs is validated even when the idle time passed within one event-loop turn', async () => {
    // The default clock must not hand out a reading taken in an earlier event-loop turn: here the
    // resource is released in the check phase, 40 ms pass, and it is acquired again from a timer that
    // runs before the next check phase.
    const f = createFakeFactory()
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      validate: f.validate,
      validateAfterIdleMs: 20,
    })
    try {
      await leaseOnce(pool)
      await new Promise<void>((resolve) => setImmediate(resolve))
      const r1 = await leaseOnce(pool) // released now, in the check phase
      const timerTurn = sleep(0)
      const busyUntil = performance.now() + 40
      while (performance.now() < busyUntil) {
        // 40 ms pass without the event loop turning
      }
      await timerTurn
      const validationsBefore = f.calls.validate
      const lease = await pool.acquire() // idle >= 40 ms > validateAfterIdleMs
      assert.equal(lease.resource, r1)
      assert.equal(
        f.calls.validate,
        validationsBefore + 1,
        'a resource idle 40 ms was lent without validation (validateAfterIdleMs: 20)',
      )
      lease.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })
})

describe('invalidate()', () => {
  it('an idle resource is destroyed at once with reason error and replaced up to min', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, min: 1 })
    try {
      await pool.ready()
      const r1 = f.created[0]!
      assert.equal(pool.invalidate(r1), true)
      assert.equal(pool.stats().counters.destroys.error, 1, 'counted at once')
      assert.equal(pool.stats().idle, 0, 'out of the pool at once')
      await until(() => r1.destroyed, 2000, { message: 'destroy callback not called' })
      await until(() => pool.stats().idle === 1 && f.created.length === 2, 2000, { message: 'not replaced' })
      assert.equal(pool.invalidate(r1), false, 'no longer in the pool')
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a leased resource is destroyed when it is released, not before', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy })
    try {
      const lease = await pool.acquire()
      assert.equal(pool.invalidate(lease.resource), true)
      await sleep(10)
      assert.equal(lease.resource.destroyed, false)
      assert.equal(pool.stats().counters.destroys.error, 0)
      lease.release()
      await until(() => lease.resource.destroyed, 2000)
      assert.equal(pool.stats().counters.destroys.error, 1)
      const next = await pool.acquire()
      assert.notEqual(next.resource, lease.resource)
      next.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('returns false for a resource the pool does not know', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, min: 1 })
    try {
      await pool.ready()
      assert.equal(pool.invalidate({ id: 99, healthy: true, destroyed: false }), false)
      assert.equal(pool.stats().counters.destroys.error, 0)
      assert.equal(pool.stats().idle, 1)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })
})

describe('minIdle', () => {
  it('minIdle resources are made at start', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, minIdle: 2, max: 5 })
    try {
      await until(() => pool.stats().idle === 2, 2000)
      await sleep(20)
      assert.equal(f.created.length, 2, 'no more than minIdle')
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('minIdle is refilled by maintenance and bounded by max', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: f.destroy,
      minIdle: 2,
      max: 3,
      healthCheckPeriodMs: 20,
    })
    try {
      await until(() => pool.stats().idle === 2, 2000)
      const a = await pool.acquire()
      await until(() => pool.stats().idle === 2, 2000, { message: 'minIdle not refilled after an acquire' })
      assert.equal(pool.stats().total, 3)
      const b = await pool.acquire()
      await sleep(80)
      const s = pool.stats()
      assert.equal(s.total, 3, 'max bounds minIdle')
      assert.equal(s.idle, 1)
      a.release()
      b.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })
})
