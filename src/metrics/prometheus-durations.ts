/**
 * How the exporter shows durations: Prometheus histograms by default (cumulative `le` buckets that
 * add up across pools and instances), quantile summaries (per pool, not aggregatable), or both.
 */
import { InvalidOptionError } from '../core/errors.js'
import type { DurationMeasure } from './prometheus-family.js'

/** `'histogram'` (the default), `'summary'` (the quantiles berth exported before), or `'both'`. */
export type DurationsMode = 'histogram' | 'summary' | 'both'

/** Bucket upper bounds in seconds, per measure (`+Inf` is always added). */
export type DurationBuckets = Readonly<Record<DurationMeasure, readonly number[]>>

/**
 * The default buckets, in seconds. Acquire waits are mostly 0 or sub-millisecond, and anything past
 * 10 s is an outage; queries and RPCs start at 0.5 ms (a round trip on a LAN) and go to 30 s (a
 * statement timeout's usual order); RPCs also cover a minute of streaming. Creates (a TCP, TLS and
 * auth handshake) start at 1 ms and go to 30 s (a connect timeout's order).
 */
export const DEFAULT_BUCKETS: DurationBuckets = Object.freeze({
  acquireWait: Object.freeze([
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  ]),
  create: Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
  query: Object.freeze([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
  rpc: Object.freeze([
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
  ]),
})

const MODES: readonly DurationsMode[] = ['histogram', 'summary', 'both']

export function durationsMode(value: unknown): DurationsMode {
  if (value === undefined) return 'histogram'
  if (!MODES.includes(value as DurationsMode))
    throw new InvalidOptionError('durations', value, "'histogram', 'summary' or 'both'")
  return value as DurationsMode
}

/** The defaults with `value`'s lists in place of theirs; each checked (bounds in seconds). */
export function durationBuckets(value: unknown): DurationBuckets {
  if (value === undefined) return DEFAULT_BUCKETS
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidOptionError(
      'buckets',
      value,
      `an object with lists for ${Object.keys(DEFAULT_BUCKETS).join(', ')}`,
    )
  const out: Record<string, readonly number[]> = { ...DEFAULT_BUCKETS }
  for (const [measure, bounds] of Object.entries(value)) {
    if (!(measure in DEFAULT_BUCKETS))
      throw new InvalidOptionError(
        'buckets',
        value,
        `lists for ${Object.keys(DEFAULT_BUCKETS).join(', ')} only`,
      )
    if (bounds === undefined) continue
    const valid =
      Array.isArray(bounds) &&
      bounds.length > 0 &&
      bounds.every(
        (b, i) => typeof b === 'number' && b > 0 && Number.isFinite(b) && (i === 0 || b > bounds[i - 1]),
      )
    if (!valid)
      throw new InvalidOptionError(
        `buckets.${measure}`,
        bounds,
        'a non-empty increasing list of finite bucket bounds in seconds, > 0',
      )
    out[measure] = Object.freeze([...bounds])
  }
  return Object.freeze(out) as DurationBuckets
}

/** The summary's name beside a histogram of `name` (`'both'`): `x_seconds` → `x_summary_seconds`. */
export function summaryName(name: string): string {
  return name.endsWith('_seconds')
    ? `${name.slice(0, -'_seconds'.length)}_summary_seconds`
    : `${name}_summary`
}
