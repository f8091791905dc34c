import { type RecordableHistogram, createHistogram } from 'node:perf_hooks'
import { InvalidOptionError } from './errors.js'

/** The native histogram's largest value, in µs (about 285 years): longer durations are recorded as this. */
const MAX_US = Number.MAX_SAFE_INTEGER

/** Percentiles of a latency distribution, in milliseconds. */
export interface LatencySummary {
  readonly count: number
  readonly mean: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/**
 * A latency histogram on Node's native HDR histogram (perf_hooks), at 1 µs resolution.
 *
 * Zero durations (an acquire served at once, or within one reading of the pool's coarse clock)
 * are only counted: they are the common case on a hot path, and a native record costs ~50 ns.
 * Percentiles merge that exact count with the histogram, so no value is lost or reweighted.
 */
export class LatencyHistogram {
  readonly #h: RecordableHistogram = createHistogram()
  /** Zero durations, kept out of the native histogram (its floor is 1 µs). */
  #zeros = 0
  #count = 0
  #sum = 0
  #max = 0

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
    // One comparison on the hot path; it is false for NaN, Infinity and non-numbers alike.
    if (!(ms < Number.POSITIVE_INFINITY) || typeof ms !== 'number') {
      throw new InvalidOptionError('ms', ms, 'a finite duration in milliseconds')
    }
    this.#count++
    this.#sum += ms
    if (ms > this.#max) this.#max = ms
    this.#h.record(ms < 0.001 ? 1 : Math.min(MAX_US, Math.round(ms * 1000)))
  }

  summary(): LatencySummary {
    const count = this.#count
    if (count === 0) return Object.freeze({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 })
    const h = this.#h
    const zeros = this.#zeros
    const at = (p: number): number => {
      const rank = (p / 100) * count
      if (rank <= zeros) return 0
      return h.percentile(Math.min(100, (100 * (rank - zeros)) / h.count)) / 1000
    }
    return Object.freeze({
      count,
      mean: this.#sum / count,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      max: this.#max,
    })
  }

  reset(): void {
    this.#h.reset()
    this.#zeros = this.#count = this.#sum = this.#max = 0
  }
}
