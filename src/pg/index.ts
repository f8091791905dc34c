/**
 * berth/pg: a PostgreSQL pool on node-postgres' Client, built on berth's core Pool.
 */
export {
  assessBudget,
  type BudgetOptions,
  type BudgetReport,
  type ServerConnectionLimits,
} from './budget.js'
export {
  type PgClientConfig,
  type PgConfigOptions,
  type PgEnv,
  type PgPassword,
  type PgPoolSettings,
  type PgSslFiles,
  type PgSslMode,
  type ResolvedPgConfig,
  resolvePgConfig,
} from './config.js'
export { formatDuration, parseDuration } from './duration.js'
export { Pool, PoolClient } from './compat-pool.js'
export {
  CompatClientReleasedError,
  CompatPoolEndedError,
  ConnectionBrokenError,
  ConnectionReleasedError,
  PgConfigError,
  SessionStateError,
  TransactionClosedError,
  UseTxError,
} from './errors.js'
export { PgConnection } from './pg-connection.js'
export {
  isRetryable,
  isRetryableSqlState,
  PgArgumentError,
  PgConnectionError,
  PgError,
  PgFailoverError,
  PgNoPrimaryError,
} from './pg-error.js'
export { createPgPool, PgPool } from './pg-pool.js'
export type { PgPoolOptions } from './pg-pool-options.js'
export type { PgPoolStats } from './pg-pool-stats.js'
export { type PgResult, QueryAbortedError, type QueryOptions, QueryTimeoutError } from './pg-query.js'
export { type IsolationLevel, PgTransaction, type TxOptions } from './pg-transaction.js'
export { createPgCluster, PgCluster } from './pg-cluster.js'
export type { PgClusterInput, PgClusterOptions, PgClusterServer } from './cluster-options.js'
export type { PgClusterReader, ReadOptions } from './cluster-reader.js'
export type { PgClusterSession } from './cluster-session.js'
export type { PgClusterHostStats, PgClusterStats } from './cluster-stats.js'
export type { ClusterHostRole } from './cluster-member.js'
export { isWalPosition, type WalPosition } from './wal-position.js'
export { PgClusterClosedError } from './errors.js'
export {
  PG_TRACING_NAMES,
  type PgQueryContext,
  type PgTransactionContext,
  pgTracing,
} from './pg-tracing.js'
export { sqlOperation } from './statement-kind.js'
