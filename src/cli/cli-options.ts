/**
 * Parsers for option values, in the shape commander expects: each returns the parsed value or
 * throws commander's InvalidArgumentError, which commander reports naming the option.
 */
import { InvalidArgumentError, Option } from 'commander'
import { parseDuration } from '../pg/duration.js'

/** A Go-style duration (`'30s'`, `'5m'`, `'1h30m'`, `'500ms'`) in milliseconds; `min` bounds it. */
export function durationArg(min = 0): (text: string) => number {
  return (text) => {
    let ms: number
    try {
      ms = parseDuration(text, 'duration')
    } catch (err) {
      const reason = (err as { reason?: unknown }).reason
      throw new InvalidArgumentError(
        typeof reason === 'string' ? reason : 'expected a duration such as 30s or 5m',
      )
    }
    if (ms < min) throw new InvalidArgumentError(`expected at least ${min} ms`)
    return ms
  }
}

/** An integer in `[min, max]`. */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer >= ${min}`
          : `expected an integer from ${min} to ${max}`,
      )
    }
    return n
  }
}

/** A TCP port, 0 meaning any free port. */
export const portArg = intArg(0, 65_535)

/** A comma-separated list of integers, each at least `min`, without repeats. */
export function intListArg(min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number[] {
  const one = intArg(min, max)
  return (text) => {
    const items = splitList(text).map(one)
    if (items.length === 0) throw new InvalidArgumentError('expected at least one value')
    return [...new Set(items)]
  }
}

/** A comma-separated list of names, each one of `known`, in the order of `known`. */
export function choiceListArg<N extends string>(known: readonly N[]): (text: string) => N[] {
  return (text) => {
    const items = splitList(text)
    for (const item of items) {
      if (!(known as readonly string[]).includes(item)) {
        throw new InvalidArgumentError(`unknown name '${item}' (known: ${known.join(', ')})`)
      }
    }
    const chosen = known.filter((name) => items.includes(name))
    if (chosen.length === 0) throw new InvalidArgumentError(`expected at least one of ${known.join(', ')}`)
    return chosen
  }
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** `--connect-timeout <duration>`, default 10 s: how long a command waits for the server to answer. */
export function connectTimeoutOption(): Option {
  return new Option('--connect-timeout <duration>', 'time allowed to connect, e.g. 5s')
    .argParser(durationArg(1))
    .default(10_000, '10s')
}
