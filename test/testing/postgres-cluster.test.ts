import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { InvalidOptionError } from '../../src/core/errors.js'
import { type PostgresCluster, startPostgresCluster } from '../../src/testing/index.js'
import { until } from '../support/until.js'

async function sql<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(text)).rows
  } finally {
    await client.end()
  }
}

const inRecovery = async (url: string) =>
  (await sql<{ r: boolean }>(url, 'select pg_is_in_recovery() as r'))[0]!.r

describe('startPostgresCluster', () => {
  let cluster: PostgresCluster

  before(async () => {
    cluster = await startPostgresCluster({ standbys: 2 })
  })
  after(async () => {
    await cluster.destroy()
  })

  it('starts a primary and two streaming standbys that replay its writes and refuse their own', async () => {
    assert.equal(cluster.standbys.length, 2)
    assert.equal(new Set(cluster.servers.map((s) => s.port)).size, 3, 'three servers, three ports')
    assert.equal(await inRecovery(cluster.primary.url), false)
    for (const s of cluster.standbys) assert.equal(await inRecovery(s.url), true)
    await sql(cluster.primary.url, 'create table replicated (id int primary key)')
    await sql(cluster.primary.url, 'insert into replicated values (1), (2), (3)')
    for (const s of cluster.standbys) {
      await until(
        async () =>
          (await sql(s.url, "select to_regclass('replicated') is not null as t"))[0]!.t === true &&
          (await sql<{ n: number }>(s.url, 'select count(*)::int as n from replicated'))[0]!.n === 3,
        10_000,
        `standby on port ${s.port} to replay the rows`,
      )
      await assert.rejects(
        sql(s.url, 'insert into replicated values (4)'),
        (err: { code?: string }) => err.code === '25006',
      )
    }
    const senders = await sql<{ n: number }>(
      cluster.primary.url,
      "select count(*)::int as n from pg_stat_replication where state = 'streaming'",
    )
    assert.equal(senders[0]!.n, 2, 'both standbys stream from the primary')
  })

  it('names every server in a libpq multi-host URL, the primary first', () => {
    const url = new URL(cluster.url.replace(/@.*\//, '@h/'))
    assert.equal(url.username, 'postgres')
    const hosts = /@([^/]+)\//.exec(cluster.url)![1]!.split(',')
    assert.deepEqual(
      hosts,
      cluster.servers.map((s) => `127.0.0.1:${s.port}`),
    )
  })

  it('lets a standby fall behind with pauseReplay() and catch up with resumeReplay()', async () => {
    const [, lagging] = cluster.standbys
    await cluster.caughtUp()
    assert.equal(await cluster.lagBytes(lagging!), 0)
    await lagging!.pauseReplay()
    await sql(cluster.primary.url, 'insert into replicated select g from generate_series(100, 1099) g')
    await until(async () => (await cluster.lagBytes(lagging!)) > 0, 5000, 'the paused standby to lag')
    const behind = await sql<{ n: number }>(lagging!.url, 'select count(*)::int as n from replicated')
    assert.equal(behind[0]!.n, 3, 'a paused standby does not show the new rows')
    await assert.rejects(cluster.caughtUp(300), /did not catch up within 300 ms/)
    await lagging!.resumeReplay()
    await cluster.caughtUp()
    const after = await sql<{ n: number }>(lagging!.url, 'select count(*)::int as n from replicated')
    assert.equal(after[0]!.n, 1003)
  })

  it('fails over: with the primary stopped, a promoted standby takes writes', async () => {
    await cluster.primary.stop()
    const [next] = cluster.standbys
    await next!.promote()
    assert.equal(await inRecovery(next!.url), false)
    await sql(next!.url, 'insert into replicated values (10)')
    const rows = await sql<{ n: number }>(next!.url, 'select count(*)::int as n from replicated')
    assert.equal(rows[0]!.n, 1004)
  })

  it('rejoins the old primary as a standby of the new one, and fails back to it', async () => {
    const old = cluster.primary
    const [next] = cluster.standbys
    await assert.rejects(cluster.rejoin(next!), /stop it before it can rejoin/)
    const rejoined = await cluster.rejoin(old)
    assert.equal(await inRecovery(old.url), true)
    await sql(next!.url, 'insert into replicated values (11)')
    await cluster.caughtUp()
    const rows = await sql<{ n: number }>(old.url, 'select count(*)::int as n from replicated')
    assert.equal(rows[0]!.n, 1005)
    // And back: the new primary stops, the old one is promoted again and has every write.
    await next!.stop()
    await rejoined.promote()
    await sql(old.url, 'insert into replicated values (12)')
    const back = await sql<{ n: number }>(old.url, 'select count(*)::int as n from replicated')
    assert.equal(back[0]!.n, 1006)
  })
})

describe('startPostgresCluster options', () => {
  it('refuses a bad standby count with InvalidOptionError, starting nothing', async () => {
    for (const standbys of [0, 6, 1.5, '2']) {
      await assert.rejects(startPostgresCluster({ standbys: standbys as number }), (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError)
        assert.equal(err.option, 'standbys')
        return true
      })
    }
  })
})
