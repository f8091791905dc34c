/**
 * Scenario 4: the server is down when the pool starts. Two kinds of down: nothing listens (the
 * connect is refused at once; a private server, stopped) and the host does not answer (the connect
 * hangs until connect_timeout; a blackholing fault proxy).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { CreateFailedError } from '../../src/core/errors.js'
import { PgConnectionError, createPgPool } from '../../src/pg/index.js'
import { startFaultProxy, startPostgres } from '../../src/testing/index.js'
import { createDatabase } from '../support/postgres.js'
import { until } from '../support/until.js'
import { CallTracker, figures, untypedFailures, watchProcessFaults } from './support.js'

const MIN = 2
const CONNECT_TIMEOUT_MS = 1000

describe('reliability: server down at start', () => {
  it('fails acquires fast with the refused connect as the cause, then recovers by itself', async (t) => {
    const faults = watchProcessFaults(t)
    const server = await startPostgres()
    t.after(() => server.destroy())
    await server.stop()
    const db = createPgPool(server.url, {
      maxConns: 4,
      minConns: MIN,
      connectTimeout: CONNECT_TIMEOUT_MS,
      budgetCheck: false,
    })
    t.after(() => db.close({ timeoutMs: 5000 }))
    const started = performance.now()
    const err = await db.query('select 1').catch((e: unknown) => e)
    const firstMs = performance.now() - started
    assert.ok(err instanceof CreateFailedError, String(err))
    assert.ok(err.cause instanceof PgConnectionError, String(err.cause))
    assert.match(String((err.cause as Error).cause), /ECONNREFUSED/)
    assert.ok(firstMs < CONNECT_TIMEOUT_MS, `a refused connect fails at once (${Math.round(firstMs)} ms)`)
    // More callers while it is down: each ends with a typed error, most without a connect attempt.
    const tracker = new CallTracker()
    for (let i = 0; i < 20; i++) await tracker.track('query', () => db.query('select 1'))
    assert.equal(tracker.failures.length, 20)
    assert.deepEqual(untypedFailures(tracker), [])
    await sleep(500) // the pool keeps retrying in the background; nothing must crash meanwhile
    await server.start()
    const recoveryMs = await until(() => db.stats().totalConns >= MIN, 15_000, 'the pool to fill by itself')
    assert.deepEqual(await db.queryRow('select 1 as one'), { one: 1 })
    const s = db.stats().pool
    figures(t, 'down at start (refused)', {
      firstFailureMs: firstMs,
      failedFast: s.counters.failedFast,
      createFailures: s.counters.createFailures,
      recoveryMs,
    })
    assert.deepEqual(faults.events, [])
  })

  it('fails acquires after connect_timeout when the server does not answer, then recovers by itself', async (t) => {
    const faults = watchProcessFaults(t)
    const direct = new URL(await createDatabase('rel_down'))
    const proxy = await startFaultProxy({ target: { host: direct.hostname, port: Number(direct.port) } })
    t.after(() => proxy.close())
    proxy.blackhole(true)
    const viaProxy = new URL(direct)
    viaProxy.host = proxy.address
    const db = createPgPool(viaProxy.toString(), {
      maxConns: 4,
      minConns: MIN,
      connectTimeout: CONNECT_TIMEOUT_MS,
      budgetCheck: false,
    })
    t.after(() => db.close({ timeoutMs: 5000 }))
    const started = performance.now()
    const err = await db.query('select 1').catch((e: unknown) => e)
    const firstMs = performance.now() - started
    assert.ok(err instanceof CreateFailedError, String(err))
    assert.ok(err.cause instanceof PgConnectionError, String(err.cause))
    assert.match((err.cause as Error).message, /timeout/i)
    assert.ok(firstMs >= CONNECT_TIMEOUT_MS * 0.9, `not before connect_timeout (${Math.round(firstMs)} ms)`)
    assert.ok(firstMs < CONNECT_TIMEOUT_MS + 1500, `soon after connect_timeout (${Math.round(firstMs)} ms)`)
    const tracker = new CallTracker()
    for (let i = 0; i < 5; i++) await tracker.track('query', () => db.query('select 1'))
    assert.equal(tracker.ok, 0)
    assert.deepEqual(untypedFailures(tracker), [])
    const attempts = proxy.stats().accepted
    await proxy.heal()
    const recoveryMs = await until(() => db.stats().totalConns >= MIN, 15_000, 'the pool to fill by itself')
    assert.deepEqual(await db.queryRow('select 1 as one'), { one: 1 })
    figures(t, 'down at start (no answer)', {
      firstFailureMs: firstMs,
      slowestOfNext5Ms: Math.max(...tracker.records.map((r) => (r.endedAt ?? 0) - r.startedAt)),
      connectAttemptsWhileDown: attempts,
      recoveryMs,
    })
    assert.deepEqual(faults.events, [])
  })
})
