/**
 * Prometheus metrics for berth's pools through prom-client. Every metric reads the pools' frozen
 * `stats()` snapshots in its `collect()` at scrape time: nothing polls, and a scrape takes one
 * snapshot per pool (shared by all its series, so they agree with each other).
 */
import type { Registry } from 'prom-client'
import { BerthError, InvalidOptionError } from '../core/errors.js'
import { MetricNameConflictError } from './errors.js'
import {
  type AddSourceOptions,
  type ChannelPoolSource,
  MetricSources,
  type PgClusterSource,
  type PgPoolSource,
  type PoolSource,
  type SourceScrape,
  type StatsSource,
} from './metric-sources.js'
import { type PromClientModule, loadPromClient } from './prom-client-loader.js'
import {
  type DurationBuckets,
  type DurationsMode,
  durationBuckets,
  durationsMode,
  summaryName,
} from './prometheus-durations.js'
import { GRPC_FAMILIES } from './prometheus-families-grpc.js'
import { PG_CLUSTER_FAMILIES } from './prometheus-families-pg-cluster.js'
import { PG_FAMILIES } from './prometheus-families-pg.js'
import { POOL_FAMILIES } from './prometheus-families-pool.js'
import type { DurationFamily, DurationMeasure, MetricFamily } from './prometheus-family.js'
import { createSnapshotHistogram } from './prometheus-histogram.js'
import { type LatencySample, createSnapshotSummary } from './prometheus-summary.js'

/** Every family berth exports, with its default name. */
export const PROMETHEUS_FAMILIES: readonly MetricFamily[] = [
  ...POOL_FAMILIES,
  ...PG_FAMILIES,
  ...PG_CLUSTER_FAMILIES,
  ...GRPC_FAMILIES,
]

const DEFAULT_PREFIX = 'berth_'
const PREFIX_SYNTAX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/

export interface PrometheusExporterOptions {
  /**
   * The prom-client registry to register into. Default: a new `Registry` of its own (never
   * prom-client's global `register`); pass `register` to serve berth's metrics with your others.
   */
  registry?: Registry
  /**
   * Replaces the leading `berth_` of berth's own metric names (`''` drops it). Default `'berth_'`.
   * `grpc_active_connections` and `grpc_request_duration_seconds` keep their names.
   */
  prefix?: string
  /**
   * How durations (acquire wait, query, RPC) are exported. `'histogram'` (default): Prometheus
   * histograms, which add up across pools and instances (`histogram_quantile` over
   * `sum by (le) (rate(x_bucket[5m]))`) — use these. `'summary'`: the per-pool quantiles (0.5, 0.9,
   * 0.99, and 1 for the max) under the same names, as berth exported before; they cannot be
   * aggregated. `'both'`: the histograms, and the summaries as `*_summary_seconds`.
   */
  durations?: DurationsMode
  /**
   * Histogram bucket upper bounds in seconds, per measure (`+Inf` is added): `acquireWait`
   * (`berth_pool_acquire_wait_seconds`), `create` (`berth_pool_create_duration_seconds`), `query`
   * (`berth_pg_query_duration_seconds`), `rpc`
   * (`grpc_request_duration_seconds`). Each list replaces that measure's default
   * (`DEFAULT_BUCKETS`); it must be non-empty and increasing.
   */
  buckets?: Partial<Record<DurationMeasure, readonly number[]>>
}

/**
 * Exports the stats of core pools, Postgres pools and clusters, and gRPC channel pools as Prometheus
 * metrics.
 *
 * ```ts
 * const metrics = new PrometheusExporter()
 * metrics.addPgPool(db).addChannelPool(users)
 * res.end(await metrics.registry.metrics())
 * ```
 *
 * Every metric is registered when the exporter is made (so a name clash fails at once, with
 * `MetricNameConflictError`); a metric without pools shows only its HELP and TYPE lines. Needs
 * prom-client (an optional peer dependency), loaded here rather than at import.
 */
export class PrometheusExporter {
  /** The registry the metrics are in; serve `await registry.metrics()` on your /metrics route. */
  readonly registry: Registry
  /** The names of the metrics this exporter registered, prefix applied. */
  readonly metricNames: readonly string[]
  readonly #sources = new MetricSources()
  #scrape: SourceScrape | undefined
  #unregistered = false

