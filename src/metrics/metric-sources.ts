/**
 * The pools an exporter reads: each with its kind and the name it reports under. Exporters read
 * nothing but `stats()` snapshots, taken once per collection so that every series of one scrape
 * comes from the same instant.
 */
import { InvalidOptionError } from '../core/errors.js'
import type { OwnerStats } from '../core/owner.js'
import type { PoolStats } from '../core/pool-stats.js'
import type { ChannelPoolStats } from '../grpc/channel-pool-stats.js'
import type { PgClusterStats } from '../pg/cluster-stats.js'
import type { PgPoolStats } from '../pg/pg-pool-stats.js'
import { DuplicateMetricSourceError } from './errors.js'
import { redactLabel } from './label-redaction.js'

/** Anything with a `stats()` snapshot: structural, so berth/metrics loads neither pg nor grpc-js. */
export interface StatsSource<S> {
  stats(): S
}

/** A core `Pool` (from `berth`). */
export type PoolSource = StatsSource<PoolStats>
/** A `PgPool` (from `berth/pg`). */
export type PgPoolSource = StatsSource<PgPoolStats>
/** A `ChannelPool` (from `berth/grpc`). */
export type ChannelPoolSource = StatsSource<ChannelPoolStats>
/** A `PgCluster` (from `berth/pg`). */
export type PgClusterSource = StatsSource<PgClusterStats>

/**
 * `'core'` for a plain `Pool`, `'pg'` for a `PgPool`, `'grpc'` for a `ChannelPool`, `'pg-cluster'`
 * for a `PgCluster` (whose hosts' pools are exported as `'pg'` pools under their own names).
 */
export type SourceKind = 'core' | 'pg' | 'grpc' | 'pg-cluster'

export interface AddSourceOptions {
  /**
   * The value of the `pool` label (Prometheus) or pool-name attribute (OpenTelemetry). Default: the
   * pool's own name from its stats. Any URL userinfo or password parameter in it is removed.
   */
  name?: string
}

/** One pool's snapshot in a collection. */
export interface SourceSample<S> {
  readonly name: string
  readonly kind: SourceKind
  readonly stats: S
}

/** The snapshots of one collection. */
export interface SourceScrape {
  /**
   * The core pool of every source: a `Pool` itself, a `PgPool`'s or a `ChannelPool`'s inner pool,
   * and the inner pool of each host of a `PgCluster`.
   */
  readonly pools: readonly SourceSample<PoolStats>[]
  /** Every `PgPool`, and each host's pool of every `PgCluster` (named by the host pool's own name). */
  readonly pg: readonly SourceSample<PgPoolStats>[]
  readonly grpc: readonly SourceSample<ChannelPoolStats>[]
  readonly pgClusters: readonly SourceSample<PgClusterStats>[]
}

interface Entry {
  readonly kind: SourceKind
  readonly name: string
  readonly source: StatsSource<unknown>
  /** The `pool` labels it gives to Postgres pools: its own (`'pg'`), its hosts' pools (`'pg-cluster'`). */
  readonly pgNames: readonly string[]
}

/**
 * The set of exported pools, keyed by identity; names are unique per kind, and no two sources give
 * a Postgres pool the same name (a PgPool and a cluster's host pool, or the host pools of two
 * clusters under one name).
 */
export class MetricSources {
  readonly #entries = new Map<StatsSource<unknown>, Entry>()

  add(kind: SourceKind, source: StatsSource<unknown>, options: AddSourceOptions = {}): void {
    if (source === null || typeof source !== 'object' || typeof source.stats !== 'function')
      throw new InvalidOptionError('pool', source, `a ${kind} pool with a stats() method`)
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === ''))
      throw new InvalidOptionError('name', options.name, 'a non-empty string')
    const existing = this.#entries.get(source)
    if (existing) throw new DuplicateMetricSourceError(existing.kind, existing.name, 'same pool')
    // Every owner's stats start with its name (OwnerStats); a cluster's also list its hosts' pools.
    const stats = options.name === undefined || kind === 'pg-cluster' ? source.stats() : undefined
    const name = redactLabel(options.name ?? (stats as OwnerStats).name)
    const pgNames =
      kind === 'pg'
        ? [name]
        : kind === 'pg-cluster'
          ? (stats as PgClusterStats).hosts.map((h) => redactLabel(h.pool.name))
          : []
    for (const e of this.#entries.values()) {
      if (e.kind === kind && e.name === name) throw new DuplicateMetricSourceError(kind, name, 'same name')
      const clash = e.pgNames.find((n) => pgNames.includes(n))
      if (clash !== undefined) throw new DuplicateMetricSourceError('pg', clash, 'same host pool')
    }
    this.#entries.set(source, { kind, name, source, pgNames })
  }

  /** Stops exporting `source`; false when it was not exported. */
  remove(source: StatsSource<unknown>): boolean {
    return this.#entries.delete(source)
  }

  get size(): number {
    return this.#entries.size
  }

  /** One `stats()` call per pool. */
  scrape(): SourceScrape {
    const pools: SourceSample<PoolStats>[] = []
    const pg: SourceSample<PgPoolStats>[] = []
    const grpc: SourceSample<ChannelPoolStats>[] = []
    const pgClusters: SourceSample<PgClusterStats>[] = []
    for (const { kind, name, source } of this.#entries.values()) {
      if (kind === 'pg-cluster') {
        const stats = (source as PgClusterSource).stats()
        pgClusters.push({ name, kind, stats })
        // Each host's PgPool, as if added with addPgPool: labelled with the host pool's own name.
        for (const host of stats.hosts) {
          const hostPool = redactLabel(host.pool.name)
          pg.push({ name: hostPool, kind: 'pg', stats: host.pool })
          pools.push({ name: hostPool, kind: 'pg', stats: host.pool.pool })
        }
      } else if (kind === 'pg') {
        const stats = (source as PgPoolSource).stats()
        pg.push({ name, kind, stats })
        pools.push({ name, kind, stats: stats.pool })
      } else if (kind === 'grpc') {
        const stats = (source as ChannelPoolSource).stats()
        grpc.push({ name, kind, stats })
        pools.push({ name, kind, stats: stats.pool })
      } else {
        pools.push({ name, kind, stats: (source as PoolSource).stats() })
      }
    }
    return { pools, pg, grpc, pgClusters }
  }
}
