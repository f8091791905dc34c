import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import { BerthError, InvalidOptionError } from '../../src/core/errors.js'
import { isSecretOption } from '../../src/core/option-value.js'
import { InvalidTargetError } from '../../src/grpc/errors.js'
import { PgConfigError } from '../../src/pg/errors.js'
import { PgArgumentError } from '../../src/pg/pg-error.js'

const SECRET = 'hunter2-s3cret'

/** Every rendering of an error a log line might use. */
function renderings(err: Error): string[] {
  return [
    err.message,
    String(err),
    err.stack ?? '',
    inspect(err, { depth: 5, showHidden: true }),
    JSON.stringify(err),
  ]
}

function assertWithheld(err: InvalidOptionError, secret: string, type: string): void {
  assert.equal(err.hidden, true, err.message)
  assert.equal(err.value, undefined)
  assert.ok(err.message.includes(type), `the message names the type: ${err.message}`)
  for (const text of renderings(err)) assert.ok(!text.includes(secret), `the value shows in: ${text}`)
}

describe('InvalidOptionError: the option path, the value with secrets withheld, the expectation', () => {
  it('names the path, shows the value and says what was expected', () => {
    const err = new InvalidOptionError('pool.max', 0, 'an integer >= 1')
    assert.equal(err.message, 'Invalid option pool.max: 0 (expected an integer >= 1)')
    assert.equal(err.code, 'BERTH_INVALID_OPTION')
    assert.equal(err.option, 'pool.max')
    assert.equal(err.value, 0)
    assert.equal(err.expected, 'an integer >= 1')
    assert.equal(err.hidden, false)
    assert.ok(err instanceof BerthError)
  })

  it('shows a string quoted and cut at 80 characters, and an object or array by its kind only', () => {
    assert.match(
      new InvalidOptionError('name', 'x'.repeat(200), 'a name').message,
      /: "x{77}\.\.\." \(expected/,
    )
    assert.match(
      new InvalidOptionError('tls', { ca: SECRET }, 'TLS settings').message,
      /: an object \(expected/,
    )
    assert.match(new InvalidOptionError('lists', [SECRET], 'interceptors').message, /: an array \(expected/)
  })

  it('withholds the value of an option whose name looks secret, naming only its type', () => {
    for (const option of [
      'password',
      'postgres.password',
      'PGPASSWORD',
      'sslpassword',
      'passphrase',
      'clientSecret',
      'accessToken',
      'key',
      'tls.key',
      'privateKey',
      'private_key',
      'static["x-api-key"]',
      'static["authorization"]',
    ]) {
      assert.equal(isSecretOption(option), true, option)
      assertWithheld(new InvalidOptionError(option, SECRET, 'a string'), SECRET, 'a string')
      assertWithheld(new InvalidOptionError(option, 123456789, 'a string'), '123456789', 'a number')
    }
  })

  it('shows the value of an option whose name only contains the letters of a secret word', () => {
    for (const option of ['keys[0]', 'sslkey', 'keepaliveTimeMs', 'monkey', 'max', 'healthCheck.service']) {
      assert.equal(isSecretOption(option), false, option)
      const err = new InvalidOptionError(option, 'plain', 'something')
      assert.equal(err.hidden, false, option)
      assert.equal(err.value, 'plain')
      assert.ok(err.message.includes('"plain"'), err.message)
    }
  })

  it('withholds a string that carries a credential, whatever the option is called', () => {
    for (const value of [
      `postgres://app:${SECRET}@db.internal:5432/orders`,
      `host=db user=app password=${SECRET}`,
      `https://u:${SECRET}@example.com/`,
      `token=${SECRET}`,
    ]) {
      assertWithheld(new InvalidOptionError('name', value, 'a non-empty string'), SECRET, 'a string')
    }
    const plain = new InvalidOptionError('name', 'postgres://app@db.internal/orders', 'a pool name')
    assert.equal(plain.hidden, false)
    assert.equal(plain.value, 'postgres://app@db.internal/orders')
  })

  it('withholds any value when asked to (user data such as SQL parameters)', () => {
    assertWithheld(
      new InvalidOptionError('params', SECRET, 'an array', { hideValue: true }),
      SECRET,
      'a string',
    )
  })

  it("the adapters' option errors are InvalidOptionErrors that keep their own code and apply the same rule", () => {
    const pg = new PgConfigError('sslpassword', SECRET, 'expected a string')
    assert.ok(pg instanceof InvalidOptionError)
    assert.equal(pg.code, 'BERTH_PG_CONFIG')
    assert.equal(pg.field, 'sslpassword')
    assert.equal(pg.option, 'sslpassword')
    assert.equal(pg.reason, 'expected a string')
    assertWithheld(pg, SECRET, 'withheld')
    assert.equal(
      new PgConfigError('pool_max_conns', 'x', 'expected an integer >= 1').message,
      'Invalid Postgres setting pool_max_conns: "x" (expected an integer >= 1)',
    )

    const target = new InvalidTargetError(['a:1', 5], 'entry 1 is not a string')
    assert.ok(target instanceof InvalidOptionError)
    assert.equal(target.code, 'BERTH_INVALID_TARGET')
    assert.equal(target.option, 'target')
    assert.deepEqual(target.target, ['a:1', 5])
    assert.equal(target.message, 'Invalid gRPC target ["a:1",5]: entry 1 is not a string')
    const withPassword = new InvalidTargetError(`dns://u:${SECRET}@h/x:1`, 'unsupported scheme')
    assert.equal(withPassword.target, undefined)
    assertWithheld(withPassword, SECRET, 'a string')

    const argument = new PgArgumentError('params', 'Query values must be an array', undefined)
    assert.ok(argument instanceof InvalidOptionError)
    assert.equal(argument.code, 'BERTH_INVALID_OPTION')
    assert.equal(argument.message, 'Invalid query params: Query values must be an array')
    assert.equal(argument.hidden, true)
  })
})
