/**
 * berth/grpc: gRPC channel management on @grpc/grpc-js — channel pools (least-busy channel per
 * call, `'auto'` sizing by the server's stream limit), a per-address registry, balancing with DNS
 * re-resolution, connect timeouts, connectivity and grpc.health.v1 health checking, interceptors,
 * graceful drain, a lifecycle manager, and server helpers. Needs @grpc/grpc-js (peer), and
 * grpc-health-check for health checking or the health service.
 *
 * What is exported here is the public API, each name listed in docs/grpc-configuration.md
 * ("Exports"). Everything else under src/grpc is internal: tests import it from its own file.
 */

// Channel pools: options, what they report, and the client classes they take.
export {
  type BackendSummary,
  type ChannelPoolCloseOptions,
  type ChannelPoolConnectivity,
  type ChannelPoolStats,
  type ChannelSummary,
  type ClientConstructor,
  ChannelPool,
  createChannelPool,
} from './channel-pool.js'
export type {
  ChannelPoolOptions,
  HealthCheckOptions,
  KeepaliveOptions,
  RetryableStatus,
  RetryOptions,
} from './channel-pool-options.js'
export type { ConnectivityName } from './pool-channel.js'
export type { BackendHealth } from './health-watch.js'

// Errors (a call that fails inside berth carries its berth error as in BerthStatusObject).
export type { BerthStatusObject } from './call-status.js'
export {
  ConnectTimeoutError,
  InvalidTargetError,
  NotReadyError,
  SecondSignalError,
  UnsupportedOperationError,
} from './errors.js'

// Shared pools, one per target and options.
export {
  ChannelRegistry,
  type ChannelRegistryOptions,
  type ChannelRegistryStats,
  RegistryClosedError,
  type RegistryEntryState,
  type RegistryEntryStats,
  RegistryHandle,
} from './channel-registry.js'

// The lifecycle manager. It lives in core ('berth'); these names stay here for older imports,
// and this ConnectionManager adds grpc().
export { ConnectionManager } from './connection-manager.js'
export {
  type CloseReport,
  type ConnectionManagerOptions,
  type HandleSignalsOptions,
  type ManagedResource,
  ManagerClosedError,
  type ManagerEvent,
  type ManagerHealth,
  ManagerNotReadyError,
  type PostgresPoolLike,
  type ResourceCloseReport,
  type ResourceHealth,
  type ResourceKind,
  type StartOptions,
} from './connection-manager-types.js'

// Client interceptors, for pools and plain grpc-js clients alike.
export { composeInterceptors, type InterceptorList } from './interceptors.js'
export {
  type CallKind,
  type CallLogEntry,
  type CallLogLevel,
  formatCallLogEntry,
  loggingInterceptor,
  type LoggingInterceptorOptions,
} from './interceptor-logging.js'
export {
  type CallCounts,
  CallMetrics,
  type CallMetricsSnapshot,
  type MethodCallMetrics,
  metricsInterceptor,
} from './interceptor-metrics.js'
export { deadlineInterceptor, type DeadlineInterceptorOptions } from './interceptor-deadline.js'
export {
  currentRequestMetadata,
  DEFAULT_PROPAGATED_KEYS,
  metadataPropagationInterceptor,
  type MetadataPropagationOptions,
  propagationScope,
  propagationServerInterceptor,
} from './interceptor-metadata.js'

// Servers: grpc.health.v1 (and a client to check it), keepalive settings, graceful shutdown.
export {
  checkHealth,
  type CheckHealthOptions,
  createHealthService,
  type HealthClient,
  healthClientConstructor,
  type HealthService,
  type ServingStatus,
} from './server-health.js'
export { type ServerKeepaliveOptions, serverKeepaliveOptions } from './server-keepalive.js'
export { type ShutdownResult, type ShutdownServerOptions, shutdownServer } from './server-shutdown.js'

// TLS.
export {
  InsecureChannelError,
  type Pem,
  type ServerTlsCredentialsOptions,
  serverNameOverride,
  serverTlsCredentials,
  type TlsCredentialsOptions,
  tlsCredentials,
} from './tls.js'
export {
  GRPC_TRACING_NAMES,
  type GrpcCallContext,
  type GrpcPickContext,
  grpcTracing,
} from './grpc-tracing.js'
