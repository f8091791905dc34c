/**
 * berth/metrics: Prometheus (prom-client) and OpenTelemetry (@opentelemetry/api) exporters that read
 * the frozen `stats()` snapshots of berth's pools at scrape/collection time. Both libraries are
 * optional peer dependencies: prom-client is loaded when a `PrometheusExporter` is made, and only
 * types come from @opentelemetry/api.
 */
export {
  DuplicateMetricSourceError,
  MetricNameConflictError,
  MissingPeerDependencyError,
} from './errors.js'
export { redactLabel } from './label-redaction.js'
export type {
  AddSourceOptions,
  ChannelPoolSource,
  PgClusterSource,
  PgPoolSource,
  PoolSource,
  SourceKind,
  StatsSource,
} from './metric-sources.js'
export {
  PROMETHEUS_FAMILIES,
  PrometheusExporter,
  type PrometheusExporterOptions,
} from './prometheus-exporter.js'
export type { DurationMeasure, MetricFamily } from './prometheus-family.js'
export { DEFAULT_BUCKETS, type DurationBuckets, type DurationsMode } from './prometheus-durations.js'
export { SUMMARY_QUANTILES } from './prometheus-summary.js'
export {
  OpenTelemetryMetrics,
  type OpenTelemetryOptions,
  registerOpenTelemetry,
} from './otel-exporter.js'
