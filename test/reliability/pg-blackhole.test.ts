/**
 * Scenario 3: a blackhole between the pool and the server (every byte dropped, no FIN, no RST), then
 * the network heals. The fault proxy sits in front of the shared test server; the server itself is
 * left alone.
 */
import assert from 'node:assert/strict'
import { type TestContext, describe, it } from 'node:test'
import { type PgPool, createPgPool } from '../../src/pg/index.js'
import { type FaultProxy, startFaultProxy } from '../../src/testing/index.js'
import { createDatabase } from '../support/postgres.js'
import { until } from '../support/until.js'
import {
  CallTracker,
  appName,
  countBackends,
  figures,
  untypedFailures,
  watchProcessFaults,
} from './support.js'

const MAX = 3
const CALL_MS = 500
/** What "on time" allows past a call's own limit: scheduling on a busy 2-core machine. */
const SLACK_MS = 1000
/** How long berth/pg waits for an aborted query's CancelRequest to be answered (CANCEL_SETTLE_MS). */
const CANCEL_BOUND_MS = 5000

interface Setup {
  db: PgPool
  proxy: FaultProxy
  direct: string
  app: string
}

async function setup(t: TestContext, scenario: string): Promise<Setup> {
  const direct = await createDatabase(`rel_${scenario}`)
  const target = new URL(direct)
  const proxy = await startFaultProxy({ target: { host: target.hostname, port: Number(target.port) } })
  t.after(() => proxy.close())
  const viaProxy = new URL(direct)
  viaProxy.host = proxy.address
  const app = appName(scenario)
  const db = createPgPool(viaProxy.toString(), {
    maxConns: MAX,
    minConns: MAX,
    applicationName: app,
    connectTimeout: 1000,
    acquireTimeout: 2000,
    healthCheckPeriod: '500ms',
    budgetCheck: false,
  })
  t.after(() => db.destroy())
  await db.ready()
  assert.deepEqual(await db.queryRow('select 1 as one'), { one: 1 })
  return { db, proxy, direct, app }
}

/** Rounds of calls under the blackhole, half with timeoutMs and half with a signal; their durations. */
async function callsUnderBlackhole(db: PgPool, tracker: CallTracker): Promise<number[]> {
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      Array.from({ length: 2 * MAX }, (_, i) =>
        i % 2 === 0
          ? tracker.track('timeoutMs', () => db.query('select pg_sleep(0.01)', [], { timeoutMs: CALL_MS }))
          : tracker.track('signal', () =>
              db.query('select pg_sleep(0.01)', [], { signal: AbortSignal.timeout(CALL_MS) }),
            ),
      ),
    )
  }
  return tracker.records.map((r) => (r.endedAt ?? Number.POSITIVE_INFINITY) - r.startedAt)
}

/** Heals the proxy and waits for full strength, 30 good queries and the stale backends gone. */
async function recover(s: Setup): Promise<{ recoveryMs: number; okAfter: number; backends: number }> {
  await s.proxy.heal()
  const recoveryMs = await until(
    async () =>
      s.db.stats().totalConns === MAX &&
      (await s.db.query('select 1', [], { timeoutMs: 1000 }).then(
        () => true,
        () => false,
      )),
    20_000,
    // Each check is a query: no need to ask the server more often than this.
    { what: 'full strength and a successful query after the heal', intervalMs: 20 },
  )
  const after = new CallTracker()
  await Promise.all(
    Array.from({ length: 30 }, (_, i) => after.track('query', () => s.db.query('select $1::int', [i]))),
  )
  // Stale backends go once their client's FIN (held by the blackhole) arrives; bounded wait. The
  // count that settles it is the one reported: a count taken afterwards can land while the health
  // check swaps a connection (its backend gone, the new one still starting) and read one short.
  let backends = -1
  await until(
    async () => {
      backends = await countBackends(s.direct, s.app)
      return backends === MAX && s.db.stats().totalConns === MAX
    },
    10_000,
    { what: 'the stale backends to go', intervalMs: 20 },
  ).catch(() => undefined)
  return { recoveryMs, okAfter: after.ok, backends }
}

