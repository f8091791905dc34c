// The JS histogram class alone: the package's index also loads its WebAssembly build and its
// compressed-log encoder (pako), ~30 ms of start-up that recording and percentiles never use.
import float64Module from 'hdr-histogram-js/dist/Float64Histogram.js'
import { InvalidOptionError } from './errors.js'

// A CommonJS module compiled from TypeScript: its class is the `default` of `module.exports`.
const Float64Histogram = float64Module.default
type Float64Histogram = InstanceType<typeof Float64Histogram>

/**
 * Cumulative counts of a latency distribution at given bounds, for a Prometheus histogram: every
 * field only grows as durations are recorded, and `counts` ends below or at `count`.
 */
export interface LatencyBuckets {
  /** The bounds asked for, in milliseconds, increasing. */
  readonly boundsMs: readonly number[]
  /** `counts[i]`: durations recorded at or below `boundsMs[i]` (cumulative, non-decreasing). */
  readonly counts: readonly number[]
  /** Every duration recorded (the `+Inf` bucket and `_count`). */
  readonly count: number
  /** Their total in milliseconds (`_sum`). */
  readonly sumMs: number
}

/** Percentiles of a latency distribution, in milliseconds. */
export interface LatencySummary {
  readonly count: number
  readonly mean: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  /**
   * Cumulative counts at `boundsMs` (increasing), read from the histogram **when called**, not when
   * the summary was taken: the durations recorded since are in them, so `count` may exceed the
   * summary's. One result is consistent in itself (its `count` and `sumMs` are of the same instant).
   * Not enumerable: the summary's data (keys, JSON, spread) is the six figures above.
   * @throws InvalidOptionError unless `boundsMs` is a non-empty increasing list of finite numbers ≥ 0
   */
  readonly buckets: (boundsMs: readonly number[]) => LatencyBuckets
}

/** A frozen summary with a non-enumerable `buckets` reading `read` at call time. */
function frozenSummary(
  figures: Omit<LatencySummary, 'buckets'>,
  read: (boundsMs: readonly number[]) => LatencyBuckets,
): LatencySummary {
  const summary = { ...figures } as LatencySummary
  Object.defineProperty(summary, 'buckets', {
    value: (boundsMs: readonly number[]) => read(checkBounds(boundsMs)),
  })
  return Object.freeze(summary)
}

/** `boundsMs` when it is a non-empty, strictly increasing list of finite numbers ≥ 0. */
export function checkBounds(boundsMs: readonly number[]): readonly number[] {
  const valid =
    Array.isArray(boundsMs) &&
    boundsMs.length > 0 &&
    boundsMs.every(
      (b, i) =>
        typeof b === 'number' && Number.isFinite(b) && b >= 0 && (i === 0 || b > (boundsMs[i - 1] as number)),
    )
  if (!valid)
    throw new InvalidOptionError('boundsMs', boundsMs, 'a non-empty increasing list of finite durations ≥ 0')
  return boundsMs
}

/** The summary of no durations at all: every figure 0. */
export const NO_LATENCY: LatencySummary = frozenSummary(
  { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 },
  (boundsMs) => Object.freeze({ boundsMs: [...boundsMs], counts: boundsMs.map(() => 0), count: 0, sumMs: 0 }),
)

/** Largest recordable duration, in µs (about 285 years): longer ones are recorded as this. */
const MAX_US = Number.MAX_SAFE_INTEGER

/**
 * A latency histogram at 1 µs resolution and 3 significant digits, on hdr-histogram-js (pure
 * JavaScript HdrHistogram; Float64 counts, so no bucket ever overflows; it resizes to the largest
 * value seen).
 *
 * Recording is built for a pool's hottest path, where one call per acquire is the budget:
 * - Zero durations (an acquire served at once, or within one reading of the pool's coarse clock)
 *   are only counted; percentiles merge that exact count with the histogram.
 * - Equal consecutive durations are counted as a run and recorded once, with their count
 *   (`recordValueWithCount`). Under load the coarse clock makes long runs of equal waits (80 on
 *   average in bench:pool at 64 callers), so most calls cost a comparison and an increment.
 * Both are exact: no value is dropped, sampled or reweighted.
 *
 * `buckets()` (and each summary's `buckets`) gives cumulative counts at chosen bounds, for
 * Prometheus histograms: the zero count is added to every bound, the pending run is flushed first,
 * and a bound counts every value of the HDR bucket it falls in (HDR buckets are 0.1% wide at most,
 * so a value up to 0.1% above a bound may count as within it; at 1 µs steps below 2 ms).
 */
