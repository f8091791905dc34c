import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'
import {
  PgConfigError,
  PgError,
  type PgPool,
  QueryAbortedError,
  QueryTimeoutError,
  createPgPool,
  isRetryable,
  isRetryableSqlState,
} from '../../src/pg/index.js'
import { createDatabase } from '../support/postgres.js'
import { until } from '../support/until.js'

async function withPool<T>(
  options: Parameters<typeof createPgPool>[1],
  fn: (db: PgPool) => Promise<T>,
): Promise<T> {
  const url = await createDatabase('pgpool')
  const db = createPgPool(url, options)
  try {
    return await fn(db)
  } finally {
    await db.close({ timeoutMs: 5000 })
  }
}

describe('createPgPool: queries', () => {
  it('runs query, queryRow and exec with parameters against a real server', async () => {
    await withPool({ maxConns: 2 }, async (db) => {
      const r = await db.query<{ n: number; s: string }>('select $1::int as n, $2::text as s', [41, 'x'])
      assert.deepEqual(r.rows, [{ n: 41, s: 'x' }])
      assert.equal(r.rowCount, 1)
      assert.deepEqual(
        r.fields.map((f) => f.name),
        ['n', 's'],
      )
      assert.deepEqual(await db.queryRow('select 1 as one'), { one: 1 })
      assert.equal(await db.queryRow('select 1 where false'), null)
      await db.exec('create table t (id int primary key, v text)')
      assert.equal(await db.exec('insert into t values (1, $1), (2, $1)', ['a']), 2)
      assert.equal(await db.exec('update t set v = $1', ['b']), 2)
    })
  })

  it('turns a server error into a PgError with SQLSTATE, detail and constraint', async () => {
    await withPool({ maxConns: 1 }, async (db) => {
      await db.exec('create table u (id int primary key)')
      await db.exec('insert into u values (1)')
      const err = await db.exec('insert into u values (1)').catch((e: unknown) => e)
      assert.ok(err instanceof PgError)
      assert.equal(err.code, 'BERTH_PG_QUERY')
      assert.equal(err.sqlState, '23505')
      assert.equal(err.constraint, 'u_pkey')
      assert.match(err.detail ?? '', /Key \(id\)=\(1\) already exists/)
      assert.equal(err.retryable, false)
      // the connection is fine afterwards
      assert.deepEqual(await db.queryRow('select 2 as two'), { two: 2 })
    })
  })

  it('applies statement_timeout from the connection string to every statement (the server enforces it)', async () => {
    const url = `${await createDatabase('stmt_timeout')}?statement_timeout=100`
    await using db = createPgPool(url, { maxConns: 1 })
    const err = await db.query('select pg_sleep(2)').catch((e: unknown) => e)
    assert.ok(err instanceof PgError, String(err))
    assert.equal(err.sqlState, '57014') // query_canceled by statement_timeout
    assert.deepEqual(await db.queryRow("select current_setting('statement_timeout') as t"), { t: '100ms' })
  })

  it('classifies errors worth retrying', () => {
    for (const state of ['08006', '08001', '57P01', '53300', '40001', '40P01'])
      assert.equal(isRetryableSqlState(state), true, state)
    for (const state of ['23505', '42601', '22012', '57014'])
      assert.equal(isRetryableSqlState(state), false, state)
    assert.equal(isRetryable(new Error('plain')), false)
  })

  it('rejects unknown options and bad durations with a PgConfigError naming the field', () => {
    assert.throws(
      () => createPgPool('postgres://u@127.0.0.1:1/db', { colour: 'blue' } as never),
      (e: PgConfigError) => e instanceof PgConfigError && e.field === 'colour',
    )
    assert.throws(
      () => createPgPool('postgres://u@127.0.0.1:1/db', { acquireTimeout: 'soon' }),
      (e: PgConfigError) => e instanceof PgConfigError && e.field === 'acquireTimeout',
    )
  })

  it('never shows the password when the pool or its config is printed', async () => {
    await using db = createPgPool('postgres://alice:s3cret-pw@127.0.0.1:1/db')
    assert.doesNotMatch(inspect(db.config, { depth: 5, showHidden: true }), /s3cret-pw/)
    assert.doesNotMatch(JSON.stringify(db.config), /s3cret-pw/)
    assert.doesNotMatch(String(db.config), /s3cret-pw/)
    assert.doesNotMatch(JSON.stringify(db.stats()), /s3cret-pw/)
  })
})

