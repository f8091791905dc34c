import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { formatDuration, parseDuration, parsePgMilliseconds } from '../../src/pg/duration.js'
import { PgConfigError } from '../../src/pg/errors.js'

/** Asserts that `fn` throws a PgConfigError about `field` whose message shows `shown` and `hint`. */
function assertRejects(fn: () => unknown, field: string, shown: string, hint?: RegExp): void {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof PgConfigError, `expected PgConfigError, got ${String(err)}`)
    assert.equal(err.code, 'BERTH_PG_CONFIG')
    assert.equal(err.field, field)
    assert.ok(err.message.includes(field), `message names the field: ${err.message}`)
    assert.ok(err.message.includes(JSON.stringify(shown)), `message shows the value: ${err.message}`)
    if (hint !== undefined) assert.match(err.message, hint)
    return true
  })
}

describe('parseDuration reads Go durations into milliseconds', () => {
  const cases: [string, number][] = [
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['2h45m30.5s', 9_930_500],
    ['1h', 3_600_000],
    ['90m', 5_400_000],
    ['0', 0],
    ['0s', 0],
    ['+5s', 5000],
    ['.5s', 500],
    ['1.s', 1000],
    ['1us', 0.001],
    ['1\u00b5s', 0.001],
    ['1\u03bcs', 0.001],
    ['1500000ns', 1.5],
    ['1m1s1ms', 61_001],
    ['0.000001ms', 0.000001],
  ]
  for (const [text, ms] of cases) {
    it(`${JSON.stringify(text)} is ${ms} ms`, () => {
      assert.equal(parseDuration(text, 'f'), ms)
    })
  }

  it('the largest Go duration, 9223372036854775807ns, is accepted', () => {
    assert.equal(parseDuration('9223372036854775807ns', 'f'), 9_223_372_036_854.775)
  })

  it('a bare number other than 0 is refused as Go refuses it, saying a unit is missing', () => {
    assertRejects(() => parseDuration('30', 'pool_max_conn_lifetime'), 'pool_max_conn_lifetime', '30', /unit/)
    assertRejects(() => parseDuration('1h30', 'f'), 'f', '1h30', /missing unit/)
  })

  it('an unknown unit is refused, naming the unit', () => {
    assertRejects(() => parseDuration('1d', 'f'), 'f', '1d', /unknown unit "d"/)
    assertRejects(() => parseDuration('1 s', 'f'), 'f', '1 s', /unknown unit " s"/)
    assertRejects(() => parseDuration('5sec', 'f'), 'f', '5sec', /unknown unit "sec"/)
    assertRejects(() => parseDuration('1H', 'f'), 'f', '1H', /unknown unit/)
  })

  it('a negative duration is refused, even though Go accepts one', () => {
    assertRejects(() => parseDuration('-1s', 'f'), 'f', '-1s', />= 0/)
    assertRejects(() => parseDuration('-0', 'f'), 'f', '-0', />= 0/)
  })

  it('an empty, signless or unit-only text is refused', () => {
    for (const text of [
      '',
      '+',
      '-',
      's',
      '.s',
      '.',
      'ms',
      'NaN',
      'Infinity',
      '1e3s',
      '0x10s',
      ' 1s',
      '1s ',
    ]) {
      assert.throws(() => parseDuration(text, 'f'), PgConfigError, JSON.stringify(text))
    }
  })

  it('a duration beyond int64 nanoseconds overflows, as in Go', () => {
    assertRejects(
      () => parseDuration('9223372036854775808ns', 'f'),
      'f',
      '9223372036854775808ns',
      /out of range/,
    )
    assertRejects(() => parseDuration('2562048h', 'f'), 'f', '2562048h', /out of range/)
    assertRejects(() => parseDuration('2562047h48m', 'f'), 'f', '2562047h48m', /out of range/)
  })

  it('a text longer than 128 characters is refused without parsing', () => {
    const long = `${'1'.repeat(200)}s`
    assert.throws(() => parseDuration(long, 'f'), /too long/)
  })

  it('a non-string is refused with a PgConfigError, not a TypeError', () => {
    assert.throws(() => parseDuration(42 as unknown as string, 'f'), PgConfigError)
  })

  it('any string either parses to a finite ms >= 0 or throws PgConfigError, quickly', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 40 }),
          fc.stringMatching(/^[-+]?([0-9]{0,25}(\.[0-9]{0,25})?(ns|us|ms|s|m|h|d|µs)?){1,4}$/),
        ),
        (text) => {
          const start = performance.now()
          try {
            const ms = parseDuration(text, 'f')
            assert.ok(Number.isFinite(ms) && ms >= 0, `${JSON.stringify(text)} -> ${ms}`)
          } catch (err) {
            assert.ok(err instanceof PgConfigError, `${JSON.stringify(text)} threw ${String(err)}`)
          }
          assert.ok(performance.now() - start < 500, 'parsing took too long')
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('a sum of whole components parses to the sum of their milliseconds', () => {
    const unitMs = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const
    const component = fc.tuple(
      fc.integer({ min: 0, max: 10_000 }),
      fc.constantFrom('h', 'm', 's', 'ms' as const),
    )
    fc.assert(
      fc.property(fc.array(component, { minLength: 1, maxLength: 5 }), (parts) => {
        const text = parts.map(([n, u]) => `${n}${u}`).join('')
        const expected = parts.reduce((sum, [n, u]) => sum + n * unitMs[u], 0)
        assert.equal(parseDuration(text, 'f'), expected)
      }),
    )
  })
})

