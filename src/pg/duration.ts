/**
 * Duration parsing for `berth/pg` settings. Two syntaxes meet in a Postgres connection string:
 * pgxpool's `pool_*` parameters use Go's `time.ParseDuration` ('1h30m', '500ms'), while
 * `statement_timeout` is a Postgres setting with Postgres's own units ('5s', '1min', bare number =
 * ms). Each parser keeps its origin's rules, so a string copied from a Go service or a
 * `postgresql.conf` means the same here.
 */
import { PgConfigError } from './errors.js'

/** Longer inputs are refused before parsing: no valid duration needs more, and parsing stays O(1). */
const MAX_TEXT = 128

const NS_PER_MS = 1_000_000n
/** Go's `time.Duration` is an int64 of nanoseconds: ~292 years. */
const MAX_NS = (1n << 63n) - 1n

const GO_UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // µ MICRO SIGN, as Go accepts
  ['\u03bcs', 1_000n], // μ GREEK SMALL LETTER MU, as Go accepts
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
])

const GO_EXPECTED = 'expected a Go duration such as "1h30m", "500ms" or "1.5s"'

/**
 * Parses a Go duration (`time.ParseDuration` syntax) into milliseconds, possibly fractional
 * (`'1us'` is 0.001). Units: `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`; components add up
 * (`'2h45m30.5s'`). As in Go, a bare number is refused except `'0'`, and a total beyond int64
 * nanoseconds (~292 years) is an overflow. Unlike Go, a negative duration is refused: no setting
 * here has a meaning for one.
 *
 * @param field names the setting in the error, e.g. `'pool_max_conn_lifetime'`.
 * @throws PgConfigError naming `field` and `text`.
 */
export function parseDuration(text: string, field: string): number {
  if (typeof text !== 'string') throw new PgConfigError(field, text, GO_EXPECTED)
  if (text.length > MAX_TEXT) throw new PgConfigError(field, text, `too long for a duration; ${GO_EXPECTED}`)
  let s = text
  if (s.startsWith('-')) throw new PgConfigError(field, text, 'expected a duration >= 0')
  if (s.startsWith('+')) s = s.slice(1)
  if (s === '0') return 0
  if (s === '') throw new PgConfigError(field, text, GO_EXPECTED)
  let total = 0n
  let i = 0
  while (i < s.length) {
    const intStart = i
    while (i < s.length && isDigit(s.charCodeAt(i))) i++
    const intDigits = s.slice(intStart, i)
    let fracDigits = ''
    if (s[i] === '.') {
      const fracStart = ++i
      while (i < s.length && isDigit(s.charCodeAt(i))) i++
      fracDigits = s.slice(fracStart, i)
    }
    if (intDigits === '' && fracDigits === '') throw new PgConfigError(field, text, GO_EXPECTED)
    const unitStart = i
    while (i < s.length && s[i] !== '.' && !isDigit(s.charCodeAt(i))) i++
    const unitText = s.slice(unitStart, i)
    if (unitText === '') {
      throw new PgConfigError(
        field,
        text,
        `missing unit: a bare number is not a Go duration; write "30s" or "500ms" (units: ns, us, ms, s, m, h)`,
      )
    }
    const unit = GO_UNITS.get(unitText)
    if (unit === undefined) {
      throw new PgConfigError(
        field,
        text,
        `unknown unit ${JSON.stringify(unitText)} (units: ns, us, ms, s, m, h)`,
      )
    }
    // Digits are bounded by MAX_TEXT, so BigInt arithmetic here is exact and cheap.
    let v = intDigits === '' ? 0n : BigInt(intDigits) * unit
    if (fracDigits !== '') v += (BigInt(fracDigits) * unit) / 10n ** BigInt(fracDigits.length)
    total += v
    if (total > MAX_NS)
      throw new PgConfigError(field, text, 'out of range: longer than Go allows (~292 years)')
  }
  return Number(total / NS_PER_MS) + Number(total % NS_PER_MS) / 1e6
}

/**
 * Renders milliseconds as a short Go-style duration for messages: `'1h30m'`, `'2h45m30.5s'`,
 * `'500ms'`, `'0s'`; `Infinity` is `'never'`. The output of an integer parses back to itself with
 * {@link parseDuration}.
 */
export function formatDuration(ms: number): string {
  if (ms === Number.POSITIVE_INFINITY) return 'never'
  if (!Number.isFinite(ms) || ms < 0) return String(ms)
  if (ms === 0) return '0s'
  if (ms < 1) {
    const us = ms * 1000
    return Number.isInteger(us) ? `${us}us` : `${Math.round(ms * 1e6)}ns`
  }
  if (ms < 1000) return `${ms}ms`
  const whole = Math.round(ms)
  const h = Math.floor(whole / 3_600_000)
  const m = Math.floor((whole % 3_600_000) / 60_000)
  const restMs = whole % 60_000
  let out = ''
  if (h > 0) out += `${h}h`
  if (m > 0) out += `${m}m`
  if (restMs > 0) {
    const sec = Math.floor(restMs / 1000)
    const frac = String(restMs % 1000)
      .padStart(3, '0')
      .replace(/0+$/, '')
    out += frac === '' ? `${sec}s` : `${sec}.${frac}s`
  }
  return out
}

const PG_UNITS: ReadonlyMap<string, number> = new Map([
  ['us', 0.001],
  ['ms', 1],
  ['s', 1000],
  ['min', 60_000],
  ['h', 3_600_000],
  ['d', 86_400_000],
])

/** Postgres's limit for an integer setting (INT_MAX); `statement_timeout` is in ms. */
const PG_INT_MAX = 2_147_483_647

const PG_TIME = /^\s*\+?(\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*([a-z]*)\s*$/

/**
 * Parses a Postgres time setting whose base unit is milliseconds, as the server parses
 * `statement_timeout`: a bare number is milliseconds, or a number with a unit `us`, `ms`, `s`,
 * `min`, `h`, `d` (case-sensitive, space allowed before it: `'5s'`, `'1.5 min'`). The result is
 * rounded to whole milliseconds and must lie in 0 .. 2147483647. Go units such as `'1m'` are
 * refused: in Postgres `m` is not a unit.
 *
 * @throws PgConfigError naming `field` and `text`.
 */
export function parsePgMilliseconds(text: string, field: string): number {
  const expected =
    'expected milliseconds, or a number with a Postgres unit (us, ms, s, min, h, d) such as "5s"'
  if (typeof text !== 'string' || text.length > MAX_TEXT) throw new PgConfigError(field, text, expected)
  const match = PG_TIME.exec(text)
  if (match === null) {
    const reason = /^\s*-/.test(text) ? 'expected a time >= 0' : expected
    throw new PgConfigError(field, text, reason)
  }
  const unitText = match[2] ?? ''
  const unit = unitText === '' ? 1 : PG_UNITS.get(unitText)
  if (unit === undefined) {
    throw new PgConfigError(
      field,
      text,
      `unknown unit ${JSON.stringify(unitText)} (Postgres units: us, ms, s, min, h, d)`,
    )
  }
  const number = Number.parseFloat(text.trim().replace(/^\+/, ''))
  const ms = Math.round(number * unit)
  if (!Number.isFinite(ms) || ms > PG_INT_MAX) {
    throw new PgConfigError(field, text, `out of range: at most ${PG_INT_MAX} ms (about 24.8 days)`)
  }
  return ms
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57
}
