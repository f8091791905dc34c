/**
 * Issue 6, scenario 11: fuzzing the connection-string and duration parsers with fast-check. For
 * arbitrary strings and for structured near-valid URLs, each parser must return or throw a
 * `PgConfigError` (never a TypeError, RangeError or URIError), within a bound, and no error or
 * printed config may contain the password: every URL is built around a known random password.
 * A failing run prints its seed and counterexample; rerun with that seed to reproduce.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import fc from 'fast-check'
import { parseConnectionString } from '../../src/pg/connection-string.js'
import { parsePgMilliseconds } from '../../src/pg/duration.js'
import { PgConfigError, formatDuration, parseDuration, resolvePgConfig } from '../../src/pg/index.js'

/** No single parse may take this long; a catastrophic regex or loop takes far longer. */
const PER_CALL_BOUND_MS = 2000
const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 1500)
const EMPTY_ENV = {}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown }

/** Runs `f`, times it, and checks that any throw is a PgConfigError. */
function outcome(f: () => unknown): Outcome {
  const started = performance.now()
  let result: Outcome
  try {
    result = { ok: true, value: f() }
  } catch (error) {
    result = { ok: false, error }
  }
  const took = performance.now() - started
  assert.ok(took < PER_CALL_BOUND_MS, `took ${Math.round(took)} ms`)
  if (!result.ok) {
    assert.ok(
      result.error instanceof PgConfigError,
      `a PgConfigError, got ${(result.error as Error)?.constructor?.name}: ${String(result.error)}`,
    )
    assert.equal(result.error.code, 'BERTH_PG_CONFIG')
    assert.ok(result.error.message.includes(result.error.field), 'the message names the field')
  }
  return result
}

function assertHidden(secret: string, texts: Record<string, string>): void {
  for (const [where, text] of Object.entries(texts)) {
    assert.ok(!text.includes(secret), `password ${JSON.stringify(secret)} shown in ${where}: ${text}`)
  }
}

function errorTexts(err: PgConfigError): Record<string, string> {
  return {
    message: err.message,
    'String(err)': String(err),
    'inspect(err)': inspect(err, { depth: 5 }),
    'JSON(err)': JSON.stringify(err),
    field: err.field,
    reason: err.reason,
    value: String(err.value),
  }
}

const ALNUM = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789']
/** The known part of every generated password: random enough never to occur by chance elsewhere. */
const token = fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 12, maxLength: 20 })
/** Characters that make URLs ambiguous or malformed. */
const tricky = fc.constantFrom(
  '@',
  ':',
  '/',
  '?',
  '&',
  '=',
  '%',
  '%4',
  '%zz',
  '%40',
  '[',
  ']',
  ',',
  '#',
  ' ',
  '+',
  '',
)
const messy = fc.string({ unit: fc.oneof(fc.constantFrom(...ALNUM), tricky), maxLength: 8 })

/** A password: the token, with tricky characters around it, raw or percent-encoded. */
const password = fc.record({ token, before: messy, after: messy, encode: fc.boolean() })

const hostPart = fc.oneof(
  fc.constantFrom(
    'localhost',
    '127.0.0.1',
    'db.internal',
    '[::1]',
    '[::1',
    '::1',
    'a,b',
    '%2Ftmp',
    '',
    'h@h',
  ),
  messy,
)
const portPart = fc.oneof(
  fc.constantFrom('', ':5432', ':0', ':65536', ':99999999999', ':-1', ':5432:1', ':abc', ':'),
  messy.map((s) => `:${s}`),
)
const queryKey = fc.constantFrom(
  'sslmode',
  'pool_max_conns',
  'pool_min_conns',
  'pool_max_conn_lifetime',
  'pool_health_check_period',
  'statement_timeout',
  'connect_timeout',
  'application_name',
  'host',
  'port',
  'dbname',
  'bogus',
  '',
)
const queryValue = fc.oneof(
  fc.constantFrom(
    '1',
    '0',
    '-1',
    '1h30m',
    '5s',
    '1min',
    'require',
    'disable',
    'verify-ca',
    '9'.repeat(40),
    '',
  ),
  messy,
)
const query = fc.array(
  fc.tuple(queryKey, queryValue).map(([k, v]) => `${k}=${v}`),
  { maxLength: 4 },
)

type UrlShape = {
  /** Where the password goes: the URL's userinfo, or a `password=` query parameter. */
  readonly passwordIn: 'userinfo' | 'query'
  /**
   * Whether the parts before the query and a query-string password may hold raw `?` and `&`,
   * which move where the query starts or split the password (the leaks pinned below).
   */
  readonly queryBreakers: boolean
}