describe('formatDuration renders milliseconds for messages', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [500, '500ms'],
    [1500, '1.5s'],
    [5_400_000, '1h30m'],
    [9_930_500, '2h45m30.5s'],
    [60_000, '1m'],
    [3_600_000, '1h'],
    [0.5, '500us'],
    [0.0005, '500ns'],
    [Number.POSITIVE_INFINITY, 'never'],
  ]
  for (const [ms, text] of cases) {
    it(`${ms} ms is ${JSON.stringify(text)}`, () => {
      assert.equal(formatDuration(ms), text)
    })
  }

  it('a whole number of milliseconds survives a round trip through parseDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 42 }), (ms) => {
        assert.equal(parseDuration(formatDuration(ms), 'f'), ms)
      }),
      { numRuns: 1000 },
    )
  })
})

describe('parsePgMilliseconds reads Postgres time settings such as statement_timeout', () => {
  const cases: [string, number][] = [
    ['5s', 5000],
    ['100', 100],
    ['0', 0],
    ['250ms', 250],
    ['1min', 60_000],
    ['1.5 min', 90_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1500us', 2],
    [' 30 s ', 30_000],
    ['+7', 7],
    ['1e3', 1000],
    ['2147483647', 2_147_483_647],
  ]
  for (const [text, ms] of cases) {
    it(`${JSON.stringify(text)} is ${ms} ms`, () => {
      assert.equal(parsePgMilliseconds(text, 'statement_timeout'), ms)
    })
  }

  it('Go units that Postgres lacks, such as m, are refused', () => {
    assertRejects(
      () => parsePgMilliseconds('1m', 'statement_timeout'),
      'statement_timeout',
      '1m',
      /unknown unit "m"/,
    )
    assertRejects(() => parsePgMilliseconds('1h30min', 'statement_timeout'), 'statement_timeout', '1h30min')
  })

  it('negative, unitless garbage and out-of-range values are refused', () => {
    assertRejects(() => parsePgMilliseconds('-5s', 'statement_timeout'), 'statement_timeout', '-5s', />= 0/)
    assertRejects(() => parsePgMilliseconds('5 sec', 'statement_timeout'), 'statement_timeout', '5 sec')
    assertRejects(() => parsePgMilliseconds('5MS', 'statement_timeout'), 'statement_timeout', '5MS')
    assertRejects(() => parsePgMilliseconds('', 'statement_timeout'), 'statement_timeout', '')
    assertRejects(
      () => parsePgMilliseconds('2147483648', 'statement_timeout'),
      'statement_timeout',
      '2147483648',
      /out of range/,
    )
    assertRejects(
      () => parsePgMilliseconds('25d', 'statement_timeout'),
      'statement_timeout',
      '25d',
      /out of range/,
    )
    assertRejects(() => parsePgMilliseconds('1e999', 'statement_timeout'), 'statement_timeout', '1e999')
  })

  it('any string either parses to whole ms in range or throws PgConfigError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        try {
          const ms = parsePgMilliseconds(text, 'f')
          assert.ok(
            Number.isInteger(ms) && ms >= 0 && ms <= 2_147_483_647,
            `${JSON.stringify(text)} -> ${ms}`,
          )
        } catch (err) {
          assert.ok(err instanceof PgConfigError, `${JSON.stringify(text)} threw ${String(err)}`)
        }
      }),
      { numRuns: 2000 },
    )
  })
})
