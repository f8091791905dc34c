import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PgConfigError, createPgPool } from '../../src/pg/index.js'
import { PGBOUNCER_MISSING, testPgBouncer } from '../support/pgbouncer.js'
import { createDatabase } from '../support/postgres.js'

/** A fresh database, reached through PgBouncer in transaction mode. */
async function throughBouncer(): Promise<string | undefined> {
  const bouncer = await testPgBouncer('transaction')
  if (!bouncer) return undefined
  const direct = new URL(await createDatabase('bouncer'))
  direct.hostname = bouncer.host
  direct.port = String(bouncer.port)
  return direct.toString()
}

describe("pgbouncer: 'transaction'", () => {
  it('serves queries and transactions through a real PgBouncer in transaction mode without pipelining', async (t) => {
    const url = await throughBouncer()
    if (!url) return t.skip(PGBOUNCER_MISSING)
    await using db = createPgPool(url, { pgbouncer: 'transaction', maxConns: 4 })
    await db.exec('create table kv (k text primary key, v int)')
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => db.queryRow<{ n: number }>('select $1::int as n', [i])),
    )
    assert.deepEqual(
      results.map((r) => r?.n),
      Array.from({ length: 40 }, (_, i) => i),
    )
    assert.equal(db.stats().pool.sharedLeases, 0)
    assert.equal(db.stats().pool.counters.acquires >= 40, true)
    await db.tx(async (tx) => {
      await tx.exec("set local statement_timeout = '5s'") // transaction-scoped: allowed
      await tx.exec("insert into kv values ('a', 1)")
    })
    assert.deepEqual(await db.queryRow("select v from kv where k = 'a'"), { v: 1 })
    assert.equal(db.budget, undefined, 'no budget check against the pooler')
  })

  it('refuses statements that would leave session state on a shared server connection', async (t) => {
    const url = await throughBouncer()
    if (!url) return t.skip(PGBOUNCER_MISSING)
    await using db = createPgPool(url, { pgbouncer: 'transaction', maxConns: 2 })
    await assert.rejects(db.exec("set application_name = 'x'"), { code: 'BERTH_PG_SESSION_STATE' })
    await assert.rejects(db.exec('listen ch'), { code: 'BERTH_PG_SESSION_STATE' })
    await using conn = await db.acquire()
    await assert.rejects(conn.exec('create temp table t (x int)'), { code: 'BERTH_PG_SESSION_STATE' })
    assert.deepEqual(await conn.queryRow('select 1 as one'), { one: 1 })
  })

  it('rejects pipeline: true together with pgbouncer transaction mode', () => {
    assert.throws(
      () => createPgPool('postgres://u@127.0.0.1:1/db', { pgbouncer: 'transaction', pipeline: true }),
      (e: PgConfigError) => e instanceof PgConfigError && e.field === 'pipeline',
    )
    assert.throws(
      () => createPgPool('postgres://u@127.0.0.1:1/db', { pgbouncer: 'statement' as never }),
      (e: PgConfigError) => e instanceof PgConfigError && e.field === 'pgbouncer',
    )
  })
})
