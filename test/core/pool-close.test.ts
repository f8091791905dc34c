import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { type Lease, Pool, PoolClosedError, PoolDestroyedError } from '../../src/core/index.js'
import { type Fake, createFakeFactory } from '../support/fake-resources.js'
import { until } from '../support/until.js'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const coreIndexUrl = new URL('../../src/core/index.js', import.meta.url).href

/** Resolves to 'settled' when `p` settles within `ms`, else to 'pending'. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<'settled' | 'pending'> {
  return Promise.race([
    p.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    sleep(ms, 'pending' as const),
  ])
}

describe('close()', () => {
  it('refuses new acquires at once with PoolClosedError while it drains', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ name: 'closing-pool', create: f.create, destroy: f.destroy })
    const lease = await pool.acquire()
    const closing = pool.close()
    assert.equal(pool.state, 'closing')
    await assert.rejects(pool.acquire(), (err: unknown) => {
      assert.ok(err instanceof PoolClosedError)
      assert.equal(err.code, 'BERTH_POOL_CLOSED')
      assert.ok(err.message.includes('closing-pool'))
      return true
    })
    await assert.rejects(pool.ready(), PoolClosedError)
    assert.equal(await settlesWithin(closing, 30), 'pending', 'close waits for the lease')
    lease.release()
    await closing
    assert.equal(pool.state, 'closed')
    await assert.rejects(pool.acquire(), PoolClosedError)
  })

  it('serves callers that were already waiting, and lets leased resources be released', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, max: 1 })
    const first = await pool.acquire()
    const waiting = pool.acquire()
    await sleep(5)
    assert.equal(pool.stats().waiting, 1)
    const closing = pool.close()
    assert.equal(pool.state, 'closing')
    first.release()
    const second = await waiting
    assert.equal(second.resource, first.resource, 'the waiter got the released resource')
    assert.equal(pool.state, 'closing')
    assert.equal(f.calls.destroy, 0)
    second.release()
    await closing
    assert.equal(pool.state, 'closed')
    assert.deepEqual(f.destroyed, [first.resource])
    assert.equal(pool.stats().counters.destroys.close, 1)
  })

  it('resolves only after the destroy callback of every resource has finished', async () => {
    const f = createFakeFactory()
    const finished: Fake[] = []
    const pool = new Pool<Fake>({
      create: f.create,
      destroy: async (r) => {
        await sleep(30)
        r.destroyed = true
        finished.push(r)
      },
      min: 3,
    })
    await pool.ready()
    const lease = await pool.acquire()
    lease.release()
    const closing = pool.close()
    assert.equal(pool.state, 'closing')
    assert.equal(await settlesWithin(closing, 10), 'pending', 'destroy callbacks still running')
    await closing
    assert.equal(pool.state, 'closed')
    assert.equal(finished.length, 3)
    assert.deepEqual(new Set(finished), new Set(f.created))
    const s = pool.stats()
    assert.equal(s.counters.destroys.close, 3)
    assert.equal(s.total, 0)
    assert.equal(s.destroying, 0)
  })

  it('with timeoutMs, a lease that is never released escalates to destroy() instead of hanging', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy })
    const kept = await pool.acquire()
    const closing = pool.close({ timeoutMs: 50 })
    assert.equal(await settlesWithin(closing, 2000), 'settled', 'close({ timeoutMs: 50 }) hung')
    assert.equal(pool.state, 'closed')
    assert.equal(kept.resource.destroyed, true, 'the leased resource was destroyed')
    assert.equal(pool.stats().counters.destroys.close, 1)
    assert.doesNotThrow(() => kept.release(), 'a late release is a silent no-op')
    assert.equal(f.calls.destroy, 1, 'and destroys nothing twice')
    assert.equal(pool.stats().total, 0)
  })
})

describe('destroy()', () => {
  it('rejects every waiter with PoolDestroyedError whose cause is the reason, and destroys leased resources', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ name: 'doomed', create: f.create, destroy: f.destroy, max: 1 })
    const held = await pool.acquire()
    const waiters = [pool.acquire(), pool.acquire()]
    const outcomes = Promise.allSettled(waiters)
    await sleep(5)
    const reason = new Error('shutting down now')
    await pool.destroy(reason)
    for (const o of await outcomes) {
      assert.equal(o.status, 'rejected')
      const err = (o as PromiseRejectedResult).reason as unknown
      assert.ok(err instanceof PoolDestroyedError)
      assert.equal(err.code, 'BERTH_POOL_DESTROYED')
      assert.equal(err.cause, reason)
      assert.ok(err.message.includes('doomed'))
    }
    assert.equal(held.resource.destroyed, true)
    assert.equal(pool.state, 'closed')
    assert.doesNotThrow(() => held.release())
    assert.equal(f.calls.destroy, 1)
    await assert.rejects(pool.acquire(), PoolClosedError)
  })

  it('aborts creates in progress: the signal given to create() aborts', async () => {
    const f = createFakeFactory()
    f.stallNext(1)
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy })
    const waiter = pool.acquire().then(
      () => 'lent',
      (err: unknown) => err,
    )
    await until(() => f.createSignals.length === 1, 2000)
    const signal = f.createSignals[0]!
    assert.equal(signal.aborted, false)
    const reason = new Error('abort them')
    const destroying = pool.destroy(reason)
    assert.equal(signal.aborted, true)
    assert.equal(signal.reason, reason)
    assert.equal(await settlesWithin(destroying, 2000), 'settled')
    const outcome = await waiter
    assert.ok(outcome instanceof PoolDestroyedError)
    assert.equal(f.created.length, 0)
    assert.equal(pool.stats().creating, 0)
  })
})

describe('close() and destroy() together', () => {
  it('concurrent close() calls return the same promise, and close() stays idempotent once closed', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, min: 1 })
    await pool.ready()
    const a = pool.close()
    const b = pool.close()
    assert.equal(a, b)
    await a
    assert.equal(pool.state, 'closed')
    await pool.close()
    assert.equal(pool.stats().counters.destroys.close, 1)
    assert.equal(f.calls.destroy, 1)
  })

  it('destroy() is idempotent and close() after destroy() resolves', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, min: 2 })
    await pool.ready()
    const a = pool.destroy()
    const b = pool.destroy()
    assert.equal(a, b)
    const closeDuringDestroy = pool.close()
    await a
    assert.equal(await settlesWithin(closeDuringDestroy, 1000), 'settled')
    assert.equal(await settlesWithin(pool.close(), 1000), 'settled')
    assert.equal(await settlesWithin(pool.destroy(), 1000), 'settled')
    assert.equal(f.calls.destroy, 2)
    assert.equal(pool.state, 'closed')
  })

  it('destroy() during close() escalates: the held lease is destroyed and close() resolves', async () => {
    const f = createFakeFactory()
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy })
    const held = await pool.acquire()
    const closing = pool.close()
    assert.equal(await settlesWithin(closing, 20), 'pending')
    await pool.destroy(new Error('enough'))
    assert.equal(await settlesWithin(closing, 1000), 'settled')
    assert.equal(held.resource.destroyed, true)
    assert.equal(pool.state, 'closed')
    held.release()
    assert.equal(f.calls.destroy, 1)
  })

  it('a hanging destroy callback does not hang close(): destroyTimeoutMs bounds it and it counts as a destroy error', async () => {
    const f = createFakeFactory({ destroyHangs: true })
    const pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, min: 2, destroyTimeoutMs: 50 })
    await pool.ready()
    const closing = pool.close()
    assert.equal(await settlesWithin(closing, 2000), 'settled', 'close hung on a hanging destroy callback')
    assert.equal(pool.state, 'closed')
    assert.equal(f.calls.destroy, 2)
    assert.equal(pool.stats().counters.destroyErrors, 2)
  })
})

describe('process lifetime', () => {
  it("a pool's timers are unref'ed: an idle pool lets the process exit by itself", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-unref-'))
    const script = path.join(dir, 'idle-pool.mts')
    await writeFile(
      script,
      `import { Pool } from ${JSON.stringify(coreIndexUrl)}
let n = 0
const pool = new Pool({
  create: async () => ({ id: ++n }),
  destroy: () => {},
  validate: () => true,
  min: 2,
  healthCheckPeriodMs: 1000,
  maxIdleMs: 5000,
  leakDetectionMs: 1000,
})
const lease = await pool.acquire()
lease.release()
console.log('released', JSON.stringify({ total: pool.stats().total, state: pool.state }))
`,
    )
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d: Buffer) => {
        stdout += d
      })
      child.stderr.on('data', (d: Buffer) => {
        stderr += d
      })
      let killed = false
      const killTimer = setTimeout(() => {
        killed = true
        child.kill('SIGKILL')
      }, 10_000)
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.once('exit', (c, s) => resolve([c, s])),
      )
      clearTimeout(killTimer)
      assert.equal(killed, false, `the child did not exit by itself within 10 s; stdout: ${stdout}`)
      assert.equal(signal, null)
      assert.equal(code, 0, `stderr: ${stderr}`)
      assert.match(stdout, /released/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('await using closes the pool at the end of the block', async () => {
    const f = createFakeFactory()
    let escaped: Pool<Fake> | undefined
    let lease: Lease<Fake> | undefined
    {
      await using pool = new Pool<Fake>({ create: f.create, destroy: f.destroy, min: 1 })
      escaped = pool
      lease = await pool.acquire()
      lease.release()
      assert.equal(pool.state, 'open')
    }
    assert.equal(escaped.state, 'closed')
    assert.equal(lease.resource.destroyed, true)
    assert.equal(escaped.stats().counters.destroys.close, 1)
  })
})
