/**
 * What a Prometheus metric family of berth is: a name, its labels, and how to read its samples from
 * one collection's snapshots. The exporter turns each into a prom-client metric whose `collect()`
 * calls `samples` at scrape time.
 */
import type { LatencySummary } from '../core/latency-histogram.js'
import type { SourceSample, SourceScrape } from './metric-sources.js'

export type LabelValues = Readonly<Record<string, string | number>>

interface FamilyBase {
  /** The default name; a leading `berth_` is replaced by the exporter's prefix. */
  readonly name: string
  readonly help: string
  readonly labelNames: readonly string[]
}

/** A gauge or a counter: one number per label set. */
export interface ValueFamily extends FamilyBase {
  readonly type: 'gauge' | 'counter'
  samples(scrape: SourceScrape, emit: (labels: LabelValues, value: number) => void): void
}

/** What a duration family measures: each has its own default buckets (`PrometheusExporter` `buckets`). */
export type DurationMeasure = 'acquireWait' | 'create' | 'query' | 'rpc'

/**
 * Durations read from a latency snapshot (milliseconds; the exporter converts to seconds), exported
 * as a histogram, a summary or both (the exporter's `durations` option).
 */
export interface DurationFamily extends FamilyBase {
  readonly type: 'duration'
  readonly measure: DurationMeasure
  samples(scrape: SourceScrape, emit: (labels: LabelValues, latency: LatencySummary) => void): void
}

export type MetricFamily = ValueFamily | DurationFamily

type PickSamples<S> = (scrape: SourceScrape) => readonly SourceSample<S>[]

/** A family with one sample per pool (label `pool`, plus `kind` when `withKind`). */
export function perPool<S>(
  pick: PickSamples<S>,
  type: 'gauge' | 'counter',
  name: string,
  help: string,
  read: (stats: S) => number | undefined,
  withKind = false,
): ValueFamily {
  return {
    type,
    name,
    help,
    labelNames: withKind ? ['pool', 'kind'] : ['pool'],
    samples(scrape, emit) {
      for (const s of pick(scrape)) {
        const value = read(s.stats)
        if (value !== undefined) emit(withKind ? { pool: s.name, kind: s.kind } : { pool: s.name }, value)
      }
    },
  }
}

/** A family with one sample per pool and value of an extra label (`state`, `reason`...). */
export function perPoolBy<S>(
  pick: PickSamples<S>,
  type: 'gauge' | 'counter',
  name: string,
  help: string,
  label: string,
  read: (stats: S) => Iterable<readonly [string, number]>,
  withKind = false,
): ValueFamily {
  return {
    type,
    name,
    help,
    labelNames: withKind ? ['pool', 'kind', label] : ['pool', label],
    samples(scrape, emit) {
      for (const s of pick(scrape)) {
        for (const [key, value] of read(s.stats)) {
          emit(
            withKind ? { pool: s.name, kind: s.kind, [label]: key } : { pool: s.name, [label]: key },
            value,
          )
        }
      }
    },
  }
}
