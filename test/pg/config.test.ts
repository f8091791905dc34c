import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { inspect } from 'node:util'
import fc from 'fast-check'
import pg from 'pg'
import { BerthError, describe as describeValue } from '../../src/core/errors.js'
import { type PgConfigOptions, type PgEnv, resolvePgConfig } from '../../src/pg/config.js'
import { PgConfigError } from '../../src/pg/errors.js'

const noEnv: PgEnv = {}

/** Resolves with an empty environment unless one is given: tests never read process.env. */
function resolve(input?: string | PgConfigOptions, options?: PgConfigOptions, env: PgEnv = noEnv) {
  return resolvePgConfig(input, options, env)
}

/** Runs `fn`, which must throw a PgConfigError, and returns it. */
function configError(fn: () => unknown): PgConfigError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof PgConfigError, `expected PgConfigError, got ${String(err)}`)
    assert.ok(err instanceof BerthError)
    assert.equal(err.code, 'BERTH_PG_CONFIG')
    return err
  }
  assert.fail('expected a PgConfigError')
}

/** Asserts that a PgConfigError names `field` and shows `value` in its message and `.value`. */
function assertNames(err: PgConfigError, field: string, value: string, hint?: RegExp): void {
  assert.equal(err.field, field)
  assert.equal(err.value, value)
  assert.ok(err.message.includes(field), `message names the field: ${err.message}`)
  assert.ok(err.message.includes(JSON.stringify(value)), `message shows the value: ${err.message}`)
  if (hint !== undefined) assert.match(err.message, hint)
}

/** Asserts that a PgConfigError names `field` in its message but shows no value. */
function assertWithholds(err: PgConfigError, field: string, hint?: RegExp): void {
  assert.equal(err.field, field)
  assert.equal(err.value, undefined)
  assert.equal(err.hidden, true)
  assert.ok(err.message.includes(field), `message names the field: ${err.message}`)
  if (hint !== undefined) assert.match(err.message, hint)
}

/** Every rendering of an error or a config a log line might use. */
function renderings(value: unknown): string[] {
  const out = [String(value), inspect(value, { depth: 10 }), inspect(value, { depth: 10, showHidden: true })]
  out.push(describeValue(value))
  try {
    out.push(JSON.stringify(value) ?? '')
  } catch {}
  if (value instanceof Error) {
    out.push(value.message, value.stack ?? '', JSON.stringify({ ...value }))
  }
  return out
}

function assertNoSecret(value: unknown, secret: string): void {
  for (const text of renderings(value)) {
    assert.ok(!text.includes(secret), `leaked ${JSON.stringify(secret)} in: ${text}`)
  }
}

describe('a postgres:// connection string is parsed into client settings', () => {
  it('user, password, host, port and database are read and percent-decoded', () => {
    const c = resolve('postgres://app%40corp:p%40ss%2Fw%3Ard@db.example.com:6543/my%20db').client
    assert.equal(c.user, 'app@corp')
    assert.equal(c.password, 'p@ss/w:rd')
    assert.equal(c.host, 'db.example.com')
    assert.equal(c.port, 6543)
    assert.equal(c.database, 'my db')
  })

  it('the postgresql:// scheme works too, in any case', () => {
    assert.equal(resolve('postgresql://h/d').client.host, 'h')
    assert.equal(resolve('POSTGRES://h/d').client.database, 'd')
  })

  it('an IPv6 literal in brackets is a host, with or without a port', () => {
    assert.equal(resolve('postgres://[::1]:5433/d').client.host, '::1')
    assert.equal(resolve('postgres://[::1]:5433/d').client.port, 5433)
    assert.equal(resolve('postgres://[2001:db8::7]/d').client.host, '2001:db8::7')
    assert.equal(resolve('postgres://[2001:db8::7]/d').client.port, 5432)
  })

  it('a percent-encoded Unix socket directory is a host', () => {
    assert.equal(resolve('postgres://%2Fvar%2Frun%2Fpostgresql/d').client.host, '/var/run/postgresql')
  })

  it('a password may hold unencoded colons, and the last @ ends the user info', () => {
    const c = resolve('postgres://u:a:b@c@h/d').client
    assert.equal(c.password, 'a:b@c')
    assert.equal(c.host, 'h')
  })

  it('query parameters override the parts of the URL, as in libpq', () => {
    const c = resolve('postgres://u@h:1/d?host=other&port=2&user=v&password=pw&dbname=e').client
    assert.deepEqual([c.host, c.port, c.user, c.password, c.database], ['other', 2, 'v', 'pw', 'e'])
  })

  it('a plus sign in a query value stays a plus sign, as in libpq', () => {
    assert.equal(resolve('postgres://h/d?application_name=a+b').client.application_name, 'a+b')
  })

  it('empty query segments are ignored', () => {
    assert.equal(resolve('postgres://h/d?&pool_max_conns=3&&').pool.max, 3)
  })

  it('application_name and options are passed to the client', () => {
    const c = resolve('postgres://h/d?application_name=billing&options=-c%20search_path%3Dapp').client
    assert.equal(c.application_name, 'billing')
    assert.equal(c.options, '-c search_path=app')
  })
})

