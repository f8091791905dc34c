import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { BerthError, type Lease, Pool } from '../../src/core/index.js'
import { seededRandom } from '../support/random.js'

interface Fake {
  id: number
  capacity: number
  destroyed: boolean
  exclusive: number
  shared: number
  healthy: boolean
}

const EXPECTED_CODES = new Set([
  'BERTH_ACQUIRE_TIMEOUT',
  'BERTH_ACQUIRE_ABORTED',
  'BERTH_QUEUE_FULL',
  'BERTH_CREATE_FAILED',
  'BERTH_POOL_CLOSED',
])

async function stress(seed: number, opts: { workers: number; ops: number; max: number }) {
  const rand = seededRandom(seed)
  const pick = (p: number) => rand() < p
  const created: Fake[] = []
  const violations: string[] = []
  const violate = (msg: string) => {
    if (violations.length < 20) violations.push(msg)
  }
  let nextId = 0
  let live = 0

  const pool = new Pool<Fake>({
    name: `stress-${seed}`,
    max: opts.max,
    min: 1,
    maxWaiting: opts.workers * 2,
    capacity: (f) => f.capacity,
    acquireTimeoutMs: 200,
    createTimeoutMs: 40,
    validateAfterIdleMs: 1,
    validateTimeoutMs: 20,
    healthCheckPeriodMs: 15,
    maxIdleMs: 10,
    maxLifetimeMs: 25,
    backoffInitialMs: 1,
    backoffMaxMs: 10,
    destroyTimeoutMs: 20,
    random: rand,
    create: async (signal) => {
      const r = rand()
      if (r < 0.05) throw new Error('refused')
      if (r < 0.08) {
        // stalls until the pool gives up on it (createTimeoutMs) or is destroyed
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
        throw new Error('stalled')
      }
      await sleep(Math.floor(rand() * 3))
      const f: Fake = {
        id: ++nextId,
        capacity: 1 + Math.floor(rand() * 3),
        destroyed: false,
        exclusive: 0,
        shared: 0,
        healthy: true,
      }
      created.push(f)
      live++
      if (live > opts.max) violate(`${live} live resources with max ${opts.max}`)
      return f
    },
    destroy: async (f) => {
      if (f.destroyed) violate(`resource ${f.id} destroyed twice`)
      if (f.exclusive > 0 || f.shared > 0) violate(`resource ${f.id} destroyed while lent`)
      f.destroyed = true
      live--
      if (pick(0.2)) await sleep(1)
      if (pick(0.05)) throw new Error('destroy failed')
    },
    validate: async (f) => {
      if (pick(0.3)) await sleep(1)
      return f.healthy && !pick(0.25)
    },
  })

  const outstanding = { exclusive: 0, shared: 0 }
  const checkGrant = (l: Lease<Fake>) => {
    const f = l.resource
    if (f.destroyed) violate(`lent destroyed resource ${f.id}`)
    if (l.shared) {
      f.shared++
      outstanding.shared++
      if (f.exclusive > 0) violate(`resource ${f.id} shared while held exclusively`)
      if (f.shared > f.capacity)
        violate(`resource ${f.id} has ${f.shared} shared leases, capacity ${f.capacity}`)
    } else {
      f.exclusive++
      outstanding.exclusive++
      if (f.exclusive > 1) violate(`resource ${f.id} lent exclusively twice`)
      if (f.shared > 0) violate(`resource ${f.id} held exclusively while shared`)
    }
  }
  const giveBack = (l: Lease<Fake>) => {
    if (l.shared) {
      l.resource.shared--
      outstanding.shared--
    } else {
      l.resource.exclusive--
      outstanding.exclusive--
    }
    if (pick(0.03)) l.destroy(new Error('broken'))
    else l.release()
  }
  const checkStats = () => {
    const s = pool.stats()
    if (s.total > s.max) violate(`total ${s.total} > max ${s.max}`)
    if (s.idle + s.leased + s.shared + s.validating + s.creating !== s.total) violate('counts do not add up')
    // Grants resolved but not yet seen by their worker count in the pool, not in `outstanding`.
    if (s.state === 'open') {
      if (s.leased < outstanding.exclusive)
        violate(`stats.leased ${s.leased} < ${outstanding.exclusive} held`)
      if (s.sharedLeases < outstanding.shared)
        violate(`sharedLeases ${s.sharedLeases} < ${outstanding.shared} held`)
    }
  }

  const unexpected: unknown[] = []
  let settled = 0
  let granted = 0
  let closeAt = Math.floor(opts.ops * opts.workers * (0.7 + rand() * 0.3))
  let opsDone = 0
  let lullUntil = 0
  const worker = async () => {
    for (let i = 0; i < opts.ops; i++) {
      opsDone++
      if (opsDone === closeAt) {
        closeAt = -1
        void pool.close({ timeoutMs: 500 })
      }
      const shared = pick(0.5)
      const ac = pick(0.15) ? new AbortController() : undefined
      if (ac) setTimeout(() => ac.abort(new Error('gave up')), Math.floor(rand() * 5))
      const timeoutMs = pick(0.2) ? 1 + Math.floor(rand() * 10) : undefined
      if (pick(0.02)) {
        const victim = created[Math.floor(rand() * created.length)]
        if (victim) pool.invalidate(victim)
      }
      if (pick(0.02)) {
        const victim = created[Math.floor(rand() * created.length)]
        if (victim) victim.healthy = false
      }
      // Lulls, when every worker pauses, let resources sit idle: validation and reaping run.
      if (pick(0.01)) lullUntil = performance.now() + 15
      const lull = lullUntil - performance.now()
      if (lull > 0) await sleep(lull)
      try {
        const lease = await pool.acquire({ shared, signal: ac?.signal, timeoutMs })
        granted++
        checkGrant(lease)
        checkStats()
        const hold = rand()
        if (hold < 0.3) await sleep(Math.floor(rand() * 4))
        else if (hold < 0.6) await Promise.resolve()
        giveBack(lease)
      } catch (err) {
        if (!(err instanceof BerthError) || !EXPECTED_CODES.has(err.code)) unexpected.push(err)
      } finally {
        settled++
      }
      checkStats()
    }
  }
  const all = Promise.all(Array.from({ length: opts.workers }, worker))
  const guardAc = new AbortController()
  const guard = sleep(20_000, 'hung', { signal: guardAc.signal }).catch(() => 'cancelled')
  const outcome = await Promise.race([all.then(() => 'done'), guard])
  guardAc.abort()
  assert.equal(outcome, 'done', `seed ${seed}: some acquire never settled (${settled} settled)`)
  assert.deepEqual(outstanding, { exclusive: 0, shared: 0 })
  const quiet = pool.stats()
  assert.equal(quiet.leased, 0, `seed ${seed}: no resource left leased`)
  assert.equal(quiet.sharedLeases, 0, `seed ${seed}: no shared lease left`)
  await pool.close({ timeoutMs: 1000 })
  assert.equal(pool.state, 'closed')
  assert.deepEqual(violations, [], `seed ${seed}`)
  assert.deepEqual(unexpected, [], `seed ${seed}`)
  assert.equal(settled, opts.workers * opts.ops, 'every promise settled')
  const s = pool.stats()
  assert.equal(s.total, 0, `seed ${seed}: nothing left after close`)
  assert.equal(s.waiting, 0)
  assert.equal(
    created.filter((f) => !f.destroyed).length,
    0,
    `seed ${seed}: every created resource was destroyed`,
  )
  assert.ok(granted > 0, `seed ${seed}: some leases were granted`)
  return { granted, created: created.length, counters: s.counters }
}

describe('random stress', () => {
  const base = Number(process.env.BERTH_STRESS_SEED ?? 0x5eed)
  for (const [i, shape] of [
    { workers: 8, ops: 300, max: 3 },
    { workers: 32, ops: 150, max: 4 },
    { workers: 64, ops: 80, max: 8 },
    { workers: 4, ops: 600, max: 1 },
  ].entries()) {
    const seed = base + i
    it(`keeps every invariant with ${shape.workers} workers, max ${shape.max} (seed ${seed})`, async () => {
      const r = await stress(seed, shape)
      // every kind of event happened, so the run exercised what it claims to
      assert.ok(r.counters.createFailures > 0, 'create failures happened')
      assert.ok(r.counters.destroys.error > 0, 'broken resources were given back')
      if (process.env.BERTH_STRESS_DEBUG) console.log(JSON.stringify(r))
      assert.ok(r.counters.destroys.lifetime > 0, 'resources retired at the end of their lifetime')
      assert.ok(r.counters.validationFailures > 0, 'validation found unhealthy resources')
      assert.ok(r.counters.timeouts + r.counters.cancellations > 0, 'callers gave up')
    })
  }
})
