/**
 * Scenario 7: failover under load. A real primary with two streaming standbys; writers and readers
 * run through createPgCluster while the primary is stopped (fast shutdown) and the first standby
 * promoted (pg_ctl promote). What must hold: no call hangs; writes succeed again within 2 s of
 * the promotion; statements in flight when the primary went fail with a typed, retryable
 * PgFailoverError and are never re-sent (each write has its own key: a re-send would show as a
 * duplicate); no 25006 (read-only) reaches a caller; reads keep succeeding from the replicas all
 * along; no connection is left on any server after close.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PgError, PgFailoverError, createPgCluster, isRetryable } from '../../src/pg/index.js'
import { startPostgresCluster } from '../../src/testing/index.js'
import { until } from '../support/until.js'
import {
  CallTracker,
  appName,
  codeOf,
  countBackends,
  figures,
  startLoad,
  untypedFailures,
  watchProcessFaults,
} from './support.js'

function sqlStateOf(err: unknown): string | undefined {
  for (let e = err; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    if (e instanceof PgError) return e.sqlState
    if (
      typeof (e as { code?: unknown }).code === 'string' &&
      /^[0-9A-Z]{5}$/.test((e as { code: string }).code)
    )
      return (e as { code: string }).code
  }
  return undefined
}

describe('reliability: primary failover under load (createPgCluster)', () => {
  it('waits through the failover, fails only in-flight writes, typed, and keeps reads going', async (t) => {
    const faults = watchProcessFaults(t)
    const cluster = await startPostgresCluster({ standbys: 2 })
    t.after(() => cluster.destroy())
    const [next, other] = cluster.standbys
    const app = appName('failover')
    const db = createPgCluster(cluster.url, {
      applicationName: app,
      maxConns: 4,
      probePeriod: 200,
      failoverTimeout: 10_000,
      connectTimeout: 2000,
      budgetCheck: false,
    })
    t.after(() => db.destroy())
    await db.exec('create table ledger (id bigint primary key, at timestamptz default now())')
    await db.exec('create table txlog (n bigint, attempt int)')
    await cluster.caughtUp()
    await db.probe()
    await until(() => db.stats().replicasInRotation === 2, 10_000, 'both standbys in rotation')

    const writes = new CallTracker()
    const reads = new CallTracker()
    let id = 0
    const readHosts = new Map<string, number>()
    const writeLoad = startLoad(
      writes,
      () => {
        const key = ++id
        // One write in four holds its transaction open 50 ms, so some are in flight at the stop.
        const text =
          key % 4 === 0
            ? 'insert into ledger (id) select $1 from pg_sleep(0.05)'
            : 'insert into ledger (id) values ($1)'
        return { kind: 'write', run: () => db.exec(text, [key]) }
      },
      { workers: 6, maxMs: 30_000, pauseOnFailureMs: 5 },
    )
    const readLoad = startLoad(
      reads,
      () => ({
        kind: 'read',
        run: async () => {
          const r = await db.read.queryRow<{ port: number }>(
            'select inet_server_port() as port, count(*) from ledger',
          )
          readHosts.set(String(r!.port), (readHosts.get(String(r!.port)) ?? 0) + 1)
        },
      }),
      { workers: 4, maxMs: 30_000, pauseOnFailureMs: 5 },
    )
    // Transactions with retries: a failover that cuts one runs it again on the new primary.
    const txs = new CallTracker()
    let txAttempts = 0
    const txLoad = startLoad(
      txs,
      (_w, n) => ({
        kind: 'tx',
        run: () =>
          db.tx(
            async (tx) => {
              txAttempts++
              await tx.exec('insert into txlog values ($1, 0)', [n])
              await tx.query('select pg_sleep(0.1)')
            },
            { retries: 5 },
          ),
      }),
      { workers: 3, maxMs: 30_000, pauseOnFailureMs: 5 },
    )
    let stoppedAt = 0
    let promotedAt = 0
    try {
      await until(
        () => writes.ok >= 200 && reads.ok >= 200,
        10_000,
        '200 writes and reads before the failover',
      )
      stoppedAt = performance.now()
      await cluster.primary.stop()
      await next!.promote()
      promotedAt = performance.now()
      const okAtPromotion = writes.records.filter((r) => r.ok && r.endedAt! <= promotedAt).length
      await until(() => writes.ok >= okAtPromotion + 200, 15_000, '200 writes on the new primary')
      await until(() => db.stats().failovers === 1, 5000, 'the failover counted')
    } finally {
      await writeLoad.stop()
      await readLoad.stop()
      await txLoad.stop()
    }
    assert.equal(await txs.settle(15_000), 0, 'no transaction left hanging')
    assert.deepEqual(
      txs.failures.map((f) => codeOf(f.error)),
      [],
      'tx(fn, { retries }) ran again through the failover',
    )
    assert.ok(txAttempts > txs.started, 'some transaction was cut and run again')
    assert.equal(await writes.settle(15_000), 0, 'no write left hanging')
    assert.equal(await reads.settle(15_000), 0, 'no read left hanging')
    assert.deepEqual([...untypedFailures(writes), ...untypedFailures(reads)], [])

    // Writes: back within 2 s of the promotion.
    const firstBack = Math.min(
      ...writes.records.filter((r) => r.ok && r.endedAt! > promotedAt).map((r) => r.endedAt!),
    )
    const backMs = firstBack - promotedAt
    // Callers that came while there was no primary waited for the new one instead of failing.
    const waited = writes.records.filter(
      (r) => r.ok && r.startedAt > stoppedAt + 20 && r.startedAt < promotedAt,
    )
    assert.ok(waited.length > 0, 'writes started during the failover waited and succeeded')
    assert.ok(backMs <= 2000, `first write on the new primary ${Math.round(backMs)} ms after the promotion`)
    // Failures: only in the failover window, only typed and retryable, never a re-send or a 25006.
    const windowEnd = promotedAt + 2000
    assert.ok(writes.failures.length > 0, 'the stop cut writes in flight (else nothing was tested)')
    for (const f of writes.failures) {
      assert.ok(
        f.endedAt! >= stoppedAt && f.startedAt <= windowEnd,
        `a write failed outside the window: ${codeOf(f.error)}`,
      )
      assert.ok(
        f.error instanceof PgFailoverError && isRetryable(f.error),
        `typed failover error: ${codeOf(f.error)}`,
      )
    }
    const states = [...writes.failures, ...reads.failures].map((f) => sqlStateOf(f.error))
    assert.ok(!states.includes('25006'), '25006 reached a caller')
    assert.ok(!states.includes('23505'), 'a write was re-sent (duplicate key)')
    // Reads never failed, and replicas answered them during the failover too.
    assert.equal(
      reads.failures.length,
      0,
      `read failures: ${JSON.stringify(reads.failureCodes())} ${reads.failures
        .slice(0, 3)
        .map((f) => `${String(f.error)} <- ${String((f.error as Error).cause)}`)
        .join(' | ')}`,
    )
    const readsDuring = reads.records.filter(
      (r) => r.ok && r.startedAt >= stoppedAt && r.endedAt! <= promotedAt,
    )
    assert.ok(
      readsDuring.length > 0 || promotedAt - stoppedAt < 50,
      'reads answered while there was no primary',
    )
    assert.ok((readHosts.get(String(other!.port)) ?? 0) > 0, 'the other standby served reads')

    // Every acknowledged write is on the new primary; failed ones may or may not have committed.
    const rows = (await db.queryRow<{ n: number }>('select count(*)::int as n from ledger'))!.n
    const okWrites = writes.ok
    assert.ok(
      rows >= okWrites && rows <= okWrites + writes.failures.length,
      `${rows} rows for ${okWrites} acknowledged writes`,
    )
    const s = db.stats()
    assert.equal(s.primary, `127.0.0.1:${next!.port}`)
    assert.equal(s.hosts.find((h) => h.host === `127.0.0.1:${next!.port}`)!.promotions, 1)
    assert.equal(s.hosts.find((h) => h.host === `127.0.0.1:${cluster.primary.port}`)!.state, 'down')

    await db.close({ timeoutMs: 5000 })
    for (const srv of [next!, other!])
      assert.equal(await countBackends(srv.url, app), 0, `no backend left on ${srv.port}`)
    assert.deepEqual(faults.events, [])
    figures(t, 'failover', {
      writes: writes.started,
      writeFailures: writes.failures.length,
      codes: writes.failureCodes(),
      reads: reads.started,
      readFailures: reads.failures.length,
      readsDuringFailover: readsDuring.length,
      promoteMs: Math.round(promotedAt - stoppedAt),
      writesBackMs: Math.round(backMs),
      writesThatWaited: waited.length,
      timeToNewPrimaryMs: Math.round(s.lastFailoverMs ?? -1),
      rows,
      txs: txs.started,
      txReRuns: txAttempts - txs.started,
      txFailures: txs.failures.length,
    })
  })
})