describe('a malformed connection string is refused with the part at fault', () => {
  it('a non-numeric port names port and its value', () => {
    assertNames(
      configError(() => resolve('postgres://h:badport/d')),
      'port',
      'badport',
      /port number/,
    )
  })

  it('a port out of range names port', () => {
    assertNames(
      configError(() => resolve('postgres://h:70000/d')),
      'port',
      '70000',
    )
    assertNames(
      configError(() => resolve('postgres://h:0/d')),
      'port',
      '0',
    )
  })

  it('a host list is read as libpq reads it, in the URL, a parameter, PGHOST or an option', () => {
    const hostsOf = (r: ReturnType<typeof resolve>) => r.hosts.map((h) => `${h.host}:${h.port}`)
    // Each host with its own port, or the default where it has none.
    assert.deepEqual(hostsOf(resolve('postgres://h1:5433,h2,[::1]:5435/d')), [
      'h1:5433',
      'h2:5432',
      '::1:5435',
    ])
    // One port for every host, from the URL's query, PGPORT or an option.
    assert.deepEqual(hostsOf(resolve('postgres://h/d?host=a,b&port=6000')), ['a:6000', 'b:6000'])
    assert.deepEqual(hostsOf(resolve(undefined, undefined, { PGHOST: 'a,b', PGPORT: '7000,7001' })), [
      'a:7000',
      'b:7001',
    ])
    assert.deepEqual(hostsOf(resolve(undefined, { host: 'a,b', port: 6001 })), ['a:6001', 'b:6001'])
    const r = resolve('postgres://u:pw@h1:1,h2:2/d?target_session_attrs=read-write&load_balance_hosts=random')
    assert.equal(r.client.host, 'h1', 'the client settings name the first host')
    assert.equal(r.client.port, 1)
    assert.equal(r.targetSessionAttrs, 'read-write')
    assert.equal(r.loadBalanceHosts, 'random')
    assert.ok(
      String(r).startsWith(
        'postgres://u:*****@h1:1,h2:2/d?target_session_attrs=read-write&load_balance_hosts=random&',
      ),
      String(r),
    )
    assert.deepEqual(r.toJSON().hosts, ['h1:1', 'h2:2'])
    // The defaults: one host, any server, in order.
    const one = resolve('postgres://h/d')
    assert.deepEqual(hostsOf(one), ['h:5432'])
    assert.equal(one.targetSessionAttrs, 'any')
    assert.equal(one.loadBalanceHosts, 'disable')
  })

  it('every target_session_attrs value libpq knows is taken, anything else is refused', () => {
    for (const v of ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby']) {
      assert.equal(resolve(`postgres://h/d?target_session_attrs=${v}`).targetSessionAttrs, v)
      assert.equal(resolve(undefined, { targetSessionAttrs: v as never }).targetSessionAttrs, v)
    }
    assertNames(
      configError(() => resolve('postgres://h/d?target_session_attrs=master')),
      'target_session_attrs',
      'master',
      /read-write/,
    )
    assertNames(
      configError(() => resolve(undefined, undefined, { PGLOADBALANCEHOSTS: 'yes' })),
      'PGLOADBALANCEHOSTS',
      'yes',
      /random/,
    )
  })

  it('a port list that does not match the host list, or an empty host entry, is refused', () => {
    assertNames(
      configError(() => resolve('postgres://h/d?host=a,b,c&port=1,2')),
      'port',
      '1,2',
      /one per host \(3\)/,
    )
    assertNames(
      configError(() => resolve(undefined, { host: 'a,,b' })),
      'host',
      'a,,b',
      /empty entry/,
    )
    const err = configError(() => resolve('postgres://a,,b/d'))
    assert.equal(err.field, 'host')
  })

  it('an IPv6 address without brackets, or with an unclosed one, is refused', () => {
    assertNames(
      configError(() => resolve('postgres://::1/d')),
      'host',
      '::1',
      /brackets/,
    )
    assertNames(
      configError(() => resolve('postgres://[::1/d')),
      'host',
      '[::1',
      /closed/,
    )
    assertNames(
      configError(() => resolve('postgres://[::1]x/d')),
      'host',
      '[::1]x',
    )
  })

  it('another scheme is refused, showing only the scheme', () => {
    const err = configError(() => resolve('mysql://u:topsecret@h/d'))
    assertNames(err, 'connection string', 'mysql://', /postgres:\/\//)
    assertNoSecret(err, 'topsecret')
  })

  it('a key/value connection string is refused with a hint and without echoing it', () => {
    const err = configError(() => resolve('host=h password=topsecret'))
    assert.match(err.message, /key\/value/)
    assert.equal(err.hidden, true)
    assertNoSecret(err, 'topsecret')
  })

  it('an unknown query parameter is refused, naming it and listing the known ones, never its value', () => {
    const err = configError(() => resolve('postgres://h/d?pool_max_con=5'))
    assertWithholds(err, 'pool_max_con', /known: .*pool_max_conns/)
  })

  it('an unknown query parameter is named printable and truncated', () => {
    const err = configError(() => resolve(`postgres://h/d?a%0Ab${'x'.repeat(100)}=5`))
    assert.equal(err.field, `a?b${'x'.repeat(34)}...`)
  })

  it('a query segment without = is refused, naming it', () => {
    assertWithholds(
      configError(() => resolve('postgres://h/d?sslmode')),
      'sslmode',
      /name=value/,
    )
  })

  it('malformed percent-encoding names the part; a query value is never shown', () => {
    assertNames(
      configError(() => resolve('postgres://h/d%zz')),
      'dbname',
      'd%zz',
      /percent/,
    )
    assertWithholds(
      configError(() => resolve('postgres://h/d?application_name=%E0%A4%A')),
      'application_name',
      /percent/,
    )
  })

  it('a known parameter after a query-string password is still read, and named in errors', () => {
    assert.equal(resolve('postgres://h/d?password=pw&pool_max_conns=3').pool.max, 3)
    assertWithholds(
      configError(() => resolve('postgres://h/d?password=pw&sslmode=maybe')),
      'sslmode',
    )
  })

  it('a short password does not stop the query parameters from being read', () => {
    const r = resolve('postgres://u:a@h/d?application_name=app&pool_max_conns=3')
    assert.equal(r.client.application_name, 'app')
    assert.equal(r.pool.max, 3)
  })

  it('a stray ? or a raw & around a query-string password never shows it', () => {
    for (const bad of [
      'postgres://app@db/app??password=s3cretPW',
      'postgres://app@db?x=?password=s3cretPW',
      'postgres://?=@localhost:%zz?password=s3cretPW',
      'postgres://db/app?password=ab&s3cretPW',
      'postgres://db/app?password=ab&s3cretPW=%zz',
      'postgres://db/app?password=ab&s3cretPW=1',
      'postgres://db/app?p%61ssword=ab&s3cretPW',
      'postgres://db/app?sslmode=x?password=s3cretPW',
    ]) {
      const err = configError(() => resolve(bad))
      assert.equal(err.hidden, true, bad)
      assertNoSecret(err, 's3cretPW')
    }
  })

  it('a raw @ after the host is refused as ambiguous', () => {
    assert.match(configError(() => resolve('postgres://h/d@x')).message, /percent-encode/)
  })

  it('a connection string that is not a string or an object is refused', () => {
    assert.equal(configError(() => resolve(42 as unknown as string)).field, 'connection string')
  })
})

describe('libpq environment variables are defaults', () => {
  const env: PgEnv = {
    PGHOST: 'envhost',
    PGPORT: '6000',
    PGUSER: 'envuser',
    PGPASSWORD: 'envpass',
    PGDATABASE: 'envdb',
    PGSSLMODE: 'require',
    PGAPPNAME: 'envapp',
    PGCONNECT_TIMEOUT: '7',
    PGOPTIONS: '-c geqo=off',
  }

  it('each variable fills its setting when nothing else does', () => {
    const r = resolve(undefined, undefined, env)
    const c = r.client
    assert.deepEqual(
      [
        c.host,
        c.port,
        c.user,
        c.password,
        c.database,
        c.application_name,
        c.connectionTimeoutMillis,
        c.options,
      ],
      ['envhost', 6000, 'envuser', 'envpass', 'envdb', 'envapp', 7000, '-c geqo=off'],
    )
    assert.equal(r.sslmode, 'require')
  })

  it('the connection string overrides the environment, and an option overrides both', () => {
    const r = resolve('postgres://urluser@urlhost/urldb?sslmode=disable', { host: 'opthost' }, env)
    assert.equal(r.client.host, 'opthost')
    assert.equal(r.client.user, 'urluser')
    assert.equal(r.client.database, 'urldb')
    assert.equal(r.client.port, 6000)
    assert.equal(r.sslmode, 'disable')
  })

  it('an options object as first argument overrides the environment, and options override it', () => {
    const r = resolve({ host: 'a', maxConns: 3 }, { maxConns: 5 }, env)
    assert.equal(r.client.host, 'a')
    assert.equal(r.pool.max, 5)
    assert.equal(r.client.user, 'envuser')
  })

  it('an empty variable counts as unset', () => {
    assert.equal(resolve(undefined, undefined, { PGHOST: '', PGPORT: '' }).client.host, 'localhost')
  })

  it('a bad variable is refused naming the variable', () => {
    assertNames(
      configError(() => resolve(undefined, undefined, { PGPORT: 'x' })),
      'PGPORT',
      'x',
    )
    assertNames(
      configError(() => resolve(undefined, undefined, { PGSSLMODE: 'on' })),
      'PGSSLMODE',
      'on',
    )
    assertNames(
      configError(() => resolve(undefined, undefined, { PGCONNECT_TIMEOUT: '1.5' })),
      'PGCONNECT_TIMEOUT',
      '1.5',
      /seconds/,
    )
  })

  it('without settings the defaults are localhost:5432, the USER variable, and a database named after the user', () => {
    const c = resolve(undefined, undefined, { USER: 'alice' }).client
    assert.deepEqual([c.host, c.port, c.user, c.database], ['localhost', 5432, 'alice', 'alice'])
    assert.equal(c.password, undefined)
    assert.equal(c.connectionTimeoutMillis, 0)
    assert.equal(c.ssl, false)
  })

  it('process.env is the default environment', () => {
    const saved = Object.entries(process.env).filter(([k]) => k.startsWith('PG'))
    for (const [k] of saved) Reflect.deleteProperty(process.env, k)
    process.env.PGAPPNAME = 'from-process-env'
    try {
      assert.equal(resolvePgConfig('postgres://h/d').client.application_name, 'from-process-env')
    } finally {
      Reflect.deleteProperty(process.env, 'PGAPPNAME')
      for (const [k, v] of saved) process.env[k] = v
    }
  })
})

describe('pool settings follow pgxpool, in milliseconds under core PoolOptions names', () => {
  it('the defaults are pgxpool’s, with a 10% lifetime jitter', () => {
    assert.deepEqual(
      { ...resolve('postgres://h/d').pool },
      {
        max: Math.max(4, availableParallelism()),
        min: 0,
        minIdle: 0,
        maxLifetimeMs: 3_600_000,
        maxLifetimeJitterMs: 360_000,
        maxIdleMs: 1_800_000,
        healthCheckPeriodMs: 60_000,
      },
    )
  })

  it('every pool_* parameter is read from the connection string, durations in Go syntax', () => {
    const r = resolve(
      'postgres://h/d?pool_max_conns=20&pool_min_conns=2&pool_min_idle_conns=3&pool_max_conn_lifetime=1h30m' +
        '&pool_max_conn_lifetime_jitter=1.5s&pool_max_conn_idle_time=500ms&pool_health_check_period=2h45m30.5s',
    )
    assert.deepEqual(
      { ...r.pool },
      {
        max: 20,
        min: 2,
        minIdle: 3,
        maxLifetimeMs: 5_400_000,
        maxLifetimeJitterMs: 1500,
        maxIdleMs: 500,
        healthCheckPeriodMs: 9_930_500,
      },
    )
  })

  it('the camelCase options take milliseconds or duration strings, and override the string', () => {
    const r = resolve('postgres://h/d?pool_max_conns=20&pool_max_conn_idle_time=1m', {
      maxConns: 8,
      minConns: 1,
      minIdleConns: 2,
      maxConnLifetime: '10m',
      maxConnLifetimeJitter: 0,
      maxConnIdleTime: 90_000,
      healthCheckPeriod: Number.POSITIVE_INFINITY,
    })
    assert.deepEqual(
      { ...r.pool },
      {
        max: 8,
        min: 1,
        minIdle: 2,
        maxLifetimeMs: 600_000,
        maxLifetimeJitterMs: 0,
        maxIdleMs: 90_000,
        healthCheckPeriodMs: Number.POSITIVE_INFINITY,
      },
    )
  })

  it('the default jitter follows the lifetime, and is 0 when the lifetime is infinite', () => {
    assert.equal(resolve('postgres://h/d?pool_max_conn_lifetime=10m').pool.maxLifetimeJitterMs, 60_000)
    assert.equal(
      resolve(undefined, { maxConnLifetime: Number.POSITIVE_INFINITY }).pool.maxLifetimeJitterMs,
      0,
    )
  })

  it('a bare number is refused as a duration in the string, as Go refuses it', () => {
    assertNames(
      configError(() => resolve('postgres://h/d?pool_max_conn_lifetime=3600')),
      'pool_max_conn_lifetime',
      '3600',
      /missing unit/,
    )
  })

  it('bad pool values are refused naming the field and the value', () => {
    assertNames(
      configError(() => resolve('postgres://h/d?pool_max_conns=0')),
      'pool_max_conns',
      '0',
    )
    assertNames(
      configError(() => resolve('postgres://h/d?pool_max_conns=1.5')),
      'pool_max_conns',
      '1.5',
    )
    assertNames(
      configError(() => resolve('postgres://h/d?pool_min_conns=-1')),
      'pool_min_conns',
      '-1',
    )
    assertNames(
      configError(() => resolve('postgres://h/d?pool_max_conn_idle_time=0s')),
      'pool_max_conn_idle_time',
      '0s',
    )
    assertNames(
      configError(() => resolve('postgres://h/d?pool_health_check_period=-1s')),
      'pool_health_check_period',
      '-1s',
    )
    assertNames(
      configError(() => resolve('postgres://h/d?pool_max_conn_lifetime=1x')),
      'pool_max_conn_lifetime',
      '1x',
    )
    assert.equal(configError(() => resolve(undefined, { maxConns: 2.5 })).field, 'maxConns')
    assert.equal(
      configError(() => resolve(undefined, { maxConns: '5' as unknown as number })).field,
      'maxConns',
    )
    assert.equal(configError(() => resolve(undefined, { maxConnLifetime: -1 })).field, 'maxConnLifetime')
    assert.equal(
      configError(() => resolve(undefined, { maxConnIdleTime: Number.NaN })).field,
      'maxConnIdleTime',
    )
    assert.equal(
      configError(() => resolve(undefined, { maxConnLifetimeJitter: Number.POSITIVE_INFINITY })).field,
      'maxConnLifetimeJitter',
    )
  })

  it('min and minIdle above max are refused', () => {
    const err = configError(() => resolve('postgres://h/d?pool_max_conns=4&pool_min_conns=5'))
    assertNames(err, 'pool_min_conns', '5', /at most the max connections \(4\)/)
    assert.equal(
      configError(() => resolve(undefined, { maxConns: 4, minIdleConns: 9 })).field,
      'minIdleConns',
    )
  })
})

describe('statement_timeout and connect_timeout keep their Postgres units', () => {
  it('statement_timeout is ms, or a Postgres unit', () => {
    assert.equal(resolve('postgres://h/d?statement_timeout=250').client.statement_timeout, 250)
    assert.equal(resolve('postgres://h/d?statement_timeout=5s').client.statement_timeout, 5000)
    assert.equal(resolve('postgres://h/d?statement_timeout=2min').client.statement_timeout, 120_000)
    assert.equal(resolve(undefined, { statementTimeout: 1000 }).client.statement_timeout, 1000)
    assert.equal(resolve(undefined, { statementTimeout: '1h' }).client.statement_timeout, 3_600_000)
    assert.equal(resolve('postgres://h/d').client.statement_timeout, undefined)
  })

  it('a bad statement_timeout is refused naming it', () => {
    assertNames(
      configError(() => resolve('postgres://h/d?statement_timeout=5m')),
      'statement_timeout',
      '5m',
    )
    assert.equal(configError(() => resolve(undefined, { statementTimeout: -1 })).field, 'statementTimeout')
  })

  it('connect_timeout is whole seconds in the string; the option is ms or a Go duration; 0 means none', () => {
    assert.equal(resolve('postgres://h/d?connect_timeout=10').client.connectionTimeoutMillis, 10_000)
    assert.equal(resolve('postgres://h/d?connect_timeout=0').client.connectionTimeoutMillis, 0)
    assert.equal(resolve(undefined, { connectTimeout: 2500 }).client.connectionTimeoutMillis, 2500)
    assert.equal(resolve(undefined, { connectTimeout: '3s' }).client.connectionTimeoutMillis, 3000)
    assert.equal(
      resolve(undefined, { connectTimeout: Number.POSITIVE_INFINITY }).client.connectionTimeoutMillis,
      0,
    )
    assertNames(
      configError(() => resolve('postgres://h/d?connect_timeout=5s')),
      'connect_timeout',
      '5s',
      /seconds/,
    )
    assertNames(
      configError(() => resolve('postgres://h/d?connect_timeout=-1')),
      'connect_timeout',
      '-1',
    )
  })
})

describe('sslmode maps onto the node-postgres ssl option as libpq behaves', () => {
  let dir = ''
  let ca = ''
  let cert = ''
  let key = ''
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-pg-config-'))
    ca = join(dir, 'root.crt')
    cert = join(dir, 'client.crt')
    key = join(dir, 'client.key')
    writeFileSync(ca, 'CA-PEM')
    writeFileSync(cert, 'CERT-PEM')
    writeFileSync(key, 'KEY-PEM-SECRET')
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const ssl = (url: string) => resolve(url).client.ssl as Record<string, unknown>

  it('disable, allow and prefer (the default) connect without TLS', () => {
    for (const mode of ['disable', 'allow', 'prefer']) {
      assert.equal(resolve(`postgres://h/d?sslmode=${mode}`).client.ssl, false, mode)
    }
    assert.equal(resolve('postgres://h/d').sslmode, 'prefer')
  })

  it('require encrypts without verifying the certificate', () => {
    const s = ssl('postgres://h/d?sslmode=require')
    assert.equal(s.rejectUnauthorized, false)
    assert.equal(s.checkServerIdentity, undefined)
  })

  it('require with sslrootcert verifies the chain, as libpq does', () => {
    const s = ssl(`postgres://h/d?sslmode=require&sslrootcert=${encodeURIComponent(ca)}`)
    assert.notEqual(s.rejectUnauthorized, false)
    assert.equal(typeof s.checkServerIdentity, 'function')
    assert.equal(s.ca, 'CA-PEM')
  })

  it('verify-ca verifies the chain against sslrootcert but not the host name', () => {
    const s = ssl(`postgres://h/d?sslmode=verify-ca&sslrootcert=${encodeURIComponent(ca)}`)
    assert.notEqual(s.rejectUnauthorized, false)
    assert.equal((s.checkServerIdentity as () => unknown)(), undefined)
    assert.equal(s.ca, 'CA-PEM')
  })

  it('verify-ca without sslrootcert is refused', () => {
    assertNames(
      configError(() => resolve('postgres://h/d?sslmode=verify-ca')),
      'sslmode',
      'verify-ca',
      /sslrootcert/,
    )
  })

  it('verify-full verifies chain and host name, against sslrootcert or the system CAs', () => {
    const own = ssl(`postgres://h/d?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`)
    assert.equal(own.ca, 'CA-PEM')
    assert.equal(own.checkServerIdentity, undefined)
    assert.notEqual(own.rejectUnauthorized, false)
    const system = ssl('postgres://h/d?sslmode=verify-full')
    assert.equal(system.ca, undefined)
    assert.equal(system.checkServerIdentity, undefined)
  })

  it('sslrootcert=system implies verify-full and refuses weaker modes, as libpq', () => {
    assert.equal(resolve('postgres://h/d?sslrootcert=system').sslmode, 'verify-full')
    assertNames(
      configError(() => resolve('postgres://h/d?sslrootcert=system&sslmode=require')),
      'sslmode',
      'require',
      /verify-full/,
    )
  })

  it('an unknown sslmode is refused naming it', () => {
    assertNames(
      configError(() => resolve('postgres://h/d?sslmode=true')),
      'sslmode',
      'true',
      /verify-full/,
    )
  })

  it('certificate files are read lazily, at each access, so a rotated file is picked up', () => {
    const r = resolve(
      `postgres://h/d?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}` +
        `&sslcert=${encodeURIComponent(cert)}&sslkey=${encodeURIComponent(key)}`,
    )
    const s = r.client.ssl as Record<string, unknown>
    assert.deepEqual({ ...r.sslFiles }, { rootcert: ca, cert, key })
    assert.equal(s.cert, 'CERT-PEM')
    assert.equal(s.key, 'KEY-PEM-SECRET')
    writeFileSync(ca, 'CA-PEM-2')
    assert.equal(s.ca, 'CA-PEM-2')
    writeFileSync(ca, 'CA-PEM')
    assert.ok(!Object.keys(s).includes('key'), 'the private key is non-enumerable')
    assertNoSecret(r, 'KEY-PEM-SECRET')
    assertNoSecret(r.client, 'KEY-PEM-SECRET')
  })

  it('a missing certificate file fails at access with a PgConfigError naming the setting and path', () => {
    const missing = join(dir, 'nope.crt')
    const r = resolve(`postgres://h/d?sslmode=verify-full&sslrootcert=${encodeURIComponent(missing)}`)
    const err = configError(() => (r.client.ssl as Record<string, unknown>).ca)
    assertNames(err, 'sslrootcert', missing, /ENOENT/)
  })

  it('node-postgres accepts the frozen ssl object with a key file, and copies the key', () => {
    const r = resolve(
      `postgres://u:pw@h/d?sslmode=require&sslcert=${encodeURIComponent(cert)}&sslkey=${encodeURIComponent(key)}`,
    )
    const client = new pg.Client(r.client)
    const copy = Object.assign({}, r.client.ssl as object)
    assert.equal((copy as Record<string, unknown>).cert, 'CERT-PEM')
    assert.equal((client as unknown as { ssl: { key: string } }).ssl.key, 'KEY-PEM-SECRET')
  })

  it('an explicit ssl option is used as given', () => {
    const custom = { ca: 'x', rejectUnauthorized: true }
    const r = resolve('postgres://h/d?sslmode=require', { ssl: custom })
    assert.equal(r.client.ssl, custom)
    assert.equal(
      r.toJSON().client && (r.toJSON().client as Record<string, unknown>).ssl,
      '(custom ssl options)',
    )
  })
})

describe('a password never leaves the config in readable form', () => {
  const url = 'postgres://u:s3cretPW@h:5432/d?pool_max_conns=3'

  it('the resolved config, its client and its pool are frozen', () => {
    const r = resolve(url)
    assert.ok(Object.isFrozen(r) && Object.isFrozen(r.client) && Object.isFrozen(r.pool))
    assert.throws(() => {
      ;(r.pool as { max: number }).max = 9
    }, TypeError)
  })

  it('the client password is readable but non-enumerable, as pg-pool hides it', () => {
    const r = resolve(url)
    assert.equal(r.client.password, 's3cretPW')
    assert.ok(!Object.keys(r.client).includes('password'))
    assertNoSecret(r.client, 's3cretPW')
  })

  it('inspect, JSON, toString and describe of the config mask the password', () => {
    const r = resolve(url)
    assertNoSecret(r, 's3cretPW')
    assert.match(inspect(r), /password: '\*\*\*\*\*'/)
    assert.match(JSON.stringify(r), /"password":"\*\*\*\*\*"/)
    assert.equal(String(r).startsWith('postgres://u:*****@h:5432/d?sslmode=prefer&pool_max_conns=3'), true)
  })

  it('a malformed URL with a password does not echo it', () => {
    const err = configError(() => resolve('postgres://u:s3cret@host:badport/db'))
    assertNames(err, 'port', 'badport')
    assertNoSecret(err, 's3cret')
  })

  it('a password with raw / ? or @ that derails parsing is withheld from the error', () => {
    for (const bad of [
      'postgres://u:s3/cret@host/db',
      'postgres://u:ab?cret@host/db',
      'postgres://u:s3cr%et@host/db',
      'postgres://u:12/s3cret@host/db',
      'postgres://u:s3cret=1@host/db?pool_max_conns=x',
      'postgres://u:1h?pool_max_conn_lifetime=s3cret@h/d',
    ]) {
      const err = configError(() => resolve(bad))
      for (const part of ['s3', 'cret', 'ab?c', 's3cret']) assertNoSecret(err, part)
    }
  })

  it('a password in a query parameter is hidden like one in the user info', () => {
    const r = resolve('postgres://u@h/d?password=qpw123')
    assert.equal(r.client.password, 'qpw123')
    assertNoSecret(r, 'qpw123')
    const err = configError(() => resolve('postgres://u@h/d?password=qpw%zz'))
    assert.equal(err.hidden, true)
    assertNoSecret(err, 'qpw')
  })

  it('a password of the wrong type is not described in the error', () => {
    const err = configError(() => resolve(undefined, { password: 987654321 as unknown as string }))
    assert.equal(err.field, 'password')
    assertNoSecret(err, '987654321')
  })

  it('a value that contains the password, in any field or source, is withheld', () => {
    assertNoSecret(
      configError(() => resolve(undefined, { password: 'hunter22', port: 'hunter22' as unknown as number })),
      'hunter22',
    )
    assertNoSecret(
      configError(() => resolve(undefined, undefined, { PGPASSWORD: 'hunter22', PGPORT: 'hunter22' })),
      'hunter22',
    )
    assertNoSecret(
      configError(() => resolve('postgres://u:hunter22@h/d?application_name=x&port=hunter22')),
      'hunter22',
    )
  })

  it('a password function is kept as is and shown masked', () => {
    const fn = async () => 'token'
    const r = resolve('postgres://h/d', { password: fn })
    assert.equal(r.client.password, fn)
    assert.match(JSON.stringify(r), /"password":"\*\*\*\*\*"/)
  })
})

describe('options this layer does not know are passed through', () => {
  it('unknown keys land in extra untouched, options over the first-argument object', () => {
    const onConnect = () => {}
    const r = resolve(
      { acquireTimeoutMs: 1 } as PgConfigOptions,
      { acquireTimeoutMs: 5, onConnect } as PgConfigOptions,
    )
    assert.equal(r.extra.acquireTimeoutMs, 5)
    assert.equal(r.extra.onConnect, onConnect)
    assert.ok(Object.isFrozen(r.extra))
    assert.deepEqual(r.toJSON().extra, ['acquireTimeoutMs', 'onConnect'])
  })

  it('keys named like Object.prototype members are passed through as plain keys', () => {
    const r = resolve(undefined, JSON.parse('{"__proto__":1,"toString":2}') as PgConfigOptions)
    assert.deepEqual(Object.keys(r.extra), ['__proto__', 'toString'])
    assert.equal(Object.getPrototypeOf(r.extra), Object.prototype)
  })

  it('a connection-string name used as an option is refused with the camelCase name', () => {
    const err = configError(() => resolve(undefined, { pool_max_conns: 3 } as PgConfigOptions))
    assert.equal(err.field, 'pool_max_conns')
    assert.match(err.message, /maxConns/)
  })

  it('a connectionString key is refused rather than ignored', () => {
    assert.equal(
      configError(() => resolve({ connectionString: 'postgres://h/d' } as PgConfigOptions)).field,
      'connectionString',
    )
  })
})

describe('random input never escapes as anything but a PgConfigError, nor leaks a password', () => {
  const known = [
    'host',
    'port',
    'user',
    'password',
    'dbname',
    'sslmode',
    'application_name',
    'statement_timeout',
    'connect_timeout',
    'options',
    'pool_max_conns',
    'pool_min_conns',
    'pool_min_idle_conns',
    'pool_max_conn_lifetime',
    'pool_max_conn_lifetime_jitter',
    'pool_max_conn_idle_time',
    'pool_health_check_period',
    'nope',
  ]
  const junk = fc.string({ unit: 'binary', maxLength: 12 })
  const value = fc.oneof(
    junk,
    fc.constantFrom('5', '0', '1h30m', '5s', 'require', 'disable', '-1', '[::1]', '%zz'),
  )
  const query = fc
    .array(fc.tuple(fc.constantFrom(...known), value), { maxLength: 4 })
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`))
  const hostport = fc.oneof(
    junk,
    fc.constantFrom('h', 'h:5432', 'h:badport', '[::1]:5432', '[::1', 'h1,h2', '::1', 'h:', ''),
  )
  const tail = fc
    .tuple(
      hostport,
      fc.oneof(
        fc.constant(''),
        junk.map((s) => `/${s}`),
      ),
      query,
    )
    .map(([h, p, q]) => `${h}${p}${q}`)
  // Long enough not to occur by chance in a message; no `%` so that its encoded form is unambiguous.
  // fast-check favours names such as "length" or "__proto__", which inspect output does contain.
  const password = fc
    .string({ unit: 'binary', minLength: 8, maxLength: 16 })
    .filter((s) => !s.includes('%') && /[^A-Za-z_$]/.test(s))

  function check(input: string, secrets: string[]): void {
    let result: unknown
    const start = performance.now()
    try {
      result = resolvePgConfig(input, undefined, noEnv)
    } catch (err) {
      assert.ok(err instanceof PgConfigError, `${JSON.stringify(input)} threw ${String(err)}`)
      result = err
    }
    assert.ok(performance.now() - start < 1000, `${JSON.stringify(input)} took too long`)
    for (const s of secrets) assertNoSecret(result, s)
  }

  it('a 1 MB connection string is handled in linear time', () => {
    const start = performance.now()
    const big = `postgres://u:${'p'.repeat(500_000)}@h/${'d'.repeat(500_000)}?pool_max_conns=x`
    const err = configError(() => resolvePgConfig(big, undefined, noEnv))
    assert.equal(err.field, 'pool_max_conns')
    assert.ok(performance.now() - start < 2000)
  })

  it('an arbitrary string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => check(s, [])),
      { numRuns: 1000 },
    )
    fc.assert(
      fc.property(tail, (t) => check(`postgres://${t}`, [])),
      { numRuns: 2000 },
    )
  })

  it('a percent-encoded password among random parts', () => {
    fc.assert(
      fc.property(password, tail, (pw, t) => {
        check(`postgres://user:${encodeURIComponent(pw)}@${t}`, [pw, encodeURIComponent(pw)])
      }),
      { numRuns: 3000 },
    )
  })

  it('a raw password among random parts, when it fails to parse', () => {
    fc.assert(
      fc.property(password, tail, (pw, t) => {
        const input = `postgres://user:${pw}@${t}`
        try {
          resolvePgConfig(input, undefined, noEnv)
        } catch (err) {
          assert.ok(err instanceof PgConfigError, `${JSON.stringify(input)} threw ${String(err)}`)
          assertNoSecret(err, pw)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('a password in a query parameter among random parts', () => {
    fc.assert(
      fc.property(password, tail, (pw, t) => {
        check(`postgres://${t}${t.includes('?') ? '&' : '?'}password=${encodeURIComponent(pw)}`, [
          pw,
          encodeURIComponent(pw),
        ])
      }),
      { numRuns: 2000 },
    )
  })
})
