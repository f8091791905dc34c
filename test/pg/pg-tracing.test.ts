import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { describe, it } from 'node:test'
import { type PoolAcquireContext, poolTracing } from '../../src/core/index.js'
import {
  PG_TRACING_NAMES,
  PgError,
  type PgPool,
  type PgQueryContext,
  createPgCluster,
  createPgPool,
  pgTracing,
  sqlOperation,
} from '../../src/pg/index.js'
import { createDatabase } from '../support/postgres.js'
import { allStrings, recordTrace } from '../support/tracing.js'

const ORDER = ['start', 'end', 'asyncStart', 'asyncEnd']
const FAILED = ['start', 'end', 'error', 'asyncStart', 'asyncEnd']

/** The events of each context, in order of the contexts' start. */
function perContext<C>(records: { event: string; ctx: C }[]): { ctx: C; events: string[] }[] {
  const out: { ctx: C; events: string[] }[] = []
  for (const r of records) {
    let entry = out.find((e) => e.ctx === r.ctx)
    if (entry === undefined) {
      entry = { ctx: r.ctx, events: [] }
      out.push(entry)
    }
    entry.events.push(r.event)
  }
  return out
}

async function withPool<T>(options: Parameters<typeof createPgPool>[1], fn: (db: PgPool) => Promise<T>) {
  const url = await createDatabase('pgtrace')
  const db = createPgPool(url, { budgetCheck: false, ...options })
  try {
    return await fn(db)
  } finally {
    await db.close({ timeoutMs: 5000 })
  }
}

/** Raises a real serialization failure (SQLSTATE 40001) on the server. */
const SERIALIZATION_FAILURE = `DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '40001'; END $$`

