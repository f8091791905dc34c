import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type LeakReport, Pool } from '../../src/core/index.js'
import { type Fake, createFakeFactory } from '../support/fake-resources.js'
import { until } from '../support/until.js'

const THIS_FILE = 'pool-leak.test.ts'

function acquireFromNamedHelper(pool: Pool<Fake>) {
  return pool.acquire()
}

function leakyPool(name: string, extra: { capacity?: number } = {}): Pool<Fake> {
  const f = createFakeFactory()
  return new Pool<Fake>({ name, create: f.create, destroy: f.destroy, leakDetectionMs: 50, ...extra })
}

describe('leak detection', () => {
  it('a lease held past leakDetectionMs is reported exactly once, with its acquire stack', async () => {
    const pool = leakyPool('leaky')
    const reports: LeakReport[] = []
    pool.on('leak', (r) => reports.push(r))
    try {
      const lease = await pool.acquire()
      await sleep(150)
      assert.equal(reports.length, 1, 'one report per leaked lease, however long it is held')
      const report = reports[0]!
      assert.equal(report.pool, 'leaky')
      assert.ok(report.heldMs >= 50, `heldMs ${report.heldMs}`)
      assert.equal(report.shared, false)
      assert.ok(report.stack?.includes(THIS_FILE), `stack names the acquiring file: ${report.stack}`)
      assert.ok(Object.isFrozen(report))
      assert.equal(pool.stats().counters.leaks, 1)
      assert.equal(lease.acquireStack, report.stack)
      lease.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('counters.leaks counts each leaked lease once, shared leases included', async () => {
    const pool = leakyPool('leaky-shared', { capacity: 2 })
    const reports: LeakReport[] = []
    pool.on('leak', (r) => reports.push(r))
    try {
      const exclusive = await pool.acquire()
      const shared = await pool.acquire({ shared: true })
      await until(() => reports.length >= 2, 2000)
      await sleep(60)
      assert.equal(reports.length, 2)
      assert.equal(pool.stats().counters.leaks, 2)
      assert.deepEqual(reports.map((r) => r.shared).sort(), [false, true])
      exclusive.release()
      shared.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a lease released quickly is never reported', async () => {
    const pool = leakyPool('tidy')
    const reports: LeakReport[] = []
    pool.on('leak', (r) => reports.push(r))
    try {
      for (let i = 0; i < 5; i++) {
        const lease = await pool.acquire()
        await sleep(5)
        lease.release()
      }
      await sleep(150)
      assert.equal(reports.length, 0)
      assert.equal(pool.stats().counters.leaks, 0)
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it("a leak is published on diagnostics_channel 'berth:pool:leak'", async () => {
    const pool = leakyPool('leak-channel')
    pool.on('leak', () => {})
    const published: LeakReport[] = []
    const onMessage = (message: unknown) => {
      const report = message as LeakReport
      if (report.pool === 'leak-channel') published.push(report)
    }
    diagnostics.subscribe('berth:pool:leak', onMessage)
    try {
      const lease = await pool.acquire()
      await until(() => published.length > 0, 2000)
      assert.equal(published.length, 1)
      assert.ok(published[0]!.heldMs >= 50)
      assert.ok(published[0]!.stack?.includes(THIS_FILE))
      lease.release()
    } finally {
      diagnostics.unsubscribe('berth:pool:leak', onMessage)
      await pool.close({ timeoutMs: 500 })
    }
  })

  it("without a 'leak' listener a process warning with code BERTH_LEASE_LEAK is emitted", async () => {
    const pool = leakyPool('leak-warning')
    const warnings: (Error & { code?: string })[] = []
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === 'BERTH_LEASE_LEAK' && w.message.includes('leak-warning')) warnings.push(w)
    }
    process.on('warning', onWarning)
    try {
      const lease = await pool.acquire()
      await until(() => warnings.length > 0, 2000, { message: 'no BERTH_LEASE_LEAK warning' })
      await sleep(60)
      assert.equal(warnings.length, 1)
      assert.ok(warnings[0]!.message.includes(THIS_FILE), 'the warning carries the acquire stack')
      assert.equal(pool.stats().counters.leaks, 1)
      lease.release()
    } finally {
      process.off('warning', onWarning)
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('a lease that had to wait is reported with the stack of the code that called acquire()', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({
      name: 'leak-waited',
      create: f.create,
      destroy: f.destroy,
      max: 1,
      leakDetectionMs: 50,
    })
    const reports: LeakReport[] = []
    pool.on('leak', (r) => reports.push(r))
    try {
      const first = await pool.acquire()
      const waited = acquireFromNamedHelper(pool)
      await sleep(5)
      first.release()
      const lease = await waited
      await until(() => reports.length > 0, 2000)
      assert.equal(reports.length, 1)
      assert.ok(reports[0]!.stack?.includes('acquireFromNamedHelper'), `stack: ${reports[0]!.stack}`)
      lease.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })

  it('without leakDetectionMs nothing is reported and no stack is captured', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy })
    const reports: LeakReport[] = []
    pool.on('leak', (r) => reports.push(r))
    try {
      const lease = await pool.acquire()
      assert.equal(lease.acquireStack, undefined)
      await sleep(60)
      assert.equal(reports.length, 0)
      lease.release()
    } finally {
      await pool.close({ timeoutMs: 500 })
    }
  })
})
