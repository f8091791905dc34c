/**
 * Scenario 2: pg_terminate_backend of every pool connection while the pool is under load. Only this
 * pool's backends are terminated (found by application_name), so the shared test server will do.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { createPgPool } from '../../src/pg/index.js'
import { createDatabase } from '../support/postgres.js'
import { until } from '../support/until.js'
import {
  CallTracker,
  adminQuery,
  appName,
  countBackends,
  figures,
  startLoad,
  untypedFailures,
  watchProcessFaults,
} from './support.js'

const MAX = 4

describe('reliability: every pool connection terminated under load', () => {
  for (const pipeline of [true, false]) {
    it(`fails only the calls in flight at that instant and replaces the connections (pipeline: ${pipeline})`, async (t) => {
      const faults = watchProcessFaults(t)
      const url = await createDatabase('rel_terminate')
      const app = appName(`terminate_${pipeline}`)
      const db = createPgPool(url, {
        maxConns: MAX,
        minConns: MAX,
        pipeline,
        applicationName: app,
        acquireTimeout: 5000,
        budgetCheck: false,
      })
      t.after(() => db.close({ timeoutMs: 5000 }))
      await db.ready()
      const tracker = new CallTracker()
      // Fewer workers than connections without pipelining, so some connections are idle when killed.
      const load = startLoad(
        tracker,
        () => ({ kind: 'query', run: () => db.query('select pg_sleep(0.01)') }),
        { workers: pipeline ? 8 : MAX - 1, maxMs: 30_000 },
      )
      try {
        await until(() => tracker.ok >= 100, 10_000, '100 calls before the kill')
        // Connected beforehand, so the kill window is the terminations alone.
        const admin = new pg.Client({ connectionString: url })
        admin.on('error', () => undefined)
        await admin.connect()
        // Read before the kill: an idle connection's error can destroy it before the kill returns.
        const destroysBefore = db.stats().pool.counters.destroys.error
        const killAt = performance.now()
        const killed = await admin
          .query<{ n: number }>(
            // with a timeout, pg_terminate_backend waits until each backend has exited
            'select count(pg_terminate_backend(pid, 5000))::int as n from pg_stat_activity where application_name = $1',
            [app],
          )
          .then((r) => r.rows)
          .finally(() => admin.end())
        const killedAt = performance.now()
        assert.equal(killed[0]?.n, MAX, 'every pool connection was terminated')
        const inFlight = tracker.inFlightAt(killAt)
        await until(
          () => db.stats().pool.counters.destroys.error >= destroysBefore + 1 || tracker.failures.length > 0,
          15_000,
          'the pool to notice',
        )
        const okAfter = tracker.ok
        await until(() => tracker.ok >= okAfter + 200, 10_000, '200 calls after the kill')
        await load.stop()
        assert.equal(await tracker.settle(10_000), 0, 'every call settled')
        assert.deepEqual(untypedFailures(tracker), [])
        const failures = tracker.failures
        // The kill is a window, not an instant: the backends are terminated one after another. A
        // failed call must have been in flight during it; one started after it must not fail (the
        // dead connections are replaced unseen).
        const outside = failures.filter((r) => r.startedAt > killedAt || (r.endedAt ?? 0) < killAt)
        const inWindow = tracker.records.filter((r) => r.startedAt <= killedAt && (r.endedAt ?? 0) >= killAt)
        figures(t, `terminate pipeline=${pipeline}`, {
          calls: tracker.started,
          killWindowMs: Math.round(killedAt - killAt),
          inFlightAtKill: inFlight,
          inFlightDuringKill: inWindow.length,
          failed: failures.length,
          failedOutsideKill: outside.length,
          codes: tracker.failureCodes(),
          creates: db.stats().newConnsCount,
        })
        assert.deepEqual(
          outside.map((r) => String(r.error)),
          [],
          'no call failed that was not in flight while the backends were terminated',
        )
        assert.ok(failures.length <= inWindow.length)
        await until(() => db.stats().totalConns === MAX, 5000, 'the pool back to full strength')
        assert.equal(await countBackends(url, app), MAX, 'exactly the pool connections on the server')
        assert.deepEqual(faults.events, [])
      } finally {
        await load.stop()
      }
    })
  }

  it('replaces terminated idle connections before any caller sees one', async (t) => {
    const faults = watchProcessFaults(t)
    const url = await createDatabase('rel_terminate_idle')
    const app = appName('terminate_idle')
    const db = createPgPool(url, { maxConns: MAX, minConns: MAX, applicationName: app, budgetCheck: false })
    t.after(() => db.close({ timeoutMs: 5000 }))
    await db.ready()
    await adminQuery(
      url,
      'select pg_terminate_backend(pid, 5000) from pg_stat_activity where application_name = $1',
      [app],
    )
    // The idle clients read the FATAL message and report themselves broken; the pool refills.
    await until(
      () => db.stats().pool.counters.destroys.error >= MAX,
      5000,
      'the pool to drop the dead connections',
    )
    const tracker = new CallTracker()
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => tracker.track('query', () => db.query('select $1::int', [i]))),
    )
    assert.equal(tracker.ok, 40, `no caller saw a dead connection: ${JSON.stringify(tracker.failureCodes())}`)
    await until(() => db.stats().totalConns === MAX, 5000, 'the pool back to full strength')
    assert.equal(await countBackends(url, app), MAX)
    assert.deepEqual(faults.events, [])
  })
})
