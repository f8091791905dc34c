/**
 * The ConnectionManager from core (`berth`) in a Postgres-only service: no gRPC anywhere. Besides
 * test support, this file imports only berth core and berth/pg; a child process with just those
 * two shows that they never load grpc-js.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  CloseTimeoutError,
  ConnectionManager,
  InvalidOptionError,
  Lifecycle,
  type ManagedOwner,
  type OwnerHealth,
} from '../../src/core/index.js'
import { type PgConnection, type PgPool, createPgPool } from '../../src/pg/index.js'
import { runCli } from '../cli/run-cli.js'
import { createDatabase } from '../support/postgres.js'

/** An owner of some other kind: the manager shows what its health() says, and nothing else. */
class QueueConsumer extends Lifecycle implements ManagedOwner {
  readonly name = 'queue'
  probes = 0
  probe(): Promise<void> {
    this.probes++
    return Promise.resolve()
  }
  health(): OwnerHealth {
    return Object.freeze({ kind: 'queue', ready: this.state === 'open', inUse: 0, detail: { lag: 3 } })
  }
  protected override onClose(): void {}
  protected override onDestroy(): void {}
}

/** A started manager owning one pool, one of whose connections `fn` gets, held. */
async function withHeldConnection(
  prefix: string,
  fn: (manager: ConnectionManager, db: PgPool, held: PgConnection) => Promise<void>,
): Promise<void> {
  const manager = new ConnectionManager()
  try {
    const db = manager.postgres('db', createPgPool(await createDatabase(prefix)))
    await manager.start({ timeoutMs: 10_000 })
    await fn(manager, db, await db.acquire())
  } finally {
    await manager.destroy()
  }
}

describe('ConnectionManager (core) for a Postgres-only service', () => {
  it('is exported by berth core, and berth core with berth/pg never loads @grpc/grpc-js', async () => {
    const { code, stdout, stderr } = await runCli([], {
      script: 'test/core/fixtures/postgres-only-service.ts',
      killAfterMs: 30_000,
    })
    assert.equal(code, 0, stderr)
    const seen = JSON.parse(stdout) as { pg: number; grpc: string[] }
    assert.ok(seen.pg > 0, 'the check sees CommonJS packages that were loaded (pg is one)')
    assert.deepEqual(seen.grpc, [], 'no @grpc module was loaded')
  })

  it('starts a pool with minConns 0 and a plain resource, shows each kind from its owner, and closes cleanly', async () => {
    const manager = new ConnectionManager()
    try {
      const db = manager.postgres('db', createPgPool(await createDatabase('manager_core'), { minConns: 0 }))
      let closedWith: unknown
      manager.add('cache', {
        close: (o?: { timeoutMs?: number }) => {
          closedWith = o
        },
        ready: () => Promise.resolve(),
      })
      const queue = manager.add('queue', new QueueConsumer())
      assert.equal(manager.health().resources.db!.state, 'connecting', 'no connection, no probe yet')

      await manager.start({ timeoutMs: 10_000 })
      assert.ok(db.stats().newConnsCount >= 1, 'the probe opened a connection')
      assert.equal(queue.probes, 1)
      const health = manager.health()
      assert.equal(health.ready, true)
      assert.deepEqual(
        Object.fromEntries(Object.entries(health.resources).map(([n, r]) => [n, [r.kind, r.state]])),
        { db: ['postgres', 'ready'], cache: ['other', 'ready'], queue: ['queue', 'ready'] },
      )
      assert.equal(health.resources.queue!.detail.lag, 3)
      assert.equal(typeof health.resources.db!.detail.totalConns, 'number')

      const report = await manager.close({ timeoutMs: 5000 })
      assert.equal(report.clean, true)
      assert.deepEqual(
        Object.values(report.resources).map((r) => [r.kind, r.outcome]),
        [
          ['postgres', 'closed'],
          ['other', 'closed'],
          ['queue', 'closed'],
        ],
      )
      assert.deepEqual(closedWith, { timeoutMs: 5000 }, "a plain resource's close() is given the deadline")
      assert.equal(db.state, 'closed')
      assert.equal(manager.health().resources.cache!.state, 'closed')
    } finally {
      await manager.destroy()
    }
  })

  it('registers a pool the same way through add() and postgres()', async () => {
    const url = await createDatabase('manager_add')
    const manager = new ConnectionManager()
    try {
      manager.postgres('a', createPgPool(url))
      manager.add('b', createPgPool(url))
      const { a, b } = manager.health().resources
      assert.deepEqual(a, b)
      assert.equal(a!.kind, 'postgres')
      assert.throws(
        () => manager.postgres('c', { close() {} } as never),
        (err: unknown) => err instanceof InvalidOptionError && err.option === 'pool',
      )
    } finally {
      await manager.destroy()
    }
  })

  it('destroys a pool still lending a connection at the deadline, and reports what was in use', async () => {
    await withHeldConnection('manager_deadline', async (manager, db, held) => {
      const started = performance.now()
      const report = await manager.close({ timeoutMs: 100 })
      assert.ok(performance.now() - started < 3000, 'the held connection did not hold the close up')
      const r = report.resources.db!
      assert.equal(report.clean, false)
      assert.equal(r.outcome, 'destroyed')
      assert.equal(r.inFlightWhenForced, 1, "from the pool's health().inUse")
      assert.ok(r.reason instanceof CloseTimeoutError)
      assert.equal(db.state, 'closed')
      await assert.rejects(held.query('select 1'))
    })
  })

  it('reports a plain resource whose close() fails as destroyed, with that error, after destroying it', async () => {
    const manager = new ConnectionManager()
    const failure = new Error('flush failed')
    const destroyedWith: unknown[] = []
    manager.add('outbox', {
      close: () => Promise.reject(failure),
      destroy: (reason?: unknown) => {
        destroyedWith.push(reason)
      },
    })
    const report = await manager.close({ timeoutMs: 1000 })
    const r = report.resources.outbox!
    assert.equal(r.outcome, 'destroyed')
    assert.equal(r.reason, failure)
    assert.equal(r.inFlightWhenForced, undefined, 'a plain resource cannot tell what it had in flight')
    assert.deepEqual(destroyedWith, [failure])
  })

  it('destroys at once when the close signal aborts, and checks close options before anything', async () => {
    await withHeldConnection('manager_signal', async (manager, db, held) => {
      await assert.rejects(
        manager.close({ timeoutMs: -1 }),
        (err: unknown) => err instanceof InvalidOptionError && err.option === 'timeoutMs',
      )
      assert.equal(db.state, 'open', 'a refused close changed nothing')
      const controller = new AbortController()
      const closing = manager.close({ timeoutMs: 60_000, signal: controller.signal })
      await sleep(50)
      assert.equal(db.state, 'closing', 'draining while the connection is held')
      const why = new Error('deploy cancelled')
      controller.abort(why)
      const report = await closing
      assert.equal(report.resources.db!.outcome, 'destroyed')
      assert.equal(report.resources.db!.reason, why)
      await assert.rejects(held.query('select 1'))
    })
  })
})
