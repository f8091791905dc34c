/**
 * Issue 6, scenario 11 (Postgres half of "a wrong password, a TLS mismatch"): createPgPool against
 * the test server with a wrong password, and with an sslmode the server cannot satisfy. Each must
 * end in a typed error naming what went wrong, in bounded time, and the password must appear
 * nowhere: not in the message, `String(err)`, `util.inspect(err)` (which prints the cause chain),
 * JSON of the error or of `stats()`, nor in the pool's printed config.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import { BerthError } from '../../src/core/errors.js'
import { PgConnectionError, PgError, createPgPool, isRetryable } from '../../src/pg/index.js'
import { testPostgres } from '../support/postgres.js'

/** Walks `cause` links, first match wins. */
function findCause<T>(err: unknown, match: (e: unknown) => e is T): T | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 10; depth++) {
    if (match(e)) return e
    e = (e as { cause?: unknown })?.cause
  }
  return undefined
}

function assertNoSecret(secret: string, texts: Record<string, string>): void {
  for (const [where, text] of Object.entries(texts)) {
    assert.ok(!text.includes(secret), `the password appears in ${where}`)
  }
}

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run()
  } catch (err) {
    return err
  }
  assert.fail('expected a rejection')
}

describe('reliability: wrong credentials and TLS mismatch on a Postgres pool', () => {
  for (const how of ['url', 'options', 'function'] as const) {
    it(`rejects a wrong password given by ${how} with a typed 28P01 error that never shows the password`, async () => {
      const pg = await testPostgres()
      // Characters that need percent-encoding in a URL, so the encoded and raw forms both matter.
      const wrong = `Wr0ng:${randomBytes(9).toString('base64url')}@/?%`
      const base = { host: pg.host, port: pg.port, user: pg.user, database: pg.database }
      const common = { budgetCheck: false, acquireTimeout: 10_000, name: `wrong-password-${how}` }
      const db =
        how === 'url'
          ? createPgPool(
              `postgres://${encodeURIComponent(pg.user)}:${encodeURIComponent(wrong)}@${pg.host}:${pg.port}/${pg.database}`,
              common,
            )
          : createPgPool({ ...base, ...common, password: how === 'options' ? wrong : async () => wrong })
      try {
        const started = Date.now()
        const err = await failure(() => db.query('select 1'))
        const elapsed = Date.now() - started
        assert.ok(elapsed < 10_000, `failed after ${elapsed} ms`)
        assert.ok(err instanceof BerthError, `a BerthError, got ${inspect(err)}`)
        const server = findCause(err, (e): e is PgError => e instanceof PgError)
        assert.ok(server !== undefined, `a PgError in the cause chain: ${inspect(err)}`)
        assert.equal(server.sqlState, '28P01')
        assert.match(server.message, /password authentication failed/)
        assert.equal(isRetryable(server), false, 'a wrong password is not worth retrying')
        // A second call fails too (fast, while the pool backs off), with the same kind of error.
        const again = await failure(() => db.query('select 1'))
        assert.ok(again instanceof BerthError)

        const stats = db.stats()
        assert.equal(stats.totalConns, 0)
        assert.ok(stats.pool.counters.createFailures >= 1)
        for (const secret of [wrong, encodeURIComponent(wrong)]) {
          assertNoSecret(secret, {
            message: (err as Error).message,
            'String(err)': String(err),
            'inspect(err)': inspect(err, { depth: 10 }),
            'JSON(err)': JSON.stringify(err),
            'second error': inspect(again, { depth: 10 }),
            'JSON(stats)': JSON.stringify(stats),
            'inspect(stats)': inspect(stats, { depth: 10 }),
            'String(config)': String(db.config),
            'JSON(config)': JSON.stringify(db.config),
            'inspect(pool)': inspect(db, { depth: 10, showHidden: true }),
          })
        }
      } finally {
        await db.close({ timeoutMs: 2000 })
      }
    })
  }

  for (const sslmode of ['require', 'verify-full'] as const) {
    it(`fails sslmode=${sslmode} against a server without TLS with a typed error, in bounded time`, async () => {
      const pg = await testPostgres()
      const db = createPgPool(
        {
          host: pg.host,
          port: pg.port,
          user: pg.user,
          password: pg.password,
          database: pg.database,
          sslmode,
        },
        { budgetCheck: false, acquireTimeout: 10_000 },
      )
      try {
        const started = Date.now()
        const err = await failure(() => db.query('select 1'))
        assert.ok(Date.now() - started < 10_000)
        assert.ok(err instanceof BerthError, `a BerthError, got ${inspect(err)}`)
        const cause = findCause(err, (e): e is PgConnectionError => e instanceof PgConnectionError)
        assert.ok(cause !== undefined, `a PgConnectionError in the cause chain: ${inspect(err)}`)
        assert.match(cause.message, /SSL|TLS/i, 'says TLS is what failed')
        assertNoSecret(pg.password, {
          'inspect(err)': inspect(err, { depth: 10 }),
          'JSON(stats)': JSON.stringify(db.stats()),
        })
      } finally {
        await db.close({ timeoutMs: 2000 })
      }
    })
  }
})