  constructor(options: PrometheusExporterOptions = {}) {
    const prefix = options.prefix ?? DEFAULT_PREFIX
    if (typeof prefix !== 'string' || !PREFIX_SYNTAX.test(prefix))
      throw new InvalidOptionError(
        'prefix',
        options.prefix,
        'a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)',
      )
    const durations = durationsMode(options.durations)
    const buckets = durationBuckets(options.buckets)
    const client = loadPromClient()
    this.registry = options.registry ?? new client.Registry()
    const names: string[] = []
    const register = (name: string, make: () => void) => {
      if (this.registry.getSingleMetric(name) !== undefined) throw new MetricNameConflictError(name)
      make()
      names.push(name)
    }
    try {
      for (const family of PROMETHEUS_FAMILIES) {
        const name = family.name.startsWith(DEFAULT_PREFIX)
          ? prefix + family.name.slice(DEFAULT_PREFIX.length)
          : family.name
        if (family.type !== 'duration') register(name, () => this.#register(client, family, name))
        else {
          if (durations !== 'summary')
            register(name, () => this.#registerDurations(client, family, name, 'histogram', buckets))
          const asSummary = durations === 'both' ? summaryName(name) : name
          if (durations !== 'histogram')
            register(asSummary, () => this.#registerDurations(client, family, asSummary, 'summary', buckets))
        }
      }
    } catch (error) {
      for (const name of names) this.registry.removeSingleMetric(name)
      if (error instanceof BerthError) throw error
      throw new InvalidOptionError('prefix', prefix, `a prefix giving valid metric names (${String(error)})`)
    }
    this.metricNames = Object.freeze(names)
  }

  /** Exports a core `Pool` (label `kind="core"`). */
  addPool(pool: PoolSource, options?: AddSourceOptions): this {
    this.#sources.add('core', pool, options)
    return this
  }

  /** Exports a `PgPool`: `berth_pg_*`, and `berth_pool_*` for its connections (`kind="pg"`). */
  addPgPool(pool: PgPoolSource, options?: AddSourceOptions): this {
    this.#sources.add('pg', pool, options)
    return this
  }

  /**
   * Exports a `PgCluster`: `berth_pg_cluster_*` (label `pool` = the cluster's name, and `host` on the
   * per-server series), and each host's pool as a `PgPool` (`berth_pg_*`, `berth_pool_*{kind="pg"}`)
   * under that pool's own name (`pg-cluster@127.0.0.1:5432`).
   */
  addPgCluster(cluster: PgClusterSource, options?: AddSourceOptions): this {
    this.#sources.add('pg-cluster', cluster, options)
    return this
  }

  /** Exports a `ChannelPool`: the gRPC metrics, and `berth_pool_*` for its channels (`kind="grpc"`). */
  addChannelPool(pool: ChannelPoolSource, options?: AddSourceOptions): this {
    this.#sources.add('grpc', pool, options)
    return this
  }

  /** Stops exporting `pool`: its series are gone from the next scrape. False when it was not exported. */
  remove(pool: StatsSource<unknown>): boolean {
    return this.#sources.remove(pool)
  }

  /** Removes every metric of this exporter from the registry. Idempotent; the exporter is done after. */
  unregister(): void {
    if (this.#unregistered) return
    this.#unregistered = true
    for (const name of this.metricNames) this.registry.removeSingleMetric(name)
  }

  /**
   * The snapshots of the scrape in progress. prom-client runs every metric's `collect()` in one
   * synchronous pass before it awaits anything, so a snapshot kept until the next microtask is
   * shared by exactly one scrape.
   */
  #current(): SourceScrape {
    if (this.#scrape === undefined) {
      this.#scrape = this.#sources.scrape()
      queueMicrotask(() => {
        this.#scrape = undefined
      })
    }
    return this.#scrape
  }

  #registerDurations(
    client: PromClientModule,
    family: DurationFamily,
    name: string,
    as: 'histogram' | 'summary',
    buckets: DurationBuckets,
  ): void {
    const config = { name, help: family.help, labelNames: family.labelNames, registers: [this.registry] }
    const read = () => {
      const out: LatencySample[] = []
      family.samples(this.#current(), (labels, latency) => out.push({ labels, latency }))
      return out
    }
    if (as === 'histogram')
      createSnapshotHistogram(client, { ...config, buckets: [...buckets[family.measure]] }, read)
    else createSnapshotSummary(client, { ...config, help: `${family.help} Quantile 1 is the max.` }, read)
  }

  #register(client: PromClientModule, family: Exclude<MetricFamily, DurationFamily>, name: string): void {
    const registers = [this.registry]
    const labelNames = family.labelNames
    const current = () => this.#current()
    if (family.type === 'gauge') {
      new client.Gauge({
        name,
        help: family.help,
        labelNames,
        registers,
        collect() {
          this.reset()
          family.samples(current(), (labels, value) => this.set(labels, value))
        },
      })
    } else {
      new client.Counter({
        name,
        help: family.help,
        labelNames,
        registers,
        collect() {
          this.reset()
          family.samples(current(), (labels, value) => this.inc(labels, value))
        },
      })
    }
  }
}