describe('createPgPool: connections and transactions', () => {
  it('lends an exclusive connection that keeps session state until released, and `await using` releases it', async () => {
    await withPool({ maxConns: 1 }, async (db) => {
      {
        await using conn = await db.acquire()
        await conn.exec("set application_name = 'berth-test'")
        assert.deepEqual(await conn.queryRow('show application_name'), { application_name: 'berth-test' })
        assert.equal(db.stats().acquiredConns, 1)
      }
      assert.equal(db.stats().acquiredConns, 0)
      assert.equal(db.stats().idleConns, 1)
    })
  })

  it('commits when the function returns and rolls back when it throws', async () => {
    await withPool({ maxConns: 2 }, async (db) => {
      await db.exec('create table acct (id int primary key, balance int)')
      await db.exec('insert into acct values (1, 100), (2, 0)')
      await db.tx(async (tx) => {
        await tx.exec('update acct set balance = balance - 30 where id = 1')
        await tx.exec('update acct set balance = balance + 30 where id = 2')
      })
      await assert.rejects(
        db.tx(async (tx) => {
          await tx.exec('update acct set balance = balance - 1000 where id = 1')
          throw new Error('insufficient funds')
        }),
        /insufficient funds/,
      )
      const rows = (await db.query<{ id: number; balance: number }>('select * from acct order by id')).rows
      assert.deepEqual(rows, [
        { id: 1, balance: 70 },
        { id: 2, balance: 30 },
      ])
    })
  })

  it('nests transactions with savepoints: an inner failure rolls back only the inner work', async () => {
    await withPool({ maxConns: 1 }, async (db) => {
      await db.exec('create table log (msg text)')
      await db.tx(async (tx) => {
        await tx.exec("insert into log values ('outer')")
        await assert.rejects(
          tx.tx(async (inner) => {
            await inner.exec("insert into log values ('inner')")
            throw new Error('inner fails')
          }),
          /inner fails/,
        )
        await tx.tx(async (inner) => {
          await inner.exec("insert into log values ('inner ok')")
        })
      })
      const msgs = (await db.query<{ msg: string }>('select msg from log order by msg')).rows.map(
        (r) => r.msg,
      )
      assert.deepEqual(msgs, ['inner ok', 'outer'])
    })
  })

  it('sets isolation, read only and deferrable, and refuses writes in a read-only transaction', async () => {
    await withPool({ maxConns: 1 }, async (db) => {
      const level = await db.tx(
        async (tx) =>
          (await tx.queryRow<{ l: string }>("select current_setting('transaction_isolation') as l"))?.l,
        {
          isolation: 'serializable',
          readOnly: true,
          deferrable: true,
        },
      )
      assert.equal(level, 'serializable')
      const err = await db
        .tx(async (tx) => tx.exec('create table nope (x int)'), { readOnly: true })
        .catch((e: unknown) => e)
      assert.ok(err instanceof PgError)
      assert.equal(err.sqlState, '25006') // read_only_sql_transaction
      await assert.rejects(
        db.tx(async () => 1, { isolation: 'chaos' as never }),
        { code: 'BERTH_INVALID_OPTION' },
      )
    })
  })

  it('retries a transaction after a serialization failure when asked to', async () => {
    await withPool({ maxConns: 3 }, async (db) => {
      await db.exec('create table c (id int primary key, n int)')
      await db.exec('insert into c values (1, 0)')
      let attempts = 0
      // Two serializable transactions read then write the same row; one must fail with 40001.
      const bump = () =>
        db.tx(
          async (tx) => {
            attempts++
            const row = await tx.queryRow<{ n: number }>('select n from c where id = 1')
            await sleep(50)
            await tx.exec('update c set n = $1 where id = 1', [(row?.n ?? 0) + 1])
          },
          { isolation: 'serializable', retries: 5 },
        )
      await Promise.all([bump(), bump()])
      assert.deepEqual(await db.queryRow('select n from c where id = 1'), { n: 2 }, 'both increments landed')
      assert.ok(attempts >= 3, `a serialization failure was retried (attempts: ${attempts})`)
    })
  })

  it('rolls back a transaction left open on a released connection before anyone reuses it', async () => {
    await withPool({ maxConns: 1 }, async (db) => {
      await db.exec('create table leftover (x int)')
      const conn = await db.acquire()
      await conn.exec('begin')
      await conn.exec('insert into leftover values (1)')
      await conn.release()
      const next = await db.acquire()
      assert.equal(next.client.getTransactionStatus(), 'I')
      assert.deepEqual(await next.queryRow('select count(*)::int as n from leftover'), { n: 0 })
      await next.release()
    })
  })
})

