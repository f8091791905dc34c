/**
 * OpenTelemetry metrics for berth's pools through @opentelemetry/api: observable instruments fed by
 * one batch callback, which takes one `stats()` snapshot per pool per collection. Only types come
 * from @opentelemetry/api, so berth/metrics loads without it; you hand in your `Meter`.
 */
import type { BatchObservableCallback, Meter, Observable } from '@opentelemetry/api'
import { InvalidOptionError } from '../core/errors.js'
import {
  type AddSourceOptions,
  type ChannelPoolSource,
  MetricSources,
  type PgClusterSource,
  type PgPoolSource,
  type PoolSource,
  type StatsSource,
} from './metric-sources.js'
import { ClusterInstruments } from './otel-cluster-instruments.js'
import { GrpcInstruments } from './otel-grpc-instruments.js'
import { CORE_NAMES, DB_NAMES, DOUBLE, PoolShape, RPC_NAMES, observeLatency } from './otel-instruments.js'

export interface OpenTelemetryOptions {
  /** Core pools to export at once (`berth.pool.resource.*`); more with `addPool`. */
  pools?: readonly PoolSource[]
  /** Postgres pools to export at once (`db.client.connection.*`); more with `addPgPool`. */
  pgPools?: readonly PgPoolSource[]
  /** gRPC channel pools to export at once (`rpc.client.*`); more with `addChannelPool`. */
  channelPools?: readonly ChannelPoolSource[]
  /** Postgres clusters to export at once (`berth.pg.cluster.*`); more with `addPgCluster`. */
  pgClusters?: readonly PgClusterSource[]
}

/** A registration made by `registerOpenTelemetry`: add and remove pools, or stop observing. */
export class OpenTelemetryMetrics {
  readonly #meter: Meter
  readonly #sources = new MetricSources()
  readonly #core: PoolShape
  readonly #db: PoolShape
  readonly #rpc: PoolShape
  readonly #grpc: GrpcInstruments
  readonly #clusters: ClusterInstruments
  readonly #queryDuration: Observable
  readonly #observables: Observable[]
  readonly #callback: BatchObservableCallback
  #unregistered = false

  constructor(meter: Meter) {
    if (meter === null || typeof meter !== 'object' || typeof meter.addBatchObservableCallback !== 'function')
      throw new InvalidOptionError('meter', meter, 'an OpenTelemetry Meter')
    this.#meter = meter
    this.#core = new PoolShape(meter, CORE_NAMES)
    this.#db = new PoolShape(meter, DB_NAMES)
    this.#rpc = new PoolShape(meter, RPC_NAMES)
    this.#grpc = new GrpcInstruments(meter)
    this.#clusters = new ClusterInstruments(meter)
    this.#queryDuration = meter.createObservableGauge('berth.pg.query.duration', {
      description: 'Query round trips of a berth Postgres pool, as quantiles since the pool was made.',
      unit: 's',
      valueType: DOUBLE,
    })
    this.#observables = [
      ...this.#core.instruments,
      ...this.#db.instruments,
      ...this.#rpc.instruments,
      ...this.#grpc.instruments,
      ...this.#clusters.instruments,
      this.#queryDuration,
    ]
    this.#callback = (result) => {
      const scrape = this.#sources.scrape()
      for (const { name, kind, stats } of scrape.pools) {
        const shape = kind === 'pg' ? this.#db : kind === 'grpc' ? this.#rpc : this.#core
        shape.observe(result, name, stats)
      }
      for (const { name, stats } of scrape.pg)
        observeLatency(result, this.#queryDuration, stats.queryMs, { [DB_NAMES.poolAttribute]: name })
      for (const { name, stats } of scrape.grpc) this.#grpc.observe(result, name, stats)
      for (const { name, stats } of scrape.pgClusters) this.#clusters.observe(result, name, stats)
    }
    meter.addBatchObservableCallback(this.#callback, this.#observables)
  }

  /** Observes a core `Pool` under `berth.pool.resource.*`. */
  addPool(pool: PoolSource, options?: AddSourceOptions): this {
    this.#sources.add('core', pool, options)
    return this
  }

  /** Observes a `PgPool` under `db.client.connection.*` and `berth.pg.query.duration`. */
  addPgPool(pool: PgPoolSource, options?: AddSourceOptions): this {
    this.#sources.add('pg', pool, options)
    return this
  }

  /**
   * Observes a `PgCluster` under `berth.pg.cluster.*` (attribute `berth.pg.cluster.name`, and
   * `berth.pg.cluster.host` per server), and each host's pool as a `PgPool` under its own name.
   */
  addPgCluster(cluster: PgClusterSource, options?: AddSourceOptions): this {
    this.#sources.add('pg-cluster', cluster, options)
    return this
  }

  /** Observes a `ChannelPool` under `rpc.client.connection.*` and `rpc.client.call.*`. */
  addChannelPool(pool: ChannelPoolSource, options?: AddSourceOptions): this {
    this.#sources.add('grpc', pool, options)
    return this
  }

  /** Stops observing `pool`; false when it was not observed. */
  remove(pool: StatsSource<unknown>): boolean {
    return this.#sources.remove(pool)
  }

  /** Removes the batch callback from the meter: nothing more is observed. Idempotent. */
  unregister(): void {
    if (this.#unregistered) return
    this.#unregistered = true
    this.#meter.removeBatchObservableCallback(this.#callback, this.#observables)
  }
}

/**
 * Observes berth's pools on `meter` with the OpenTelemetry database client conventions for
 * connection pools (and the same shape for gRPC channel pools and core pools). Pool names come from
 * the pools' stats; use `add*(pool, { name })` to choose one.
 *
 * ```ts
 * const otel = registerOpenTelemetry(metrics.getMeter('berth'), { pgPools: [db], channelPools: [users] })
 * ```
 */
export function registerOpenTelemetry(
  meter: Meter,
  options: OpenTelemetryOptions = {},
): OpenTelemetryMetrics {
  const registration = new OpenTelemetryMetrics(meter)
  for (const pool of options.pools ?? []) registration.addPool(pool)
  for (const pool of options.pgPools ?? []) registration.addPgPool(pool)
  for (const pool of options.channelPools ?? []) registration.addChannelPool(pool)
  for (const cluster of options.pgClusters ?? []) registration.addPgCluster(cluster)
  return registration
}
