/**
 * berth/grpc: gRPC channel management on @grpc/grpc-js — channel pools (least-busy channel per
 * call, `'auto'` sizing by the server's stream limit), a per-address registry, balancing with DNS
 * re-resolution, connect timeouts, connectivity and grpc.health.v1 health checking, interceptors,
 * graceful drain, a lifecycle manager, and server helpers. Needs @grpc/grpc-js (peer), and
 * grpc-health-check for health checking or the health service.
 */
export {
  type BackendSummary,
  type ChannelPoolCloseOptions,
  type ChannelPoolConnectivity,
  type ChannelPoolState,
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
export { renderChannelConfig, type RenderedChannelConfig, type ServiceConfigJson } from './channel-config.js'
export type { BerthStatusObject } from './call-status.js'
export type { BalancedChannel } from './balanced-channel.js'
export type { ConnectivityName } from './pool-channel.js'
export type { BackendHealth } from './health-watch.js'
export {
  ConnectTimeoutError,
  InvalidTargetError,
  NotReadyError,
  SecondSignalError,
  UnsupportedOperationError,
} from './errors.js'
export {
  ChannelRegistry,
  type ChannelRegistryOptions,
  type ChannelRegistryStats,
  RegistryClosedError,
  type RegistryEntryState,
  type RegistryEntryStats,
  RegistryHandle,
} from './channel-registry.js'
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
export {
  checkHealth,
  type CheckHealthOptions,
  createHealthService,
  DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthClient,
  type HealthClientConstructor,
  healthClientConstructor,
  type HealthService,
  type ServingStatus,
  type WatchStatus,
} from './server-health.js'
export {
  GRPC_JS_IGNORED_SERVER_OPTIONS,
  SERVER_KEEPALIVE_DEFAULTS,
  SERVER_KEEPALIVE_KEYS,
  type ServerKeepaliveOptions,
  serverKeepaliveOptions,
} from './server-keepalive.js'
export {
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  type ShutdownResult,
  type ShutdownServerOptions,
  shutdownServer,
} from './server-shutdown.js'
export {
  checkTransportSecurity,
  InsecureChannelError,
  isLoopbackHost,
  type Pem,
  type ServerTlsCredentialsOptions,
  serverNameOverride,
  serverTlsCredentials,
  type TlsCredentialsOptions,
  tlsCredentials,
  type TransportSecurityOptions,
} from './tls.js'
