/**
 * Scenario 1: the server restarts (fast shutdown, then start) while the pool is under load.
 * A private PostgreSQL: stopping the shared test server would break every other test file.
 */
import assert from 'node:assert/strict'
import { type TestContext, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createPgPool } from '../../src/pg/index.js'
import { startPostgres } from '../../src/testing/index.js'
import { until } from '../support/until.js'
import {
  CallTracker,
  appName,
  countBackends,
  figures,
  startLoad,
  untypedFailures,
  watchProcessFaults,
} from './support.js'

const MAX = 4

/** Restarts the server once under load, asserts what must hold, and returns the refill time. */
async function restartUnderLoad(t: TestContext, downMs: number): Promise<number> {
  const faults = watchProcessFaults(t)
  const server = await startPostgres()
  t.after(() => server.destroy())
  const app = appName('restart')
  const db = createPgPool(server.url, {
    maxConns: MAX,
    minConns: MAX,
    applicationName: app,
    connectTimeout: 2000,
    acquireTimeout: 3000,
    budgetCheck: false,
  })
  t.after(() => db.close({ timeoutMs: 5000 }))
  await db.ready()

  const tracker = new CallTracker()
  // A mix of the three ways to run a statement: pipelined, exclusive with a timeout, a transaction.
  const load = startLoad(
    tracker,
    (_w, n) => {
      if (n % 3 === 0) return { kind: 'pipelined', run: () => db.query('select pg_sleep(0.005)') }
      if (n % 3 === 1)
        return { kind: 'timeout', run: () => db.query('select pg_sleep(0.005)', [], { timeoutMs: 2000 }) }
      return { kind: 'tx', run: () => db.tx((tx) => tx.query('select 1')) }
    },
    { workers: 8, maxMs: 30_000 },
  )
  try {
    await until(() => tracker.ok >= 100, 10_000, '100 calls before the restart')
    const before = tracker.started
    await server.stop()
    const stoppedAt = performance.now()
    await until(() => db.stats().totalConns < MAX, 5000, 'the pool to notice the shutdown')
    await sleep(downMs)
    const failedWhileDown = tracker.failures.length
    await server.start()
    const backAt = performance.now()
    const creates = db.stats().newConnsCount
    const refillMs = await until(
      () => {
        const s = db.stats()
        return s.totalConns === MAX && s.newConnsCount >= creates + 1
      },
      15_000,
      'the pool back to full strength',
    )
    const okBack = tracker.ok
    await until(() => tracker.ok >= okBack + 100, 10_000, '100 calls after the restart')
    await load.stop()
    const pending = await tracker.settle(10_000)
    assert.equal(pending, 0, 'every call settled')
    assert.deepEqual(untypedFailures(tracker), [], 'every failure is a BerthError')
    assert.ok(tracker.failures.length > 0, 'the restart was felt (else the scenario tested nothing)')
    const backends = await countBackends(server.url, app)
    const total = db.stats().totalConns
    assert.equal(backends, total, 'pg_stat_activity shows exactly the connections the pool holds')
    assert.ok(total <= MAX)
    assert.deepEqual(faults.events, [])
    figures(t, `restart down=${downMs}ms`, {
      calls: tracker.started,
      callsBeforeStop: before,
      failed: tracker.failures.length,
      failedWhileDown,
      codes: tracker.failureCodes(),
      pending,
      downMs: Math.round(backAt - stoppedAt),
      refillMs: Math.round(refillMs),
      backends,
    })
    await db.close({ timeoutMs: 5000 })
    assert.equal(await countBackends(server.url, app), 0, 'no backend left after close')
    return refillMs
  } finally {
    await load.stop()
  }
}

describe('reliability: PostgreSQL restarts under load', () => {
  it('settles every call with a result or a typed error, refills the pool and leaks no connection', async (t) => {
    const refillMs = await restartUnderLoad(t, 1000)
    // Bounded by the create backoff's ceiling (backoffMaxMs, 10 s), plus slack.
    assert.ok(refillMs <= 12_000, `back to ${MAX} connections ${Math.round(refillMs)} ms after the restart`)
  })

  it("is back to full strength within 2 s of the server's return", async (t) => {
    const refillMs = await restartUnderLoad(t, 3000)
    assert.ok(refillMs <= 2000, `back to ${MAX} connections ${Math.round(refillMs)} ms after the restart`)
  })
})