export class LatencyHistogram {
  readonly #h = LatencyHistogram.#make()
  /** Zero durations, kept out of the histogram (its floor is 1 µs). */
  #zeros = 0
  #count = 0
  #sum = 0
  #max = 0
  /** The current run of equal durations (in µs), not yet in `#h`, and its length. */
  #runUs = 0
  /** The last duration recorded other than zero, in ms (its µs value is `#runUs`). */
  #lastMs = Number.NaN
  #runLength = 0
  /** The summary while nothing is recorded: NO_LATENCY's figures, this histogram's `buckets`. */
  readonly #empty = frozenSummary(NO_LATENCY, (boundsMs) => this.#buckets(boundsMs))

  static #make(): Float64Histogram {
    const h = new Float64Histogram(1, 2, 3)
    h.autoResize = true
    return h
  }

  /**
   * Records one duration in milliseconds; negative ones (a clock step) count as zero.
   * @throws InvalidOptionError for NaN, Infinity or a non-number (nothing is recorded)
   */
  record(ms: number): void {
    if (ms < 0.0005) {
      this.#count++
      this.#zeros++
      return
    }
    if (ms === this.#lastMs) {
      // The same duration as the last one: the same run, and neither a new maximum nor invalid.
      this.#count++
      this.#sum += ms
      this.#runLength++
      return
    }
    this.#recordNew(ms)
  }

  /** `record()` for a duration other than the last one: validates, then extends or starts a run. */
  #recordNew(ms: number): void {
    // One comparison; it is false for NaN, Infinity and non-numbers alike.
    if (!(ms < Number.POSITIVE_INFINITY) || typeof ms !== 'number') {
      throw new InvalidOptionError('ms', ms, 'a finite duration in milliseconds')
    }
    this.#count++
    this.#sum += ms
    if (ms > this.#max) this.#max = ms
    this.#lastMs = ms
    const us = ms < 0.001 ? 1 : Math.min(MAX_US, Math.round(ms * 1000))
    if (us === this.#runUs) {
      this.#runLength++
      return
    }
    this.#flushRun()
    this.#runUs = us
    this.#runLength = 1
  }

  summary(): LatencySummary {
    const count = this.#count
    if (count === 0) return this.#empty
    this.#flushRun()
    const h = this.#h
    const zeros = this.#zeros
    const recorded = count - zeros
    const at = (p: number): number => {
      const rank = (p / 100) * count
      if (rank <= zeros) return 0
      return h.getValueAtPercentile(Math.min(100, (100 * (rank - zeros)) / recorded)) / 1000
    }
    return frozenSummary(
      { count, mean: this.#sum / count, p50: at(50), p90: at(90), p99: at(99), max: this.#max },
      (boundsMs) => this.#buckets(boundsMs),
    )
  }

  /**
   * Cumulative counts of the durations recorded so far at `boundsMs` (see `LatencyBuckets`).
   * @throws InvalidOptionError unless `boundsMs` is a non-empty increasing list of finite numbers ≥ 0
   */
  buckets(boundsMs: readonly number[]): LatencyBuckets {
    return this.#buckets(checkBounds(boundsMs))
  }

  #buckets(boundsMs: readonly number[]): LatencyBuckets {
    this.#flushRun()
    const h = this.#h
    const counts: number[] = []
    const last = h.countsArrayLength - 1
    // One pass over the counts array, up to the largest bound's HDR bucket.
    let index = 0
    let below = this.#zeros
    for (const ms of boundsMs) {
      const us = Math.min(MAX_US, Math.round(ms * 1000))
      const upTo = Math.min(last, h.countsArrayIndex(us))
      for (; index <= upTo; index++) below += h.getCountAtIndex(index)
      counts.push(below)
    }
    return Object.freeze({
      boundsMs: Object.freeze([...boundsMs]),
      counts: Object.freeze(counts),
      count: this.#count,
      sumMs: this.#sum,
    })
  }

  /**
   * One histogram holding every duration of `histograms` (exact: their counts are added, bucket by
   * bucket), for a total over parts that each keep their own (a pool's calls over its methods).
   * The parts are left as they were.
   */
  static merged(histograms: Iterable<LatencyHistogram>): LatencyHistogram {
    const into = new LatencyHistogram()
    for (const part of histograms) {
      part.#flushRun()
      into.#h.add(part.#h)
      into.#zeros += part.#zeros
      into.#count += part.#count
      into.#sum += part.#sum
      if (part.#max > into.#max) into.#max = part.#max
    }
    return into
  }

  reset(): void {
    this.#h.reset()
    this.#zeros = this.#count = this.#sum = this.#max = this.#runUs = this.#runLength = 0
    this.#lastMs = Number.NaN
  }

  #flushRun(): void {
    if (this.#runLength === 0) return
    this.#h.recordValueWithCount(this.#runUs, this.#runLength)
    this.#runLength = 0
  }
}
