/**
 * berth core: the generic async pool engine, the lifecycle every owner shares, and the
 * ConnectionManager. It imports neither pg nor grpc-js; the adapters (`berth/pg`, `berth/grpc`)
 * are built on it.
 */
export { fullJitterBackoff } from './backoff.js'
export { ConnectionManager } from './connection-manager.js'
export * from './connection-manager-types.js'
export { channels as diagnosticsChannels, type PoolChannelName } from './diagnostics.js'
export {
  AcquireAbortedError,
  AcquireTimeoutError,
  BERTH_ERROR_CODES,
  BERTH_WARNING_CODES,
  BerthError,
  type BerthErrorCode,
  type BerthWarningCode,
  CloseTimeoutError,
  CreateFailedError,
  CreateTimeoutError,
  DestroyTimeoutError,
  InternalError,
  InvalidOptionError,
  type InvalidOptionErrorOptions,
  type OptionErrorFacts,
  LeaseReleasedError,
  PoolClosedError,
  PoolDestroyedError,
  PoolError,
  type PoolErrorContext,
  QueueFullError,
} from './errors.js'
export type { LatencySummary } from './latency-histogram.js'
export { LatencyHistogram } from './latency-histogram.js'
export { Lease } from './lease.js'
export {
  type CloseOptions,
  type Closeable,
  checkCloseOptions,
  DEFAULT_CLOSE_TIMEOUT_MS,
  Lifecycle,
  type LifecycleState,
} from './lifecycle.js'
export { PoolOwner } from './pool-owner.js'
export type { ManagedOwner, OwnerHealth, OwnerStats } from './owner.js'
export type { AcquireOptions } from './acquire-options.js'
export type { LeakReport } from './leak-detector.js'
export { Pool, type PoolEvents } from './pool.js'
export type { DestroyReason } from './pool-entry.js'
export type { PoolOptions, ValidateResult } from './pool-options.js'
export type { PoolCounters, PoolState, PoolStats } from './pool-stats.js'
export {
  type BerthTracingChannel,
  POOL_TRACING_NAMES,
  type PoolAcquireContext,
  type PoolCreateContext,
  poolTracing,
} from './tracing.js'