describe('berth/pg tracing channels', () => {
  it('names the channels and the operation of a statement', () => {
    assert.equal(PG_TRACING_NAMES.query, 'berth:pg:query')
    assert.equal(PG_TRACING_NAMES.transaction, 'berth:pg:transaction')
    assert.equal(diagnostics.tracingChannel('berth:pg:query').start, pgTracing.query.start)
    assert.equal(sqlOperation('  -- why\n/* a */ select 1'), 'SELECT')
    assert.equal(sqlOperation('insert into t values (1)'), 'INSERT')
    assert.equal(sqlOperation('with x as (select 1) select * from x'), 'WITH')
    assert.equal(sqlOperation(''), '')
  })

  for (const pipeline of [true, false]) {
    it(`traces a query${pipeline ? ' pipelined' : ' on a connection of its own'}: text, operation, server, never the parameters`, async () => {
      await withPool({ name: 'traced-pg', pipeline }, async (db) => {
        const secret = 'hunter2-secret-value'
        const queries = recordTrace(pgTracing.query)
        const acquires = recordTrace(poolTracing.acquire)
        try {
          const r = await db.query<{ s: string; n: number }>('select $1::text as s, $2::int as n', [
            secret,
            4242,
          ])
          assert.equal(r.rows[0]!.s, secret)
          const [q, ...more] = perContext(queries.records)
          assert.equal(more.length, 0)
          assert.deepEqual(q!.events, ORDER)
          const ctx = q!.ctx
          assert.equal(ctx.text, 'select $1::text as s, $2::int as n')
          assert.equal(ctx.operation, 'SELECT')
          assert.equal(ctx.pool, 'traced-pg')
          assert.equal(ctx.pipelined, pipeline)
          assert.equal(ctx.host, db.config.client.host)
          assert.equal(ctx.port, db.config.client.port)
          assert.equal(ctx.database, db.config.client.database)
          assert.equal(ctx.result, r)
          // No parameter value in any snapshot of the context, nor in the context (bar its result).
          for (const rec of queries.records) {
            const { result: _result, ...rest } = rec.snapshot
            assert.ok(!allStrings(rest).includes(secret), `${rec.event} holds the parameter`)
            assert.ok(!JSON.stringify(rest).includes('4242'), `${rec.event} holds the parameter`)
          }
          // The acquire before the query is traced on the core channel.
          const a = perContext<PoolAcquireContext>(acquires.records)
          assert.equal(a.length, 1)
          assert.deepEqual(a[0]!.events, ORDER)
          assert.equal(a[0]!.ctx.pool, 'traced-pg')
          assert.equal(a[0]!.ctx.shared, pipeline)
        } finally {
          queries.stop()
          acquires.stop()
        }
      })
    })
  }

  it('publishes error with the PgError of a failed query', async () => {
    await withPool({}, async (db) => {
      const queries = recordTrace(pgTracing.query)
      try {
        await assert.rejects(db.query('select * from no_such_table where id = $1', [7]), PgError)
        const [q] = perContext<PgQueryContext>(queries.records)
        assert.deepEqual(q!.events, FAILED)
        assert.ok(q!.ctx.error instanceof PgError)
        assert.equal((q!.ctx.error as PgError).sqlState, '42P01')
      } finally {
        queries.stop()
      }
    })
  })

  it('traces each attempt of a tx, with the attempt number, and the statements in it', async () => {
    await withPool({}, async (db) => {
      const txs = recordTrace(pgTracing.transaction)
      const queries = recordTrace(pgTracing.query)
      try {
        let calls = 0
        const out = await db.tx(
          async (tx) => {
            calls++
            if (calls === 1) await tx.exec(SERIALIZATION_FAILURE)
            return (await tx.queryRow<{ n: number }>('select $1::int as n', [calls]))!.n
          },
          { retries: 2 },
        )
        assert.equal(out, 2)
        const attempts = perContext(txs.records)
        assert.deepEqual(
          attempts.map((a) => a.events),
          [FAILED, ORDER],
        )
        assert.deepEqual(
          attempts.map((a) => [a.ctx.pool, a.ctx.attempt, a.ctx.retries, a.ctx.willRetry]),
          [
            ['pg', 1, 2, true],
            ['pg', 2, 2, undefined],
          ],
        )
        assert.equal((attempts[0]!.ctx.error as PgError).sqlState, '40001')
        assert.equal(attempts[1]!.ctx.result, 2)
        // BEGIN, the failing DO, then BEGIN, SELECT, COMMIT (the rollback of release is the driver's own).
        assert.deepEqual(
          perContext<PgQueryContext>(queries.records).map((q) => q.ctx.operation),
          ['BEGIN', 'DO', 'BEGIN', 'SELECT', 'COMMIT'],
        )
      } finally {
        txs.stop()
        queries.stop()
      }
    })
  })

  it('a tx out of retries ends with willRetry false', async () => {
    await withPool({}, async (db) => {
      const txs = recordTrace(pgTracing.transaction)
      try {
        await assert.rejects(
          db.tx((tx) => tx.exec(SERIALIZATION_FAILURE), { retries: 1 }),
          (err: unknown) => err instanceof PgError && err.sqlState === '40001',
        )
        const attempts = perContext(txs.records)
        assert.deepEqual(
          attempts.map((a) => [a.events, a.ctx.attempt, a.ctx.willRetry]),
          [
            [FAILED, 1, true],
            [FAILED, 2, false],
          ],
        )
      } finally {
        txs.stop()
      }
    })
  })

  it("traces a PgCluster's tx attempts once each, under the cluster's name", async () => {
    const url = await createDatabase('pgtrace')
    await using db = createPgCluster(url, { name: 'traced-cluster', budgetCheck: false })
    const txs = recordTrace(pgTracing.transaction)
    try {
      let calls = 0
      await db.tx(
        async (tx) => {
          if (++calls === 1) await tx.exec(SERIALIZATION_FAILURE)
          await tx.query('select 1')
        },
        { retries: 1 },
      )
      const attempts = perContext(txs.records)
      assert.deepEqual(
        attempts.map((a) => [a.events, a.ctx.pool, a.ctx.attempt, a.ctx.willRetry]),
        [
          [FAILED, 'traced-cluster', 1, true],
          [ORDER, 'traced-cluster', 2, undefined],
        ],
      )
    } finally {
      txs.stop()
    }
  })

  it('unsubscribed, publishes nothing', async () => {
    await withPool({}, async (db) => {
      const queries = recordTrace(pgTracing.query)
      const txs = recordTrace(pgTracing.transaction)
      queries.stop()
      txs.stop()
      assert.equal(pgTracing.query.hasSubscribers, false)
      assert.equal(pgTracing.transaction.hasSubscribers, false)
      await db.query('select 1')
      await db.tx((tx) => tx.query('select 1'))
      assert.deepEqual(queries.records, [])
      assert.deepEqual(txs.records, [])
    })
  })
})
