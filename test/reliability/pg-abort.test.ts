/**
 * Scenario 6: slow queries aborted at random moments (before, during and around the end of the
 * query). Non-destructive, so the shared test server will do.
 */
import assert from 'node:assert/strict'
import { type TestContext, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { PgError, createPgPool } from '../../src/pg/index.js'
import { createDatabase } from '../support/postgres.js'
import { seededRandom } from '../support/random.js'
import {
  type CallRecord,
  CallTracker,
  appName,
  codeOf,
  countBackends,
  figures,
  untypedFailures,
  watchProcessFaults,
} from './support.js'

const MAX = 4
const ROUNDS = 25

const ABORT_CODES = new Set(['BERTH_QUERY_ABORTED', 'BERTH_ACQUIRE_ABORTED'])

interface Outcome {
  tracker: CallTracker
  followUps: CallTracker
  /** Failures other than an abort error: a statement hit by a CancelRequest meant for the one before. */
  other: CallRecord[]
}

async function abortAtRandom(t: TestContext): Promise<Outcome> {
  const faults = watchProcessFaults(t)
  const seed = Number(process.env.BERTH_REL_SEED ?? Date.now() % 1_000_000)
  const random = seededRandom(seed)
  const url = await createDatabase('rel_abort')
  const app = appName('abort')
  const db = createPgPool(url, { maxConns: MAX, applicationName: app, budgetCheck: false })
  t.after(() => db.close({ timeoutMs: 5000 }))
  const tracker = new CallTracker()
  /** Follow-up statements on the connection an aborted query ran on, and how they ended. */
  const followUps = new CallTracker()
  const worker = async () => {
    for (let i = 0; i < ROUNDS; i++) {
      // The abort lands before, during, or just around the end of the query.
      const sleepMs = 20 + Math.floor(random() * 120)
      const abortMs = Math.floor(random() * 160)
      const signal = AbortSignal.timeout(abortMs)
      if (random() < 0.5) {
        await tracker.track('pool', () => db.query('select pg_sleep($1)', [sleepMs / 1000], { signal }))
        continue
      }
      await using conn = await db.acquire()
      await tracker.track('conn', () => conn.query('select pg_sleep($1)', [sleepMs / 1000], { signal }))
      // The same connection serves the next statement: no stray cancel, no broken protocol.
      await followUps.track('next', () => conn.query('select pg_sleep(0.02), 1 as one'))
    }
  }
  await Promise.all(Array.from({ length: MAX }, worker))
  assert.equal(tracker.pending + followUps.pending, 0)
  assert.deepEqual(untypedFailures(tracker), [])
  const aborted = tracker.failures.filter((r) => ABORT_CODES.has(codeOf(r.error))).length
  const other = tracker.failures.filter((r) => !ABORT_CODES.has(codeOf(r.error)))
  // After the run: every connection still works, and a burst of plain statements all succeed. The
  // pause lets the last CancelRequests land first (a late one would hit the burst: see the stray-cancel test).
  await sleep(300)
  const burst = new CallTracker()
  await Promise.all(
    Array.from({ length: 4 * MAX }, () => burst.track('burst', () => db.query('select pg_sleep(0.02)'))),
  )
  const running = await countBackends(url, app, "state = 'active' and query like '%pg_sleep%'")
  const s = db.stats()
  figures(t, `abort${t.name.includes('stray') ? ' (stray run)' : ''}`, {
    seed,
    calls: tracker.started,
    aborted,
    completed: tracker.ok,
    otherFailures: other.length,
    followUps: followUps.started,
    followUpFailures: followUps.failures.length,
    followUpCodes: followUps.failureCodes(),
    destroysError: s.pool.counters.destroys.error,
    creates: s.newConnsCount,
    stillRunning: running,
  })
  assert.ok(aborted > 0 && tracker.ok > 0, 'the random aborts hit some queries and missed others')
  // What else failed was cancelled by a late CancelRequest (57014): see the stray-cancel test.
  for (const r of [...other, ...followUps.failures]) {
    assert.ok(r.error instanceof PgError && r.error.sqlState === '57014', String(r.error))
  }
  assert.equal(burst.ok, burst.started, `burst after the run: ${JSON.stringify(burst.failureCodes())}`)
  assert.equal(s.pool.counters.destroys.error, 0, 'no connection was lost')
  assert.ok(s.newConnsCount <= MAX, `${s.newConnsCount} connections made for a pool of ${MAX}`)
  assert.equal(running, 0, 'no backend still runs an aborted query')
  assert.deepEqual(faults.events, [])
  return { tracker, followUps, other }
}

describe('reliability: slow queries aborted at random', () => {
  it('loses no connection and leaves no backend running an aborted query', async (t) => {
    await abortAtRandom(t)
  })

  it('never cancels the statement after an aborted one (no stray CancelRequest)', async (t) => {
    const { other, followUps } = await abortAtRandom(t)
    assert.deepEqual(
      [...other, ...followUps.failures].map((r) => String(r.error)),
      [],
      'no statement but an aborted one was cancelled',
    )
  })
})
