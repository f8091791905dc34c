/** Errors of berth/metrics, each with a stable `code`. */
import { BerthError } from '../core/errors.js'

/**
 * An optional peer dependency (prom-client) is needed for what was asked and is not installed:
 * thrown by the first `new PrometheusExporter()`. What to do: `npm install prom-client`.
 */
export class MissingPeerDependencyError extends BerthError {
  readonly dependency: string

  constructor(dependency: string, feature: string, options?: { cause?: unknown }) {
    super(
      'BERTH_MISSING_PEER_DEPENDENCY',
      `${feature} needs the optional peer dependency '${dependency}': npm install ${dependency}`,
      options,
    )
    this.dependency = dependency
  }
}

/**
 * A pool was added to an exporter twice, or two pools of one kind would report under the same
 * `pool` label (a PgCluster's host pools count as Postgres pools, under their own names). What to
 * do: add each pool once, and give pools of one kind distinct names (`{ name }` when adding; for
 * clusters to the same servers, createPgCluster's `name`).
 */
export class DuplicateMetricSourceError extends BerthError {
  readonly kind: string
  readonly poolName: string

  constructor(kind: string, poolName: string, reason: 'same pool' | 'same name' | 'same host pool') {
    super(
      'BERTH_METRICS_DUPLICATE_SOURCE',
      reason === 'same pool'
        ? `This ${kind} pool is already exported (as '${poolName}')`
        : reason === 'same name'
          ? `Another ${kind} pool is already exported as '${poolName}'; pass a distinct { name }`
          : `A Postgres pool named '${poolName}' is already exported (a PgPool, or a host of another PgCluster); a cluster's host pools are named '<cluster name>@host:port': give the clusters distinct names (createPgCluster's name option)`,
    )
    this.kind = kind
    this.poolName = poolName
  }
}

/**
 * A metric name berth registers is already taken in the prom-client registry given to the
 * exporter (a second exporter on the same registry, say). What to do: one exporter per registry,
 * or a distinct `prefix` or `registry`.
 */
export class MetricNameConflictError extends BerthError {
  readonly metric: string

  constructor(metric: string, options?: { cause?: unknown }) {
    super(
      'BERTH_METRICS_NAME_CONFLICT',
      `Metric '${metric}' is already registered in this registry (another exporter on it? use a distinct prefix or registry)`,
      options,
    )
    this.metric = metric
  }
}
