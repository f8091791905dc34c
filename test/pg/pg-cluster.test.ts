/**
 * createPgCluster against a real primary and two streaming standbys: writes reach the primary,
 * reads the least busy replica, a paused standby leaves rotation within a probe period of
 * passing maxReplicaLag and comes back once it catches up, and read-your-writes reads never return
 * stale rows, lagging replica or not.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type PgCluster, PgClusterClosedError, PgConfigError, createPgCluster } from '../../src/pg/index.js'
import { type PostgresCluster, startPostgresCluster } from '../../src/testing/index.js'
import { until } from '../support/until.js'

let cluster: PostgresCluster

before(async () => {
  cluster = await startPostgresCluster({ standbys: 2 })
  const admin = createPgCluster(cluster.url, { budgetCheck: false })
  await admin.exec('create table if not exists items (id int primary key, note text)')
  await admin.close()
  await cluster.caughtUp()
})
after(async () => {
  await cluster?.destroy()
})

const PORT = 'select inet_server_port() as port'

function open(options: Parameters<typeof createPgCluster>[1] = {}): PgCluster {
  return createPgCluster(cluster.url, { budgetCheck: false, probePeriod: 100, ...options })
}

async function portOf(run: Promise<{ port: number } | null>): Promise<number> {
  return (await run)!.port
}

describe('createPgCluster', () => {
  it('writes to the primary and reads from a standby, with roles in stats()', async () => {
    await using db = open()
    await db.probe()
    assert.equal(db.primary, `127.0.0.1:${cluster.primary.port}`)
    assert.equal(await portOf(db.queryRow(PORT)), cluster.primary.port)
    await until(() => db.stats().replicasInRotation === 2, 5000, 'both standbys in rotation')
    const standbyPorts = new Set(cluster.standbys.map((s) => s.port))
    for (let i = 0; i < 10; i++) assert.ok(standbyPorts.has(await portOf(db.read.queryRow(PORT))))
    const s = db.stats()
    assert.equal(s.primary, `127.0.0.1:${cluster.primary.port}`)
    assert.deepEqual(
      s.hosts.map((h) => [h.host, h.role, h.state, h.inRotation]),
      cluster.servers.map((srv, i) => [
        `127.0.0.1:${srv.port}`,
        i === 0 ? 'primary' : 'standby',
        'up',
        i > 0,
      ]),
    )
    assert.equal(s.readsOnReplicas, 10)
    assert.equal(s.readsOnPrimary, 0)
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.hosts[0]))
    assert.equal(s.hosts[0]!.pool.name, `pg-cluster@127.0.0.1:${cluster.primary.port}`)
    assert.equal(await db.exec('insert into items values (1, $1) on conflict (id) do nothing', ['one']), 1)
    await db.tx(async (tx) => {
      assert.equal(await portOf(tx.queryRow(PORT)), cluster.primary.port)
    })
  })

  it('sends each read to the replica with the fewest reads in flight', async () => {
    await using db = open()
    await until(() => db.stats().replicasInRotation === 2, 5000, 'both standbys in rotation')
    const slow = Array.from({ length: 6 }, () =>
      db.read.queryRow<{ port: number }>('select inet_server_port() as port, pg_sleep(0.3)'),
    )
    await until(() => db.stats().hosts.every((h) => h.role === 'primary' || h.readsInFlight === 3), 2000, {
      message: () => `reads in flight: ${db.stats().hosts.map((h) => h.readsInFlight)}`,
    })
    const ports = (await Promise.all(slow)).map((r) => r!.port)
    for (const s of cluster.standbys) assert.equal(ports.filter((p) => p === s.port).length, 3)
  })

  it('takes a paused standby out of rotation within a probe period of passing maxReplicaLag, and back once it catches up', async () => {
    const [lagging, fresh] = cluster.standbys
    await using db = open({ maxReplicaLag: 400, probePeriod: 100 })
    const laggingKey = `127.0.0.1:${lagging!.port}`
    await until(() => db.stats().replicasInRotation === 2, 5000, 'both standbys in rotation')
    await lagging!.pauseReplay()
    try {
      const pausedAt = performance.now()
      // Writes keep coming, so the paused standby falls further behind.
      const writer = (async () => {
        for (let i = 0; i < 200 && performance.now() - pausedAt < 5000; i++) {
          await db.exec(
            'insert into items values ($1, $2) on conflict (id) do update set note = excluded.note',
            [1000 + (i % 10), `w${i}`],
          )
          if (!db.stats().hosts.find((h) => h.host === laggingKey)!.inRotation) break
          await sleep(20)
        }
      })()
      await until(
        () => !db.stats().hosts.find((h) => h.host === laggingKey)!.inRotation,
        5000,
        'the paused standby to leave rotation',
      )
      const left = performance.now() - pausedAt
      await writer
      // It passed 400 ms of lag no earlier than 400 ms after the pause; a probe every 100 ms
      // (plus a round's time) must see it by then.
      assert.ok(left < 400 + 100 + 250, `left rotation ${Math.round(left)} ms after the pause`)
      const h = db.stats().hosts.find((x) => x.host === laggingKey)!
      assert.ok(h.lagMs! > 400 && h.lagBytes! > 0 && h.replayPaused, JSON.stringify(h))
      for (let i = 0; i < 10; i++) assert.equal(await portOf(db.read.queryRow(PORT)), fresh!.port)
    } finally {
      await lagging!.resumeReplay()
    }
    await until(
      () => db.stats().hosts.find((h) => h.host === laggingKey)!.inRotation,
      5000,
      'back in rotation',
    )
  })

  it('reads its own writes through a session, a lagging replica or not', async () => {
    const [lagging] = cluster.standbys
    await using db = open()
    await until(() => db.stats().replicasInRotation === 2, 5000, 'both standbys in rotation')
    const check = async (from: number, n: number) => {
      const session = db.session()
      for (let i = from; i < from + n; i++) {
        await session.exec('insert into items values ($1, $2)', [i, `rw${i}`])
        const row = await session.read.queryRow<{ note: string }>('select note from items where id = $1', [i])
        assert.equal(row?.note, `rw${i}`, `row ${i} read back`)
      }
      return session
    }
    const s1 = await check(2000, 50)
    assert.match(s1.position!, /^[0-9A-F]+\/[0-9A-F]+$/)
    await lagging!.pauseReplay()
    try {
      await check(3000, 50)
      // A token carried to another session, and db.position() with db.read: the same guarantee.
      await db.exec('insert into items values (4000, $1)', ['carried'])
      const token = await db.position()
      const row = await db.read.queryRow<{ note: string }>('select note from items where id = 4000', [], {
        after: token,
      })
      assert.equal(row?.note, 'carried')
      const other = db.session(token)
      assert.equal(
        (await other.read.queryRow<{ note: string }>('select note from items where id = 4000'))?.note,
        'carried',
      )
    } finally {
      await lagging!.resumeReplay()
    }
    // Reads with a position no replica has reached yet go to the primary, and stats say so.
    const before = db.stats().readsOnPrimary
    await db.read.query('select 1', [], { after: 'FFFFFFFF/FFFFFFFF' })
    assert.equal(db.stats().readsOnPrimary, before + 1)
  })

  it('refuses bad input with PgConfigError naming it, and work after close with PgClusterClosedError', async () => {
    const url = cluster.url
    assert.throws(
      () => createPgCluster(`${url}?target_session_attrs=standby`),
      (e: unknown) => e instanceof PgConfigError && e.field === 'target_session_attrs',
    )
    assert.throws(
      () => createPgCluster(url, { maxReplicaLag: -1 }),
      (e: unknown) => e instanceof PgConfigError && e.field === 'maxReplicaLag',
    )
    assert.throws(
      () => createPgCluster(url, { probePeriod: 'soon' }),
      (e: unknown) => e instanceof PgConfigError && e.field === 'probePeriod',
    )
    assert.throws(
      () => createPgCluster({ primary: url }),
      (e: unknown) => e instanceof PgConfigError && e.field === 'primary',
    )
    assert.throws(
      () => createPgCluster({ primary: cluster.primary.url, replicas: [cluster.primary.url] }),
      (e: unknown) => e instanceof PgConfigError && e.field === 'host',
    )
    assert.throws(
      () => createPgCluster(42 as never),
      (e: unknown) => e instanceof PgConfigError && e.field === 'input',
    )
    assert.throws(
      () => createPgCluster(url, { maxConns: 0 }),
      (e: unknown) => e instanceof PgConfigError && e.field === 'maxConns',
    )
    const db = open()
    await assert.rejects(db.read.query('select 1', [], { after: 'nope' }), /Invalid option after/)
    await db.close()
    await assert.rejects(db.query('select 1'), PgClusterClosedError)
    await assert.rejects(db.read.query('select 1'), PgClusterClosedError)
  })

  it("checkBudget counts each host's pool and its probe connection, and so does the first-connection check", async () => {
    await using db = open({ maxConns: 5, instances: 3 })
    await db.probe()
    const reports = await db.checkBudget()
    assert.deepEqual(
      reports.map((r) => r.host).sort(),
      cluster.servers.map((s) => `127.0.0.1:${s.port}`).sort(),
    )
    for (const { report } of reports) {
      assert.equal(report.maxConns, 5)
      assert.equal(report.instances, 3)
      assert.equal(report.extraConnections, 1)
      assert.equal(report.demand, 18) // (5 + 1 probe) x 3
      assert.equal(report.recommendedMaxConns, report.perInstanceBudget - 1)
    }
    // a pool of exactly the server's available connections fits alone, not with the probe beside it
    const available = reports[0]!.report.available
    const warnings: string[] = []
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === 'BERTH_PG_BUDGET') warnings.push(w.message)
    }
    process.on('warning', onWarning)
    try {
      await using full = createPgCluster(cluster.url, { maxConns: available, probePeriod: 100 })
      await full.probe()
      await full.read.query('select 1')
      await until(() => warnings.length >= 2, 10_000)
      assert.match(
        warnings.join('\n'),
        new RegExp(
          `\\(maxConns ${available} \\+ 1 other\\) x 1 instance\\(s\\) = ${available + 1} connections`,
        ),
      )
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('takes { primary, replicas } and finds the roles itself', async () => {
    const [s1, s2] = cluster.standbys
    await using db = createPgCluster(
      {
        primary: cluster.primary.url,
        replicas: [
          s1!.url,
          {
            host: '127.0.0.1',
            port: s2!.port,
            user: s2!.user,
            password: s2!.password,
            database: s2!.database,
          },
        ],
      },
      { budgetCheck: false, probePeriod: 100 },
    )
    await db.probe()
    assert.equal(await portOf(db.queryRow(PORT)), cluster.primary.port)
    assert.deepEqual(
      db.stats().hosts.map((h) => h.declared),
      ['primary', 'replica', 'replica'],
    )
  })
})
