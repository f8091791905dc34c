/**
 * A prom-client Histogram whose cumulative bucket counts, sum and count come from a berth latency
 * histogram at scrape time instead of observations: berth records every duration in an HDR histogram
 * inside the pool (`LatencyHistogram`), and `LatencySummary.buckets()` counts the durations at or
 * below each bound. Every series is monotonic (lifetime counts), so they add up across pools and
 * instances: `sum by (le) (rate(..._bucket[5m]))` then `histogram_quantile()`.
 */
import type { Histogram, HistogramConfiguration, MetricValueWithName } from 'prom-client'
import { type PromClientModule, perClient } from './prom-client-loader.js'
import type { LatencySample } from './prometheus-summary.js'

type MetricObject = Awaited<ReturnType<Histogram<string>['get']>>

type SnapshotHistogramClass = new (
  config: HistogramConfiguration<string>,
  read: () => readonly LatencySample[],
) => Histogram<string>

const histogramClass = perClient((client: PromClientModule): SnapshotHistogramClass => {
  return class SnapshotHistogram extends client.Histogram<string> {
    readonly #name: string
    readonly #boundsS: readonly number[]
    readonly #boundsMs: readonly number[]
    readonly #help: string
    readonly #read: () => readonly LatencySample[]

    constructor(config: HistogramConfiguration<string>, read: () => readonly LatencySample[]) {
      super(config)
      this.#name = config.name
      this.#help = config.help
      this.#boundsS = config.buckets ?? []
      this.#boundsMs = this.#boundsS.map((s) => s * 1000)
      this.#read = read
    }

    /** Every sample's series, read synchronously: the exporter's snapshot lasts until a microtask. */
    #values(): MetricValueWithName<string>[] {
      const values: MetricValueWithName<string>[] = []
      const bucket = `${this.#name}_bucket`
      for (const { labels, latency } of this.#read()) {
        const b = latency.buckets(this.#boundsMs)
        this.#boundsS.forEach((le, i) => {
          values.push({ metricName: bucket, labels: { ...labels, le }, value: b.counts[i] as number })
        })
        values.push({ metricName: bucket, labels: { ...labels, le: '+Inf' }, value: b.count })
        values.push({ metricName: `${this.#name}_sum`, labels, value: b.sumMs / 1000 })
        values.push({ metricName: `${this.#name}_count`, labels, value: b.count })
      }
      return values
    }

    override async get(): Promise<MetricObject> {
      const values = this.#values()
      // prom-client's typings declare `type` as an enum; at run time it is the exposition's word.
      const type = 'histogram' as unknown as MetricObject['type']
      return { name: this.#name, help: this.#help, type, aggregator: 'sum', collect: () => {}, values }
    }

    /** What the registry's text output reads (prom-client's own would read observations). */
    async getForPromString() {
      return this.get()
    }
  }
})

/** A histogram of `read()`'s latencies at `config.buckets` (seconds), registered in `config.registers`. */
export function createSnapshotHistogram(
  client: PromClientModule,
  config: HistogramConfiguration<string>,
  read: () => readonly LatencySample[],
): Histogram<string> {
  const SnapshotHistogram = histogramClass(client)
  return new SnapshotHistogram(config, read)
}
