import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { InvalidOptionError } from '../../src/core/errors.js'
import { PgArgumentError, PgConnectionError, createPgPool, isRetryable } from '../../src/pg/index.js'
import { toPgError } from '../../src/pg/pg-error.js'

describe('errors node-postgres raises before sending a statement', () => {
  it('"Query values must be an array" is a PgArgumentError naming params, never retryable', () => {
    const err = toPgError(new Error('Query values must be an array'))
    assert.ok(err instanceof PgArgumentError)
    assert.equal(err.code, 'BERTH_INVALID_OPTION')
    assert.equal(err.option, 'params')
    assert.match(err.message, /params/)
    assert.equal(isRetryable(err), false)
  })

  it('a statement without text is a PgArgumentError naming text', () => {
    const err = toPgError(
      new Error('A query must have either text or a name. Supplying neither is unsupported.'),
    )
    assert.ok(err instanceof PgArgumentError)
    assert.equal(err.option, 'text')
  })

  it('a socket error is still a retryable PgConnectionError', () => {
    const err = toPgError(new Error('Connection terminated unexpectedly'))
    assert.ok(err instanceof PgConnectionError)
    assert.equal(isRetryable(err), true)
  })
})

describe('query arguments are checked before a connection is taken', () => {
  // Nothing listens on port 1: a check that came after the acquire would time out instead.
  const db = createPgPool({ host: '127.0.0.1', port: 1, budgetCheck: false, acquireTimeout: 60_000 })
  after(() => db.destroy())

  it('query, queryRow and exec reject a non-string text and non-array params at once, typed', async () => {
    const calls = [
      ['text', () => db.query(5 as unknown as string)],
      ['text', () => db.queryRow(undefined as unknown as string)],
      ['params', () => db.exec('select $1', 'x' as unknown as unknown[])],
      ['params', () => db.query('select $1', { 0: 1 } as unknown as unknown[])],
    ] as const
    for (const [option, call] of calls) {
      await assert.rejects(
        call(),
        (err: unknown) => err instanceof InvalidOptionError && err.option === option,
      )
    }
  })

  it('a string given as params is described by its type only, never echoed', async () => {
    await assert.rejects(
      db.query('select $1', 'hunter2' as unknown as unknown[]),
      (err: InvalidOptionError) => !err.message.includes('hunter2') && err.value === undefined,
    )
  })

  it('tx() refuses a non-function and bad options before BEGIN, naming them', async () => {
    const bad = [
      ['fn', () => db.tx(5 as never)],
      ['options', () => db.tx(async () => 1, null as never)],
      ['isolation', () => db.tx(async () => 1, { isolation: 'chaos' as never })],
      ['readOnly', () => db.tx(async () => 1, { readOnly: 'yes' as never })],
      ['retries', () => db.tx(async () => 1, { retries: 1.5 })],
      ['signal', () => db.tx(async () => 1, { signal: 5 as never })],
    ] as const
    for (const [option, call] of bad) {
      await assert.rejects(
        call(),
        (err: unknown) => err instanceof InvalidOptionError && err.option === option,
      )
    }
  })
})
