export {
  type PostgresServer,
  PostgresServerError,
  type StartPostgresOptions,
  startPostgres,
} from './postgres-server.js'
export {
  type PostgresCluster,
  type PostgresStandby,
  type StartPostgresClusterOptions,
  startPostgresCluster,
} from './postgres-cluster.js'
export {
  type PgBouncer,
  type PgBouncerPoolMode,
  type PgBouncerTarget,
  type StartPgBouncerOptions,
  startPgBouncer,
} from './pgbouncer.js'
export { findPgBouncer, type PgBouncerBinary } from './pgbouncer-binary.js'
export { PgBouncerError, PgBouncerNotInstalledError } from './pgbouncer-errors.js'
export {
  BANDWIDTH_BURST_SECONDS,
  type BandwidthOptions,
  type FaultDirectionOption,
  type FaultProxy,
  type FaultProxyDirectionStats,
  type FaultProxyEndpoint,
  FaultProxyError,
  type FaultProxyErrorCode,
  type FaultProxyStats,
  type LatencyOptions,
  type RefuseMode,
  type RefuseNewOptions,
  type StartFaultProxyOptions,
  startFaultProxy,
} from './fault-proxy.js'
