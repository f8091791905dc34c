/**
 * Options read from one table per owner. Each owner (core `Pool`, `createPgPool`, the pg.Pool
 * drop-in, `ChannelPool`, `ChannelRegistry`) declares its options once, as a table of rules and
 * defaults, and reads them with {@link readOptions}: unknown names, wrong types and out-of-range
 * values all fail the same way, with an {@link InvalidOptionError} (or the owner's subclass) that
 * names the option's path, shows the value under the one redaction rule (option-value.ts) and says
 * what the option takes, in one vocabulary (`an integer >= 1`, `a duration in milliseconds > 0, or
 * Infinity`). What relates two options (`min` at most `max`) stays in the owner, after the read.
 */
import { InvalidOptionError } from './errors.js'

/** Returned by a rule's `read` for a value it does not take. */
export const INVALID: unique symbol = Symbol('berth.invalidOption')

/** How one option is checked: what it takes, in words, and the check that turns a value into it. */
export interface OptionRule<V> {
  /** What the option takes, as option errors say it: `an integer >= 1`. */
  readonly expected: string
  /**
   * The value as the owner uses it, or `INVALID`. Never called with `undefined`. `path` is the
   * option's path, for a rule that parses (a duration string) and throws its own, finer error.
   */
  readonly read: (value: unknown, path: string) => V | typeof INVALID
}

/** One row of an option table: its rule and what an absent option becomes. */
export interface OptionSpec<V> {
  readonly rule: OptionRule<V>
  /** Absent is an error. */
  readonly required: boolean
  /** What an absent option becomes, unless `derive` computes it. */
  readonly fallback?: V
  /** Computes an absent option's default from the options read before it (table order). */
  readonly derive?: (read: Readonly<Record<string, unknown>>) => V
}

/** An owner's options: name → spec, read in this order (a default may use the ones above it). */
// biome-ignore lint/suspicious/noExplicitAny: a table holds specs of any value type
export type OptionTable = Readonly<Record<string, OptionSpec<any>>>

/** The options a table reads, with defaults applied. */
export type ReadOptions<T extends OptionTable> = {
  readonly [K in keyof T]: T[K] extends OptionSpec<infer V> ? V : never
}

/** Makes the error for one bad option; an adapter passes its own subclass (PgConfigError). */
export type OptionErrorFactory = (option: string, value: unknown, expected: string) => InvalidOptionError

export interface ReadOptionsSpec {
  /** What the options are of, for the unknown-name error: `'PoolOptions'`, `'createPgPool'`. */
  readonly of: string
  /** Prefix of every option path, for nested options: `'healthCheck'` gives `healthCheck.service`. */
  readonly path?: string
  /** Default: `new InvalidOptionError(option, value, expected)`. */
  readonly error?: OptionErrorFactory
  /** Names the table does not read but the owner does (connection settings beside pool options). */
  readonly alsoKnown?: ReadonlySet<string>
  /** Pass over names not in the table instead of refusing them (the pg.Pool drop-in, as pg.Pool does). */
  readonly ignoreUnknown?: boolean
}

const defaultError: OptionErrorFactory = (option, value, expected) =>
  new InvalidOptionError(option, value, expected)

/** A row: `rule`, and the value an absent option takes. */
export function option<V>(rule: OptionRule<V>, fallback: V): OptionSpec<V> {
  return { rule, required: false, fallback }
}

/** A row whose default depends on options above it in the table (10% of `maxLifetimeMs`, say). */
export function derived<V>(
  rule: OptionRule<V>,
  derive: (read: Readonly<Record<string, unknown>>) => V,
): OptionSpec<V> {
  return { rule, required: false, derive }
}

/** A row whose option must be given. */
export function required<V>(rule: OptionRule<V>): OptionSpec<V> {
  return { rule, required: true }
}

/** A row whose option may be absent, and is then `undefined`. */
export function optional<V>(rule: OptionRule<V>): OptionSpec<V | undefined> {
  return { rule, required: false }
}

/**
 * Reads `input` against `table`: every key must be in the table (or `alsoKnown`), every present
 * value must pass its rule, absent ones take their default.
 * @throws InvalidOptionError (or `spec.error`'s class) naming the first option at fault
 */