const noBreakers = (text: string) => text.replace(/[?&]/g, '')

/** URLs around a known password, near-valid: each part is valid or slightly broken. */
function nearValidUrl(shape: UrlShape) {
  return fc
    .record({
      scheme: fc.constantFrom('postgres://', 'postgresql://', 'POSTGRES://', 'postgres:/', 'mysql://', ''),
      user: fc.oneof(fc.constantFrom('app', '', 'a%20b', 'u:'), messy),
      password,
      host: hostPart,
      port: portPart,
      db: fc.oneof(
        fc.constantFrom('', '/app', '/', '/a/b', '/%zz'),
        messy.map((s) => `/${s}`),
      ),
      query,
    })
    .map((p) => {
      const raw = `${p.password.before}${p.password.token}${p.password.after}`
      const params = [...p.query]
      if (shape.passwordIn === 'userinfo') {
        const pw = p.password.encode ? encodeURIComponent(raw) : raw
        const q = params.length > 0 ? `?${params.join('&')}` : ''
        return { url: `${p.scheme}${p.user}:${pw}@${p.host}${p.port}${p.db}${q}`, secret: p.password.token }
      }
      const clean = shape.queryBreakers ? (text: string) => text : noBreakers
      const pw = shape.queryBreakers && !p.password.encode ? raw : encodeURIComponent(raw)
      params.splice(params.length > 0 ? 1 : 0, 0, `password=${pw}`)
      const auth = p.user === '' ? '' : `${clean(p.user)}@`
      const before = `${p.scheme}${auth}${clean(p.host)}${clean(p.port)}${clean(p.db)}`
      return { url: `${before}?${params.join('&')}`, secret: p.password.token }
    })
}

/** Checks one URL: parsed or refused, the password is never shown. Counts each outcome. */
function checkUrl(counts: { parsed: number; refused: number }, url: string, secret: string): void {
  const r = outcome(() => resolvePgConfig(url, undefined, EMPTY_ENV))
  if (r.ok) {
    counts.parsed++
    const config = r.value as ReturnType<typeof resolvePgConfig>
    assertHidden(secret, {
      'String(config)': String(config),
      'JSON(config)': JSON.stringify(config),
      'inspect(config)': inspect(config, { depth: 5, showHidden: true }),
      'inspect(client)': inspect(config.client, { depth: 5, showHidden: true }),
      'JSON(client)': JSON.stringify(config.client),
    })
  } else {
    counts.refused++
    assertHidden(secret, errorTexts(r.error as PgConfigError))
  }
  const p = outcome(() => parseConnectionString(url))
  if (!p.ok) assertHidden(secret, errorTexts(p.error as PgConfigError))
}

/** Concrete repros of the leaks the fuzzer found; the password is always `S3cretPassw0rd`. */
const KNOWN_LEAKS = [
  [
    'a doubled ? before the query (unknown parameter "?password")',
    'postgres://app@db.internal/app??password=S3cretPassw0rd',
  ],
  ['a ? in the host part (the password becomes a value)', 'postgres://app@db?x=?password=S3cretPassw0rd'],
  [
    'a stray ? and a malformed escape before the query',
    'postgres://?=@localhost:%zz?password=S3cretPassw0rd',
  ],
  ['a raw & inside a query-string password', 'postgres://db.internal/app?password=ab&S3cretPassw0rd'],
  [
    'a raw & inside a query-string password, then a bad escape',
    'postgres://db.internal/app?password=ab&S3cretPassw0rd=%zz',
  ],
] as const

