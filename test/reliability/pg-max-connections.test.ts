/**
 * Scenario 5: the server's max_connections is used up (SQLSTATE 53300). A private server with a
 * small max_connections, filled by plain clients; a fault proxy in front of it counts the pool's
 * connection attempts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { CreateFailedError } from '../../src/core/errors.js'
import { PgError, createPgPool } from '../../src/pg/index.js'
import { startFaultProxy, startPostgres } from '../../src/testing/index.js'
import { until } from '../support/until.js'
import { CallTracker, figures, startLoad, untypedFailures, watchProcessFaults } from './support.js'

const SLOTS = 6
const LOAD_MS = 3000
const WORKERS = 8

describe('reliability: max_connections exhausted', () => {
  it('fails with a typed 53300 error, backs off without a stampede, and recovers when slots free up', async (t) => {
    const faults = watchProcessFaults(t)
    const server = await startPostgres({
      postgresFlags: { max_connections: SLOTS, superuser_reserved_connections: 0 },
    })
    t.after(() => server.destroy())
    const hogs: pg.Client[] = []
    t.after(() => Promise.all(hogs.map((c) => c.end().catch(() => undefined))))
    for (let i = 0; i < SLOTS; i++) {
      const c = new pg.Client({ connectionString: server.url })
      c.on('error', () => undefined)
      await c.connect()
      hogs.push(c)
    }
    const proxy = await startFaultProxy({ target: { host: server.host, port: server.port } })
    t.after(() => proxy.close())
    const viaProxy = new URL(server.url)
    viaProxy.host = proxy.address
    const db = createPgPool(viaProxy.toString(), { maxConns: 4, connectTimeout: 2000, budgetCheck: false })
    t.after(() => db.close({ timeoutMs: 5000 }))

    const tracker = new CallTracker()
    const load = startLoad(tracker, () => ({ kind: 'query', run: () => db.query('select 1') }), {
      workers: WORKERS,
      maxMs: 30_000,
    })
    try {
      await until(() => tracker.started >= WORKERS, 5000, 'the load to start')
      const loadStart = performance.now()
      await new Promise((r) => setTimeout(r, LOAD_MS))
      const attempts = proxy.stats().accepted
      const callsWhileFull = tracker.started
      const failures = tracker.failures
      assert.equal(tracker.ok, 0, 'nothing got through a full server')
      assert.deepEqual(untypedFailures(tracker), [])
      for (const r of failures) {
        assert.ok(r.error instanceof CreateFailedError, String(r.error))
        assert.ok(
          r.error.cause instanceof PgError && r.error.cause.sqlState === '53300',
          String(r.error.cause),
        )
      }
      // Backoff doubling from 100 ms, one attempt at a time: about log2(3000/100) + a few attempts in
      // 3 s; a pool that connected for each caller would make hundreds.
      assert.ok(
        attempts <= 20,
        `${attempts} connection attempts in ${LOAD_MS} ms from ${callsWhileFull} calls`,
      )

      // Two slots free up: the pool gets connections by itself, within the backoff ceiling (10 s).
      await Promise.all(hogs.splice(0, 2).map((c) => c.end()))
      const freedAt = performance.now()
      const okBefore = tracker.ok
      const recoveryMs = await until(() => tracker.ok > okBefore, 15_000, 'a call to succeed')
      await until(() => tracker.ok >= okBefore + 50, 10_000, '50 calls after the slots freed up')
      await load.stop()
      assert.equal(await tracker.settle(10_000), 0)
      figures(t, 'max_connections', {
        loadMs: Math.round(freedAt - loadStart),
        callsWhileFull,
        failedWhileFull: failures.length,
        connectAttempts: attempts,
        backoffFailures: db.stats().pool.counters.createFailures,
        recoveryMs,
        conns: db.stats().totalConns,
      })
      assert.ok(db.stats().totalConns <= 2, 'the pool took no more than the free slots')
      assert.deepEqual(faults.events, [])
    } finally {
      await load.stop()
    }
  })
})