export function readOptions<T extends OptionTable>(
  table: T,
  input: unknown,
  spec: ReadOptionsSpec,
): ReadOptions<T> {
  const error = spec.error ?? defaultError
  const pathOf = (name: string): string => (spec.path === undefined ? name : `${spec.path}.${name}`)
  const options = input === undefined ? {} : input
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw error(spec.path ?? 'options', options, `an object of ${spec.of} options`)
  }
  const given = options as Record<string, unknown>
  for (const key of spec.ignoreUnknown === true ? [] : Object.keys(given)) {
    if (!Object.hasOwn(table, key) && spec.alsoKnown?.has(key) !== true) {
      throw error(pathOf(key), given[key], `a known option of ${spec.of}`)
    }
  }
  const out: Record<string, unknown> = {}
  for (const [name, row] of Object.entries(table)) {
    const value = given[name]
    if (value === undefined) {
      if (row.required) throw error(pathOf(name), value, row.rule.expected)
      out[name] = row.derive === undefined ? row.fallback : row.derive(out)
      continue
    }
    const read = row.rule.read(value, pathOf(name))
    if (read === INVALID) throw error(pathOf(name), value, row.rule.expected)
    out[name] = read
  }
  // A copy, so the owner reads a fast-mode object: `out` grew one computed key at a time, and the
  // core pool reads its options on every acquire (the copy measured ~15 % faster in bench:pool).
  return { ...out } as ReadOptions<T>
}

// ---- the rules: one vocabulary for every owner ----

/** An integer >= `least` (and <= `most`); with `infinity`, also `Infinity` for "no limit". */
export function integer(
  least: number,
  bounds: { most?: number; infinity?: boolean } = {},
): OptionRule<number> {
  const { most, infinity = false } = bounds
  const range = most === undefined ? `>= ${least}` : `from ${least} to ${most}`
  return {
    expected: `an integer ${range}${infinity ? ', or Infinity' : ''}`,
    read: (v) => {
      if (infinity && v === Number.POSITIVE_INFINITY) return v
      if (typeof v !== 'number' || !Number.isInteger(v) || v < least) return INVALID
      return most !== undefined && v > most ? INVALID : v
    },
  }
}

/** A duration in milliseconds: > 0 (or >= 0 with `zero`), or `Infinity` for "never". */
export function duration(bounds: { zero?: boolean } = {}): OptionRule<number> {
  const zero = bounds.zero === true
  return {
    expected: `a duration in milliseconds ${zero ? '>= 0' : '> 0'}, or Infinity`,
    read: (v) => {
      if (typeof v !== 'number' || Number.isNaN(v) || v === Number.NEGATIVE_INFINITY) return INVALID
      return zero ? (v >= 0 ? v : INVALID) : v > 0 ? v : INVALID
    },
  }
}

/** `true` or `false`. */
export function boolean(): OptionRule<boolean> {
  return { expected: 'a boolean', read: (v) => (typeof v === 'boolean' ? v : INVALID) }
}

/** A string; with `nonEmpty`, not `''`. */
export function string(bounds: { nonEmpty?: boolean } = {}): OptionRule<string> {
  const nonEmpty = bounds.nonEmpty === true
  return {
    expected: nonEmpty ? 'a non-empty string' : 'a string',
    read: (v) => (typeof v === 'string' && (!nonEmpty || v !== '') ? v : INVALID),
  }
}

/** A function. */
// biome-ignore lint/suspicious/noExplicitAny: checks arbitrary user functions
export function func<F extends (...args: any[]) => any>(): OptionRule<F> {
  return { expected: 'a function', read: (v) => (typeof v === 'function' ? (v as F) : INVALID) }
}

/** One of a few literal values. */
export function oneOf<const V extends readonly (string | number | boolean)[]>(
  ...values: V
): OptionRule<V[number]> {
  const words = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)))
  const expected =
    words.length <= 2 ? words.join(' or ') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`
  return { expected, read: (v) => (values.includes(v as V[number]) ? (v as V[number]) : INVALID) }
}

/** A plain object (not null, not an array); `expected` names what kind. */
export function object<V extends object>(expected = 'an object'): OptionRule<V> {
  return {
    expected,
    read: (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as V) : INVALID),
  }
}

/** Either rule: the first that takes the value wins (`integer(1)` or a function, say). */
export function either<A, B>(a: OptionRule<A>, b: OptionRule<B>): OptionRule<A | B> {
  return {
    expected: `${a.expected}, or ${b.expected}`,
    read: (v, path) => {
      const first = a.read(v, path)
      return first === INVALID ? b.read(v, path) : first
    },
  }
}

/** A rule of the owner's own: what it takes, and the check. */
export function rule<V>(
  expected: string,
  read: (value: unknown, path: string) => V | typeof INVALID,
): OptionRule<V> {
  return { expected, read }
}
