/**
 * Checks one setting's value, wherever it came from (options object, connection string,
 * environment), and names it in the error as the user wrote it: `maxConns`, `pool_max_conns` or
 * `PGPORT`.
 */
import { parseDuration, parsePgMilliseconds } from './duration.js'
import { PgConfigError } from './errors.js'

/** Where a value came from; `field` is its name there. */
export interface Source {
  readonly field: string
  readonly value: unknown
  readonly hidden: boolean
  readonly from: 'options' | 'url' | 'env'
}

export function fromSource(source: Source, reason: string, cause?: unknown): PgConfigError {
  return new PgConfigError(source.field, source.hidden ? undefined : source.value, reason, {
    hidden: source.hidden,
    cause,
  })
}

/** Runs a parser on a source's string, withholding the value from its error if the source is hidden. */
export function parseWith<T>(source: Source, parse: (value: string, field: string) => T): T {
  try {
    return parse(source.value as string, source.field)
  } catch (err) {
    // The parser's reason may quote part of the value (an unknown unit), so it goes too.
    if (err instanceof PgConfigError && source.hidden) throw fromSource(source, 'invalid value')
    throw err
  }
}

export function text(source: Source | undefined, emptyOk: boolean): string | undefined {
  if (source === undefined) return undefined
  if (typeof source.value !== 'string' || (!emptyOk && source.value === '')) {
    throw fromSource(source, emptyOk ? 'expected a string' : 'expected a non-empty string')
  }
  return source.value
}

export function port(source: Source | undefined): number | undefined {
  if (source === undefined) return undefined
  const v = source.value
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : Number.NaN
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw fromSource(source, 'expected a port number 1..65535')
  return n
}

export function integer(source: Source | undefined, least: number): number | undefined {
  if (source === undefined) return undefined
  const v = source.value
  const n =
    source.from === 'options' ? v : typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : Number.NaN
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < least) {
    throw fromSource(source, `expected an integer >= ${least}`)
  }
  return n
}

/** A pool duration: ms (options only) or a Go duration string; `Infinity` (options only) = off. */
export function duration(source: Source | undefined, zeroOk: boolean): number | undefined {
  if (source === undefined) return undefined
  const v = source.value
  const ms =
    typeof v === 'string'
      ? parseWith(source, parseDuration)
      : source.from === 'options' && typeof v === 'number'
        ? v
        : Number.NaN
  if (Number.isNaN(ms) || (zeroOk ? ms < 0 : ms <= 0)) {
    throw fromSource(
      source,
      `expected a duration ${zeroOk ? '>= 0' : '> 0'}: milliseconds, or a Go duration such as "1h30m"`,
    )
  }
  return ms
}

/** statement_timeout: ms, or Postgres syntax ('5s', '1min'). */
export function pgMilliseconds(source: Source | undefined): number | undefined {
  if (source === undefined) return undefined
  const v = source.value
  if (typeof v === 'string') return parseWith(source, parsePgMilliseconds)
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2_147_483_647) {
    throw fromSource(source, 'expected whole milliseconds 0..2147483647, or a string such as "5s"')
  }
  return v
}

/** connect_timeout: whole seconds in the URL and env (libpq); ms or a Go duration in options. 0 = none. */
export function connectTimeout(source: Source | undefined): number | undefined {
  if (source === undefined) return undefined
  if (source.from !== 'options') {
    const v = source.value
    if (typeof v !== 'string' || !/^\d{1,7}$/.test(v)) {
      throw fromSource(source, 'expected whole seconds >= 0 (0 = no limit), as libpq')
    }
    return Number(v) * 1000
  }
  const ms = duration(source, true)!
  return Number.isFinite(ms) ? Math.ceil(ms) : 0
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
