import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { CreateFailedError, Pool } from '../../src/core/index.js'

/** A factory for a server that can be taken down and brought back. */
function flakyServer(opts: { delayMs?: number } = {}) {
  const state = {
    up: true,
    attempts: 0,
    inFlight: 0,
    maxInFlight: 0,
    signals: [] as AbortSignal[],
    destroyed: 0,
  }
  let next = 0
  const create = async (signal: AbortSignal) => {
    state.attempts++
    state.inFlight++
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight)
    state.signals.push(signal)
    try {
      if (opts.delayMs) await sleep(opts.delayMs)
      if (!state.up)
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
      return { id: ++next }
    } finally {
      state.inFlight--
    }
  }
  const destroy = () => {
    state.destroyed++
  }
  return { state, create, destroy }
}

describe('creation', () => {
  it('does not cancel a create when the waiter that started it gives up: the resource goes idle', async () => {
    const server = flakyServer({ delayMs: 60 })
    const pool = new Pool({ create: server.create, destroy: server.destroy, max: 1 })
    await assert.rejects(pool.acquire({ timeoutMs: 10 }), { code: 'BERTH_ACQUIRE_TIMEOUT' })
    assert.equal(server.state.signals[0]?.aborted, false)
    await sleep(80)
    assert.equal(pool.stats().idle, 1, 'the late resource is kept for the next caller')
    const lease = await pool.acquire()
    assert.equal(server.state.attempts, 1, 'no second create was needed')
    lease.release()
    await pool.close()
  })

  it('hands a create failure to the waiting caller with the cause attached', async () => {
    const server = flakyServer()
    server.state.up = false
    const pool = new Pool({ create: server.create, destroy: server.destroy, max: 2, name: 'billing-db' })
    const err = await pool.acquire().catch((e: unknown) => e)
    assert.ok(err instanceof CreateFailedError)
    assert.equal(err.code, 'BERTH_CREATE_FAILED')
    assert.equal((err.cause as { code: string }).code, 'ECONNREFUSED')
    assert.match(err.message, /billing-db.*ECONNREFUSED/)
    assert.equal(pool.stats().counters.createFailures, 1)
    assert.equal(pool.stats().consecutiveCreateFailures, 1)
    await pool.close()
  })

  it('rejects every waiter with the cause when nothing is left that could serve them', async () => {
    const server = flakyServer({ delayMs: 10 })
    server.state.up = false
    const pool = new Pool({ create: server.create, destroy: server.destroy, max: 1 })
    const results = await Promise.allSettled([pool.acquire(), pool.acquire(), pool.acquire()])
    for (const r of results) {
      assert.equal(r.status, 'rejected')
      assert.equal((r.reason as CreateFailedError).code, 'BERTH_CREATE_FAILED')
    }
    assert.equal(server.state.attempts, 1, 'one attempt answered all three')
    await pool.close()
  })

  it('fails fast while backing off instead of stampeding a dead server, then recovers by itself', async () => {
    const server = flakyServer()
    server.state.up = false
    const pool = new Pool({
      create: server.create,
      destroy: server.destroy,
      max: 8,
      min: 1,
      backoffInitialMs: 20,
      backoffMaxMs: 80,
    })
    // Hammer it for ~400 ms with 16 callers; every call must end fast.
    const deadline = performance.now() + 400
    let calls = 0
    let failedFast = 0
    const callers = Array.from({ length: 16 }, async () => {
      while (performance.now() < deadline && calls < 100_000) {
        calls++
        const t = performance.now()
        const err = await pool.acquire({ timeoutMs: 1000 }).then(
          (l) => l.release(),
          (e: unknown) => e,
        )
        assert.ok(err instanceof CreateFailedError, `got ${String(err)}`)
        if (performance.now() - t < 50) failedFast++
        await sleep(1)
      }
    })
    await Promise.all(callers)
    assert.ok(calls > 200, `callers kept calling (${calls})`)
    // With a 20-80 ms full-jitter backoff, ~400 ms allows a few dozen attempts at most, one at a time.
    assert.ok(server.state.attempts < 40, `attempts ${server.state.attempts} for ${calls} calls`)
    assert.equal(server.state.maxInFlight, 1, 'one attempt at a time while failing')
    assert.ok(failedFast > calls * 0.9, 'calls fail fast')
    assert.ok(pool.stats().counters.failedFast > 0)

    server.state.up = true
    const started = performance.now()
    await pool.ready() // min 1 comes back through the background retry
    assert.ok(performance.now() - started < 1000)
    const lease = await pool.acquire()
    assert.equal(pool.stats().consecutiveCreateFailures, 0)
    lease.release()
    await pool.close()
  })

  it('spaces attempts with exponential backoff and full jitter', async () => {
    const server = flakyServer()
    server.state.up = false
    const pool = new Pool({
      create: server.create,
      destroy: server.destroy,
      max: 1,
      min: 1,
      backoffInitialMs: 10,
      backoffMaxMs: 80,
      random: () => 0.999, // take the ceiling: 10, 20, 40, 80, 80 ...
    })
    const times: number[] = []
    const t0 = performance.now()
    pool.on('createError', () => times.push(performance.now() - t0))
    await sleep(400)
    await pool.close()
    const gaps = times.slice(1).map((t, i) => t - times[i]!)
    assert.ok(gaps.length >= 4, `gaps ${gaps.map((g) => g.toFixed(0))}`)
    // Lower bounds are the guarantee (no attempt before its delay); timers may fire late under load.
    assert.ok(gaps[0]! >= 9, `first gap ${gaps[0]}`)
    assert.ok(gaps[1]! >= 19, `second gap ${gaps[1]}`)
    assert.ok(gaps[2]! >= 39, `third gap ${gaps[2]}`)
    const capped = gaps.slice(3).sort((a, b) => a - b)
    for (const g of capped) assert.ok(g >= 79, `capped gap ${g}`)
    // The cap holds: the delay stops doubling at 80 ms (the next step would be 160 ms).
    const median = capped[capped.length >> 1]!
    assert.ok(median < 150, `median capped gap ${median}`)
  })

  it('keeps retrying in the background even when its retry timer fires early by the pool clock', async () => {
    // Node's timers run on the event loop's cached millisecond clock and can fire slightly before
    // the deadline as performance.now() sees it. A clock at half speed makes every timer "early".
    const server = flakyServer()
    server.state.up = false
    const pool = new Pool({
      create: server.create,
      destroy: server.destroy,
      max: 1,
      min: 1,
      backoffInitialMs: 5,
      backoffMaxMs: 20,
      clock: () => performance.now() / 2,
    })
    await sleep(300)
    assert.ok(server.state.attempts >= 5, `only ${server.state.attempts} attempts in 300 ms`)
    server.state.up = true
    await pool.ready()
    assert.equal(pool.stats().total, 1, 'recovered by itself')
    await pool.close()
  })

  it('gives up on a create that hangs after createTimeoutMs and destroys the late resource', async () => {
    let release: (() => void) | undefined
    let signal: AbortSignal | undefined
    let destroyed = 0
    const pool = new Pool({
      create: (s) => {
        signal = s
        return new Promise<{ id: number }>((resolve) => {
          release = () => resolve({ id: 1 })
        })
      },
      destroy: () => {
        destroyed++
      },
      max: 1,
      createTimeoutMs: 30,
    })
    const err = await pool.acquire().catch((e: unknown) => e)
    assert.ok(err instanceof CreateFailedError)
    assert.equal((err.cause as { code: string }).code, 'BERTH_CREATE_TIMEOUT')
    assert.equal(signal?.aborted, true, 'the factory was told to stop')
    release!()
    await sleep(5)
    assert.equal(destroyed, 1, 'the resource that arrived late was destroyed')
    assert.equal(pool.stats().total, 0)
    await pool.close()
  })

  it('catches a factory that throws synchronously', async () => {
    const pool = new Pool<object>({
      create: () => {
        throw new TypeError('bad config')
      },
      destroy: () => {},
    })
    await assert.rejects(pool.acquire(), (e: CreateFailedError) => e.cause instanceof TypeError)
    await pool.close()
  })
})