describe('reliability: blackhole between the pool and the server', () => {
  it('ends every call with a signal or timeout, with a typed error, and recovers when the network heals', async (t) => {
    const faults = watchProcessFaults(t)
    const s = await setup(t, 'blackhole_calls')
    s.proxy.blackhole(true)
    const tracker = new CallTracker()
    const durations = await callsUnderBlackhole(s.db, tracker)
    const onWire = durations.filter((ms) => ms > CALL_MS + SLACK_MS).length
    const r = await recover(s)
    figures(t, 'blackhole calls', {
      calls: tracker.started,
      failed: tracker.failures.length,
      codes: tracker.failureCodes(),
      maxCallMs: Math.max(...durations),
      callsOverLimitPlus1s: onWire,
      recoveryMs: r.recoveryMs,
      okAfterHeal: r.okAfter,
      backends: r.backends,
    })
    assert.equal(tracker.pending, 0)
    assert.equal(tracker.failures.length, tracker.started, 'no call succeeded through the blackhole')
    assert.deepEqual(untypedFailures(tracker), [])
    // Today's bound: a query already on the wire ends once its CancelRequest gives up (5 s); see
    // the test below for the bound.
    for (const ms of durations) assert.ok(ms <= CALL_MS + CANCEL_BOUND_MS + SLACK_MS, `a call took ${ms} ms`)
    assert.equal(r.okAfter, 30)
    assert.equal(r.backends, MAX, 'no connection left behind on the server')
    assert.deepEqual(faults.events, [])
  })

  it('ends a call whose query is already on the wire within its own limit', async (t) => {
    const s = await setup(t, 'blackhole_wire')
    s.proxy.blackhole(true)
    const tracker = new CallTracker()
    const durations = await callsUnderBlackhole(s.db, tracker)
    await recover(s)
    assert.deepEqual(
      durations.filter((ms) => ms > CALL_MS + SLACK_MS).map(Math.round),
      [],
      `every call ended within ${CALL_MS} + ${SLACK_MS} ms`,
    )
  })

  it('replaces idle connections that went dead by the health check, then recovers fully', async (t) => {
    const faults = watchProcessFaults(t)
    const s = await setup(t, 'blackhole_idle')
    s.proxy.blackhole(true)
    const at = performance.now()
    // An idle connection is pinged once idle for 1 s; a ping that never answers fails after 5 s.
    const detectMs = await until(
      () => s.db.stats().pool.counters.destroys.health >= 1,
      20_000,
      'a health-check replacement',
    )
    const failedCreates = await until(
      () => s.db.stats().pool.counters.createFailures >= 1,
      10_000,
      'a replacement attempt (it cannot connect through the blackhole)',
    ).then(() => s.db.stats().pool.counters.createFailures)
    const blackholeMs = performance.now() - at
    const r = await recover(s)
    const st = s.db.stats().pool
    figures(t, 'blackhole idle', {
      detectMs,
      blackholeMs,
      destroysHealth: st.counters.destroys.health,
      validationFailures: st.counters.validationFailures,
      createFailures: failedCreates,
      recoveryMs: r.recoveryMs,
      okAfterHeal: r.okAfter,
      backends: r.backends,
    })
    assert.ok(st.counters.destroys.health >= 1)
    assert.equal(r.okAfter, 30)
    assert.equal(s.db.stats().totalConns, MAX)
    assert.deepEqual(faults.events, [])
  })

  it('leaves no backend behind after the health check replaced a dead connection', async (t) => {
    const s = await setup(t, 'blackhole_leak')
    s.proxy.blackhole(true)
    await until(() => s.db.stats().pool.counters.destroys.health >= 1, 20_000, 'a health-check replacement')
    const r = await recover(s)
    assert.equal(r.backends, MAX, `${r.backends} backends on the server for a pool of ${MAX}`)
  })
})