describe('createPgPool: failures', () => {
  it('survives an error on an idle connection without crashing and replaces the connection', async () => {
    await withPool({ maxConns: 2 }, async (db) => {
      const victim = await db.acquire()
      const killer = await db.acquire()
      const pid = (await victim.queryRow<{ pid: number }>('select pg_backend_pid() as pid'))?.pid
      await victim.release() // now idle in the pool
      await killer.exec('select pg_terminate_backend($1)', [pid])
      await killer.release()
      // The idle client sees the termination and emits 'error'; the pool drops it. No crash.
      await until(() => db.stats().pool.counters.destroys.error > 0, 3000).catch(() => {}) // asserted below
      assert.equal(db.stats().pool.counters.destroys.error, 1, 'the broken idle connection was dropped')
      const pids = await Promise.all([
        db.queryRow<{ pid: number }>('select pg_backend_pid() as pid, pg_sleep(0.05)'),
        db.queryRow<{ pid: number }>('select pg_backend_pid() as pid, pg_sleep(0.05)'),
      ])
      assert.ok(
        pids.every((r) => r?.pid !== pid),
        'no caller was handed the dead connection',
      )
    })
  })

  it('replaces every connection after pg_terminate_backend of all of them, unseen by callers', async () => {
    for (const pipeline of [true, false]) {
      await withPool({ maxConns: 4, minConns: 4, pipeline }, async (db) => {
        await db.ready()
        const { default: pg } = await import('pg')
        const admin = new pg.Client(db.config.client)
        await admin.connect()
        try {
          const killed = await admin.query(
            'select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
          )
          assert.equal(killed.rows[0].n, 4, 'all four pool connections were terminated')
        } finally {
          await admin.end()
        }
        await sleep(200) // the terminations reach the idle clients, which report them to the pool
        const rows = await Promise.all(
          Array.from({ length: 12 }, (_, i) => db.queryRow<{ i: number }>('select $1::int as i', [i])),
        )
        assert.deepEqual(
          rows.map((r) => r?.i),
          Array.from({ length: 12 }, (_, i) => i),
          `no caller saw an error (pipeline: ${pipeline})`,
        )
        assert.ok(db.stats().pool.counters.destroys.error >= 4, 'the dead connections were dropped')
      })
    }
  })

  it('aborts a running query with a CancelRequest: the backend stops it and the connection is reused', async () => {
    await withPool({ maxConns: 1 }, async (db) => {
      const pid = (
        await db.queryRow<{ pid: number }>('select pg_backend_pid() as pid', [], {
          signal: AbortSignal.timeout(5000),
        })
      )?.pid
      const ac = new AbortController()
      const started = performance.now()
      setTimeout(() => ac.abort(new Error('client went away')), 150)
      const err = await db.query('select pg_sleep(30)', [], { signal: ac.signal }).catch((e: unknown) => e)
      assert.ok(err instanceof QueryAbortedError, String(err))
      assert.equal((err.cause as Error).message, 'client went away')
      assert.ok(performance.now() - started < 5000, 'the abort ended the call promptly')
      // Seen from a separate client: the backend is no longer running the query.
      const { default: pg } = await import('pg')
      const observer = new pg.Client(db.config.client)
      await observer.connect()
      try {
        const active = await observer.query(
          "select count(*)::int as n from pg_stat_activity where query like 'select pg_sleep(30)%' and state = 'active'",
        )
        assert.equal(active.rows[0].n, 0)
      } finally {
        await observer.end()
      }
      const again = await db.queryRow<{ pid: number }>('select pg_backend_pid() as pid', [], {
        signal: AbortSignal.timeout(5000),
      })
      assert.equal(again?.pid, pid, 'the same connection serves the next call')
      assert.equal(db.stats().pool.counters.destroys.error, 0, 'nothing was destroyed')
    })
  })

  it('times out a call with timeoutMs: the query is cancelled and a QueryTimeoutError says so', async () => {
    await withPool({ maxConns: 1 }, async (db) => {
      const err = await db.query('select pg_sleep(30)', [], { timeoutMs: 150 }).catch((e: unknown) => e)
      assert.ok(err instanceof QueryTimeoutError, String(err))
      assert.equal(err.code, 'BERTH_QUERY_TIMEOUT')
      assert.equal(err.timeoutMs, 150)
      // inside a transaction too, per statement
      const inTx = await db
        .tx(async (tx) => tx.exec('select pg_sleep(30)', [], { timeoutMs: 100 }))
        .catch((e: unknown) => e)
      assert.ok(inTx instanceof QueryTimeoutError, String(inTx))
      assert.deepEqual(await db.queryRow('select 1 as one'), { one: 1 })
      await assert.rejects(db.query('select 1', [], { timeoutMs: -1 }), { code: 'BERTH_INVALID_OPTION' })
    })
  })

  it('gives up the wait for a connection when the signal aborts first', async () => {
    await withPool({ maxConns: 1 }, async (db) => {
      const held = await db.acquire()
      const ac = new AbortController()
      setTimeout(() => ac.abort(new Error('gave up')), 50)
      await assert.rejects(db.query('select 1', [], { signal: ac.signal }), { code: 'BERTH_ACQUIRE_ABORTED' })
      await held.release()
      assert.deepEqual(await db.queryRow('select 1 as one'), { one: 1 })
    })
  })

  it('reports pgxpool statistics', async () => {
    await withPool({ maxConns: 2, pipeline: false }, async (db) => {
      await Promise.all([
        db.query('select pg_sleep(0.05)'),
        db.query('select pg_sleep(0.05)'),
        db.query('select 1'),
      ])
      const s = db.stats()
      assert.ok(Object.isFrozen(s))
      assert.equal(s.maxConns, 2)
      assert.equal(s.totalConns, 2)
      assert.equal(s.acquireCount, 3)
      assert.equal(s.newConnsCount, 2)
      assert.ok(s.emptyAcquireCount >= 1, 'the third call waited')
      assert.equal(s.queryMs.count, 3)
      assert.ok(s.queryMs.max >= 40, `query max ${s.queryMs.max}`)
    })
  })
})