describe('reliability: fuzzing the connection-string and duration parsers', { timeout: 120_000 }, () => {
  it('parseConnectionString and resolvePgConfig take any string: a result or a PgConfigError, on time', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        outcome(() => parseConnectionString(text))
        outcome(() => resolvePgConfig(text, undefined, EMPTY_ENV))
        outcome(() => resolvePgConfig(`postgres://${text}`, undefined, EMPTY_ENV))
      }),
      { numRuns: RUNS },
    )
  })

  for (const passwordIn of ['userinfo', 'query'] as const) {
    it(`never shows a password in the ${passwordIn} of a near-valid URL, whether it parses or not`, () => {
      const counts = { parsed: 0, refused: 0 }
      fc.assert(
        fc.property(nearValidUrl({ passwordIn, queryBreakers: false }), ({ url, secret }) =>
          checkUrl(counts, url, secret),
        ),
        { numRuns: RUNS * 2 },
      )
      // The generator must reach both sides, or half the property goes untested.
      assert.ok(counts.parsed > 20 && counts.refused > 20, JSON.stringify(counts))
    })
  }

  it('never shows a query-string password when a stray ? or a raw & breaks the query', () => {
    const counts = { parsed: 0, refused: 0 }
    fc.assert(
      fc.property(nearValidUrl({ passwordIn: 'query', queryBreakers: true }), ({ url, secret }) =>
        checkUrl(counts, url, secret),
      ),
      // Few of these URLs parse (about 1 in 100): twice the runs of its siblings keeps "> 20
      // parsed" from failing by chance (it did once, with 20 of 3000).
      { numRuns: RUNS * 4 },
    )
    assert.ok(counts.parsed > 20 && counts.refused > 20, JSON.stringify(counts))
  })

  for (const [what, url] of KNOWN_LEAKS) {
    it(`refuses ${what} without showing the password`, () => {
      const r = outcome(() => resolvePgConfig(url, undefined, EMPTY_ENV))
      assert.equal(r.ok, false)
      assertHidden('S3cretPassw0rd', errorTexts((r as { error: PgConfigError }).error))
    })
  }

  it('never shows a password given in options or PGPASSWORD when another setting is bad', () => {
    fc.assert(
      fc.property(
        token,
        fc.constantFrom('port', 'maxConns', 'statementTimeout', 'maxConnLifetime', 'connectTimeout', 'host'),
        fc.oneof(fc.string({ maxLength: 20 }), fc.double(), fc.integer(), fc.constant(null)),
        fc.boolean(),
        (secret, field, value, viaEnv) => {
          const options = { [field]: value, ...(viaEnv ? {} : { password: secret }) }
          const env = viaEnv ? { PGPASSWORD: secret } : EMPTY_ENV
          const r = outcome(() => resolvePgConfig(undefined, options, env))
          if (!r.ok) assertHidden(secret, errorTexts(r.error as PgConfigError))
          else
            assertHidden(secret, {
              'String(config)': String(r.value),
              'JSON(config)': JSON.stringify(r.value),
            })
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('parseDuration and parsePgMilliseconds take any string: a finite ms >= 0 or a PgConfigError, on time', () => {
    const check = (r: Outcome) => {
      if (r.ok) {
        assert.equal(typeof r.value, 'number')
        assert.ok(Number.isFinite(r.value) && (r.value as number) >= 0, `got ${r.value}`)
      }
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        check(outcome(() => parseDuration(text, 'pool_max_conn_lifetime')))
        check(outcome(() => parsePgMilliseconds(text, 'statement_timeout')))
      }),
      { numRuns: RUNS },
    )
  })

  it('parses near-valid Go durations to a finite ms >= 0 or refuses them naming the field', () => {
    const unit = fc.constantFrom(
      'ns',
      'us',
      '\u00b5s',
      'ms',
      's',
      'm',
      'h',
      'd',
      'min',
      'S',
      '',
      'mss',
      ' s',
      '.',
    )
    const number = fc.oneof(
      fc.nat({ max: 100_000 }).map(String),
      fc.constantFrom('0', '.5', '1.', '1.5', '00', '1e3', '-1', '+2', '9'.repeat(30), '0.'.padEnd(60, '9')),
    )
    const duration = fc
      .array(fc.tuple(number, unit), { minLength: 1, maxLength: 6 })
      .map((parts) => parts.map(([n, u]) => `${n}${u}`).join(''))
    fc.assert(
      fc.property(duration, (text) => {
        const r = outcome(() => parseDuration(text, 'pool_max_conn_idle_time'))
        if (r.ok) assert.ok(Number.isFinite(r.value) && (r.value as number) >= 0, `${text} -> ${r.value}`)
        else assert.equal((r.error as PgConfigError).field, 'pool_max_conn_idle_time')
      }),
      { numRuns: RUNS },
    )
  })

  it('parses back what formatDuration prints for whole milliseconds', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), (ms) => {
        assert.equal(parseDuration(formatDuration(ms), 'f'), ms)
      }),
      { numRuns: RUNS },
    )
  })

  it('stays fast on inputs as long as a careless caller could pass', () => {
    const long = ['postgres://', 'u:', 'p'.repeat(50_000), '@', 'h'.repeat(50_000), ':', '1'.repeat(50_000)]
    for (const text of [
      long.join(''),
      `postgres://${'@'.repeat(100_000)}`,
      `postgres://h/db?${'a=1&'.repeat(20_000)}`,
      `postgres://u:${'%'.repeat(100_000)}@h`,
      `${'1h'.repeat(100_000)}`,
      ` ${' '.repeat(100_000)}x`,
    ]) {
      outcome(() => resolvePgConfig(text, undefined, EMPTY_ENV))
      outcome(() => parseDuration(text, 'f'))
      outcome(() => parsePgMilliseconds(text, 'f'))
    }
  })
})
