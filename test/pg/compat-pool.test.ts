import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'
import { eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { integer, pgTable, text } from 'drizzle-orm/pg-core'
import { Kysely, PostgresDialect } from 'kysely'
import type { QueryArrayConfig } from 'pg'
import { Pool } from '../../src/pg/index.js'
import { createDatabase } from '../support/postgres.js'

async function withPool<T>(options: Record<string, unknown>, fn: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = new Pool({ connectionString: await createDatabase('compat'), ...options })
  try {
    return await fn(pool)
  } finally {
    if (!pool.ending) await pool.end()
  }
}

describe('pg.Pool drop-in', () => {
  it('answers query() with promises and with callbacks, with pg result objects', async () => {
    await withPool({ max: 2 }, async (pool) => {
      const r = await pool.query('select $1::int as n', [7])
      assert.equal(r.rows[0]?.n, 7)
      assert.equal(r!.command, 'SELECT')
      const viaCallback = await new Promise<number>((resolve, reject) => {
        pool.query('select 8 as n', (err, res) => (err ? reject(err) : resolve(res!.rows[0].n)))
      })
      assert.equal(viaCallback, 8)
      const config: QueryArrayConfig = { text: 'select 1 as a, 2 as b', rowMode: 'array' }
      const arrays = await pool.query(config)
      assert.deepEqual(arrays!.rows, [[1, 2]])
    })
  })

  it('checks out clients with connect(), counts them, and emits connect, acquire, release and remove', async () => {
    const events: string[] = []
    await withPool({ max: 2 }, async (pool) => {
      for (const e of ['connect', 'acquire', 'release', 'remove']) pool.on(e, () => events.push(e))
      const client = await pool.connect()
      assert.equal(pool.totalCount, 1)
      assert.equal(pool.idleCount, 0)
      const one = await client.query<{ one: number }>('select 1 as one')
      assert.equal(one.rows[0]?.one, 1)
      client.release()
      assert.throws(() => client.release(), /already been released/)
      assert.equal(pool.idleCount, 1)
      const again = await new Promise<ReturnType<typeof Object>>((resolve, reject) =>
        pool.connect((err, c, done) => {
          if (err) return reject(err)
          done!()
          resolve(c)
        }),
      )
      assert.equal(again, client, 'the same wrapper for the same connection')
      const c2 = await pool.connect()
      c2.release(new Error('broken')) // destroyed, as pg.Pool does
      await sleep(20)
      assert.equal(pool.totalCount, 0)
    })
    assert.deepEqual(events.slice(0, 3), ['connect', 'acquire', 'release'])
    assert.ok(events.includes('remove'))
  })

  it('waits for a client when all are out, and counts the waiting callers', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const held = await pool.connect()
      const waiting = pool.query('select 2 as n')
      await sleep(10)
      assert.equal(pool.waitingCount, 1)
      held.release()
      assert.equal((await waiting).rows[0]?.n, 2)
    })
  })

  it('times out a checkout after connectionTimeoutMillis', async () => {
    await withPool({ max: 1, connectionTimeoutMillis: 50 }, async (pool) => {
      const held = await pool.connect()
      await assert.rejects(pool.connect(), { code: 'BERTH_ACQUIRE_TIMEOUT' })
      held.release()
    })
  })

  it('destroys a client released inside a transaction instead of handing the transaction on', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.query('create table t (x int)')
      const c = await pool.connect()
      await c.query('begin')
      await c.query('insert into t values (1)')
      c.release()
      const n = await pool.query('select count(*)::int as n from t')
      assert.equal(n.rows[0]?.n, 0, 'the uncommitted insert did not leak')
    })
  })

  it('does not crash on an idle client error without an error listener, and emits it with one', async () => {
    await withPool({ max: 2 }, async (pool) => {
      const victim = await pool.connect()
      const killer = await pool.connect()
      const pid = victim.processID
      victim.release() // idle in the pool now
      const errors: unknown[] = []
      pool.on('error', (err) => errors.push(err))
      await killer.query('select pg_terminate_backend($1)', [pid])
      killer.release()
      await sleep(200)
      assert.equal(errors.length, 1)
      assert.equal((await pool.query('select 1 as one')).rows[0]?.one, 1)
    })
  })

  it('rejects a second end() and never shows the password', async () => {
    const pool = new Pool({ connectionString: await createDatabase('compat'), password: 'pw-s3cret', max: 1 })
    assert.doesNotMatch(inspect(pool.options), /pw-s3cret/)
    await pool.end()
    assert.equal(pool.ended, true)
    await assert.rejects(pool.end(), /more than once/)
  })
})

describe('query builders on the drop-in', () => {
  it('runs Kysely (PostgresDialect) against it', async () => {
    const pool = new Pool({ connectionString: await createDatabase('kysely'), max: 4 })
    interface DB {
      person: { id: number; name: string }
    }
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: pool as never }) })
    try {
      await db.schema
        .createTable('person')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text')
        .execute()
      await db
        .insertInto('person')
        .values([
          { id: 1, name: 'Ada' },
          { id: 2, name: 'Grace' },
        ])
        .execute()
      const people = await db.selectFrom('person').selectAll().orderBy('id').execute()
      assert.deepEqual(people, [
        { id: 1, name: 'Ada' },
        { id: 2, name: 'Grace' },
      ])
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('person').set({ name: 'Ada Lovelace' }).where('id', '=', 1).execute()
      })
      const ada = await db.selectFrom('person').select('name').where('id', '=', 1).executeTakeFirst()
      assert.equal(ada?.name, 'Ada Lovelace')
    } finally {
      await db.destroy() // ends the pool
    }
  })

  it('runs Drizzle (node-postgres driver) against it', async () => {
    const pool = new Pool({ connectionString: await createDatabase('drizzle'), max: 4 })
    const accounts = pgTable('accounts', { id: integer('id').primaryKey(), owner: text('owner').notNull() })
    const db = drizzle(pool as never)
    try {
      await pool.query('create table accounts (id integer primary key, owner text not null)')
      await db.insert(accounts).values([
        { id: 1, owner: 'ada' },
        { id: 2, owner: 'grace' },
      ])
      const rows = await db.select().from(accounts).where(eq(accounts.owner, 'grace'))
      assert.deepEqual(rows, [{ id: 2, owner: 'grace' }])
      await db.transaction(async (tx) => {
        await tx.update(accounts).set({ owner: 'ada l.' }).where(eq(accounts.id, 1))
      })
      const [ada] = await db.select().from(accounts).where(eq(accounts.id, 1))
      assert.equal(ada?.owner, 'ada l.')
    } finally {
      await pool.end()
    }
  })
})
