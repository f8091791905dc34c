import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidOptionError } from '../../src/core/errors.js'
import {
  INVALID,
  boolean,
  derived,
  duration,
  either,
  func,
  integer,
  object,
  oneOf,
  option,
  optional,
  readOptions,
  required,
  rule,
  string,
} from '../../src/core/option-table.js'

const TABLE = {
  name: option(string({ nonEmpty: true }), 'thing'),
  create: required(func<() => number>()),
  max: option(integer(1), 10),
  lifetimeMs: option(duration(), Number.POSITIVE_INFINITY),
  jitterMs: derived(duration({ zero: true }), (o) =>
    (o.lifetimeMs as number) === Number.POSITIVE_INFINITY ? 0 : (o.lifetimeMs as number) / 10,
  ),
  mode: option(oneOf('a', 'b', 'c'), 'a'),
  size: option(either(oneOf('auto'), integer(1, { most: 8 })), 'auto' as number | 'auto'),
  verbose: option(boolean(), false),
  hook: optional(func<() => void>()),
} as const

function refused(fn: () => unknown, option: string, expected?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, `an InvalidOptionError, got ${String(err)}`)
    assert.equal(err.code, 'BERTH_INVALID_OPTION')
    assert.equal(err.option, option)
    if (expected !== undefined) assert.equal(err.expected, expected)
    return true
  })
}

describe('option tables', () => {
  it('fill in defaults, derived ones from the options read above them, and keep given values', () => {
    const create = () => 1
    const o = readOptions(TABLE, { create, lifetimeMs: 1000 }, { of: 'Thing' })
    assert.deepEqual(o, {
      name: 'thing',
      create,
      max: 10,
      lifetimeMs: 1000,
      jitterMs: 100,
      mode: 'a',
      size: 'auto',
      verbose: false,
      hook: undefined,
    })
    assert.equal(readOptions(TABLE, { create, jitterMs: 0, size: 3 }, { of: 'Thing' }).jitterMs, 0)
    assert.equal(readOptions(TABLE, { create, size: 3 }, { of: 'Thing' }).size, 3)
  })

  it('refuse an unknown name, a missing required option and a wrong value, naming each in one vocabulary', () => {
    const create = () => 1
    refused(() => readOptions(TABLE, { create, nope: 1 }, { of: 'Thing' }), 'nope', 'a known option of Thing')
    refused(() => readOptions(TABLE, {}, { of: 'Thing' }), 'create', 'a function')
    refused(() => readOptions(TABLE, { create, max: 0 }, { of: 'Thing' }), 'max', 'an integer >= 1')
    refused(() => readOptions(TABLE, { create, max: 1.5 }, { of: 'Thing' }), 'max')
    refused(() => readOptions(TABLE, { create, name: '' }, { of: 'Thing' }), 'name', 'a non-empty string')
    refused(
      () => readOptions(TABLE, { create, lifetimeMs: -1 }, { of: 'Thing' }),
      'lifetimeMs',
      'a duration in milliseconds > 0, or Infinity',
    )
    refused(() => readOptions(TABLE, { create, lifetimeMs: Number.NaN }, { of: 'Thing' }), 'lifetimeMs')
    refused(() => readOptions(TABLE, { create, mode: 'd' }, { of: 'Thing' }), 'mode', "'a', 'b' or 'c'")
    refused(
      () => readOptions(TABLE, { create, size: 9 }, { of: 'Thing' }),
      'size',
      "'auto', or an integer from 1 to 8",
    )
    refused(() => readOptions(TABLE, { create, verbose: 'yes' }, { of: 'Thing' }), 'verbose', 'a boolean')
    refused(() => readOptions(TABLE, null, { of: 'Thing' }), 'options', 'an object of Thing options')
    refused(() => readOptions(TABLE, [create], { of: 'Thing' }), 'options')
  })

  it('name nested options by their path, and can pass over unknown names', () => {
    const NESTED = { retryMs: option(integer(1), 5) } as const
    refused(
      () => readOptions(NESTED, { retryMs: 0 }, { of: 'healthCheck', path: 'healthCheck' }),
      'healthCheck.retryMs',
    )
    refused(() => readOptions(NESTED, { x: 1 }, { of: 'healthCheck', path: 'healthCheck' }), 'healthCheck.x')
    refused(() => readOptions(NESTED, 7, { of: 'healthCheck', path: 'healthCheck' }), 'healthCheck')
    assert.deepEqual(readOptions(NESTED, { x: 1 }, { of: 'pg.Pool', ignoreUnknown: true }), { retryMs: 5 })
    assert.deepEqual(readOptions(NESTED, { x: 1 }, { of: 'a', alsoKnown: new Set(['x']) }), { retryMs: 5 })
  })

  it('withhold a secret-looking value, under the one redaction rule', () => {
    const T = { password: option(string({ nonEmpty: true }), 'x'), url: option(object(), {}) } as const
    assert.throws(
      () => readOptions(T, { password: '' }, { of: 'Db' }),
      (err: InvalidOptionError) => err.hidden && err.value === undefined && !err.message.includes('""'),
    )
    assert.throws(
      () => readOptions(T, { url: 'postgres://u:hunter2@h/db' }, { of: 'Db' }),
      (err: InvalidOptionError) => err.hidden && !err.message.includes('hunter2'),
    )
  })

  it("raise the owner's own error class, and let a parsing rule throw its finer error", () => {
    class MyError extends InvalidOptionError {}
    const T = {
      when: option(
        rule('a time like "5s"', (v, path) => {
          if (typeof v !== 'string') return INVALID
          if (!v.endsWith('s')) throw new MyError(path, v, 'a unit of s')
          return Number(v.slice(0, -1)) * 1000
        }),
        0,
      ),
    } as const
    const error = (o: string, v: unknown, e: string) => new MyError(o, v, e)
    assert.equal(readOptions(T, { when: '5s' }, { of: 'T', error }).when, 5000)
    assert.throws(
      () => readOptions(T, { when: 5 }, { of: 'T', error }),
      (e: MyError) => e instanceof MyError && e.expected === 'a time like "5s"',
    )
    assert.throws(
      () => readOptions(T, { when: '5m' }, { of: 'T', error, path: 'p' }),
      (e: MyError) => e.option === 'p.when' && e.expected === 'a unit of s',
    )
  })
})