describe('createPgPool: multiplexing', () => {
  it('pipelines plain statements over few shared connections, where pipeline: false takes one each', async () => {
    const run = (db: PgPool) =>
      Promise.all(
        Array.from({ length: 64 }, (_, i) => db.queryRow<{ n: number }>('select $1::int as n', [i])),
      )
    await withPool({ maxConns: 8 }, async (db) => {
      const rows = await run(db)
      assert.deepEqual(
        rows.map((r) => r?.n),
        Array.from({ length: 64 }, (_, i) => i),
        'every caller got its own answer',
      )
      assert.ok(db.stats().totalConns <= 2, `${db.stats().totalConns} connections for 64 callers at depth 32`)
    })
    await withPool({ maxConns: 8, pipeline: false }, async (db) => {
      await run(db)
      assert.equal(db.stats().totalConns, 8)
    })
  })

  it('keeps an error in one pipelined statement from touching the others', async () => {
    await withPool({ maxConns: 1 }, async (db) => {
      const results = await Promise.allSettled([
        db.queryRow('select 1 as a'),
        db.queryRow('select 1 / 0 as boom'),
        db.queryRow('select 2 as b'),
      ])
      assert.deepEqual(results[0], { status: 'fulfilled', value: { a: 1 } })
      assert.equal(results[1]?.status, 'rejected')
      assert.equal(((results[1] as PromiseRejectedResult).reason as PgError).sqlState, '22012')
      assert.deepEqual(results[2], { status: 'fulfilled', value: { b: 2 } })
      assert.equal(db.stats().totalConns, 1, 'all three shared one connection')
    })
  })

  it('stops adding statements behind a slow one: fast queries go to another connection', async () => {
    await withPool({ maxConns: 4, pipelineSlowQuery: 30 }, async (db) => {
      let slowDone = false
      const slow = db.query('select pg_sleep(0.6)').then(() => {
        slowDone = true
      })
      await sleep(80) // the slow statement is now older than pipelineSlowQuery
      const fast = await Promise.all(Array.from({ length: 20 }, () => db.queryRow('select 1 as one')))
      assert.equal(fast.length, 20)
      assert.equal(slowDone, false, 'the fast queries finished while the slow one still ran')
      await slow
    })
  })

  it('runs session-changing statements on a connection that is reset before reuse', async () => {
    await withPool({ maxConns: 2 }, async (db) => {
      await db.exec("set application_name = 'leaked'")
      const names = await Promise.all(
        Array.from({ length: 10 }, () =>
          db.queryRow<{ n: string }>("select current_setting('application_name') as n"),
        ),
      )
      assert.ok(
        names.every((r) => r?.n !== 'leaked'),
        'a SET through db.query never leaks to later callers',
      )
      await db.exec('create temp table scratch (x int)')
      const seen = await db.queryRow<{ n: number }>(
        "select count(*)::int as n from pg_class where relname = 'scratch'",
      )
      assert.equal(seen?.n, 0, 'the temporary table went with DISCARD ALL')
    })
  })

  it('resets LISTEN, session advisory locks and prepared statements on an acquired connection', async () => {
    await withPool({ maxConns: 1 }, async (db) => {
      {
        await using conn = await db.acquire()
        await conn.exec('listen berth_channel')
        await conn.queryRow('select pg_advisory_lock(42)')
        await conn.exec('prepare berth_stmt as select 1')
      }
      await using next = await db.acquire() // the same connection: maxConns 1
      const listening = await next.queryRow<{ n: number }>(
        'select count(*)::int as n from pg_listening_channels()',
      )
      assert.equal(listening?.n, 0, 'no channel left listening')
      const locks = await next.queryRow<{ n: number }>(
        "select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()",
      )
      assert.equal(locks?.n, 0, 'the advisory lock was released')
      const stmts = await next.queryRow<{ n: number }>(
        'select count(*)::int as n from pg_prepared_statements',
      )
      assert.equal(stmts?.n, 0, 'the prepared statement was deallocated')
    })
  })

  it('refuses BEGIN through a pool-level call with a typed error', async () => {
    await withPool({ maxConns: 1 }, async (db) => {
      await assert.rejects(db.exec('begin'), { code: 'BERTH_PG_USE_TX' })
      await assert.rejects(db.query('  -- comment\n START TRANSACTION'), { code: 'BERTH_PG_USE_TX' })
    })
  })
})
