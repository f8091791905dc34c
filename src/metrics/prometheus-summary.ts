/**
 * A prom-client Summary whose quantiles, sum and count come from a berth latency snapshot instead of
 * observations: berth keeps percentiles (an HDR histogram inside the pool), so there is nothing to
 * `observe()`. Registered like any prom-client metric; `get()` reads the snapshot at scrape time.
 */
import type { MetricValueWithName, Summary, SummaryConfiguration } from 'prom-client'
import type { LatencySummary } from '../core/latency-histogram.js'
import { type PromClientModule, perClient } from './prom-client-loader.js'
import type { LabelValues } from './prometheus-family.js'

/**
 * The quantile labels exported, and the snapshot field each reads (`1` is the max). Percentiles are
 * clamped to the max: the histogram's percentiles are rounded bucket values and may exceed the exact
 * max by a microsecond, and a summary whose quantiles decrease confuses dashboards.
 */
export const SUMMARY_QUANTILES = [
  [0.5, 'p50'],
  [0.9, 'p90'],
  [0.99, 'p99'],
  [1, 'max'],
] as const

export interface LatencySample {
  readonly labels: LabelValues
  /** Milliseconds, as in berth's stats; exported in seconds. */
  readonly latency: LatencySummary
}

type SnapshotSummaryClass = new (
  config: SummaryConfiguration<string>,
  read: () => readonly LatencySample[],
) => Summary<string>

const summaryClass = perClient((client: PromClientModule): SnapshotSummaryClass => {
  return class SnapshotSummary extends client.Summary<string> {
    readonly #name: string
    readonly #read: () => readonly LatencySample[]

    constructor(config: SummaryConfiguration<string>, read: () => readonly LatencySample[]) {
      super({ ...config, percentiles: [] })
      this.#name = config.name
      this.#read = read
    }

    override async get() {
      // Read before the first await: the exporter shares one snapshot per scrape until a microtask.
      const samples = this.#read()
      const base = await super.get()
      const values: MetricValueWithName<string>[] = []
      for (const { labels, latency } of samples) {
        for (const [quantile, field] of SUMMARY_QUANTILES)
          values.push({
            labels: { ...labels, quantile },
            value: Math.min(latency[field], latency.max) / 1000,
          })
        values.push({ metricName: `${this.#name}_sum`, labels, value: (latency.mean * latency.count) / 1000 })
        values.push({ metricName: `${this.#name}_count`, labels, value: latency.count })
      }
      return { ...base, values }
    }
  }
})

export function createSnapshotSummary(
  client: PromClientModule,
  config: SummaryConfiguration<string>,
  read: () => readonly LatencySample[],
): Summary<string> {
  const SnapshotSummary = summaryClass(client)
  return new SnapshotSummary(config, read)
}
