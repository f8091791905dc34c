/**
 * Renders resolved pool options into what grpc-js reads: channel options and a service config
 * (load balancing, retry policy, per-method timeouts). User code never writes these keys. Options
 * grpc-js would silently ignore are reported through `onWarning`, once per pool.
 */
import type { ChannelOptions } from '@grpc/grpc-js'
import { InvalidOptionError } from '../core/errors.js'
import type { ResolvedChannelPoolOptions } from './channel-pool-options.js'

/** Client channel option keys grpc-js 1.14 reads (from its source; anything else it ignores). */
const CLIENT_KEYS = new Set([
  'grpc.ssl_target_name_override',
  'grpc.primary_user_agent',
  'grpc.secondary_user_agent',
  'grpc.default_authority',
  'grpc.keepalive_time_ms',
  'grpc.keepalive_timeout_ms',
  'grpc.keepalive_permit_without_calls',
  'grpc.service_config',
  'grpc.service_config_disable_resolution',
  'grpc.initial_reconnect_backoff_ms',
  'grpc.max_reconnect_backoff_ms',
  'grpc.use_local_subchannel_pool',
  'grpc.max_send_message_length',
  'grpc.max_receive_message_length',
  'grpc.enable_http_proxy',
  'grpc.http_connect_target',
  'grpc.http_connect_creds',
  'grpc.enable_channelz',
  'grpc.dns_min_time_between_resolutions_ms',
  'grpc.enable_retries',
  'grpc.per_rpc_retry_buffer_size',
  'grpc.retry_buffer_size',
  'grpc.client_idle_timeout_ms',
  'grpc.default_compression_algorithm',
  'grpc.lb.ring_hash.ring_size_cap',
  'grpc-node.max_session_memory',
  'grpc-node.tls_enable_trace',
  'grpc-node.retry_max_attempts_limit',
  'grpc-node.flow_control_window',
])

/** Server-side keys people put on clients by mistake. */
const SERVER_KEYS = new Set([
  'grpc.max_concurrent_streams',
  'grpc.max_connection_age_ms',
  'grpc.max_connection_age_grace_ms',
  'grpc.max_connection_idle_ms',
  'grpc.http2.min_ping_interval_without_data_ms',
  'grpc.http2.min_time_between_pings_ms',
  'grpc.http2.max_pings_without_data',
  'grpc.server_call_metric_recording',
])

/** Keys berth sets itself; a raw value for them replaces berth's with a warning. */
const OWNED_KEYS = new Set([
  'grpc.service_config',
  'grpc.use_local_subchannel_pool',
  'grpc.keepalive_time_ms',
  'grpc.keepalive_timeout_ms',
  'grpc.keepalive_permit_without_calls',
  'grpc.max_receive_message_length',
  'grpc.max_send_message_length',
  'grpc.initial_reconnect_backoff_ms',
  'grpc.max_reconnect_backoff_ms',
  'grpc.enable_retries',
])

/** grpc-js never makes more attempts than this unless `grpc-node.retry_max_attempts_limit` says so. */
const GRPC_JS_MAX_ATTEMPTS = 5

/** A service config in its JSON form (durations as `'1.5s'` strings), as `grpc.service_config` takes it. */
export interface ServiceConfigJson {
  loadBalancingConfig: Record<string, object>[]
  methodConfig: {
    name: { service?: string; method?: string }[]
    timeout?: string
    retryPolicy?: {
      maxAttempts: number
      initialBackoff: string
      maxBackoff: string
      backoffMultiplier: number
      retryableStatusCodes: string[]
    }
  }[]
}

export interface RenderedChannelConfig {
  readonly channelOptions: ChannelOptions
  readonly serviceConfig: ServiceConfigJson
  readonly warnings: readonly string[]
}

function seconds(ms: number): string {
  return `${ms / 1000}s`
}

/** The service config for the options: one default method config plus one per timed method/service. */
export function renderServiceConfig(o: ResolvedChannelPoolOptions): ServiceConfigJson {
  const retryPolicy = o.retry
    ? {
        maxAttempts: o.retry.maxAttempts,
        initialBackoff: seconds(o.retry.initialBackoffMs),
        maxBackoff: seconds(o.retry.maxBackoffMs),
        backoffMultiplier: o.retry.backoffMultiplier,
        retryableStatusCodes: [...o.retry.retryableStatusCodes],
      }
    : undefined
  const methodConfig: ServiceConfigJson['methodConfig'] = [
    { name: [{}], ...(retryPolicy ? { retryPolicy } : {}) },
  ]
  for (const [key, ms] of Object.entries(o.methodTimeouts)) {
    const [service, method] = key.split('/')
    methodConfig.push({
      name: [method ? { service: service!, method } : { service: service! }],
      timeout: seconds(ms),
      ...(retryPolicy ? { retryPolicy } : {}),
    })
  }
  // round_robin over one address is pick_first; over several (or after setAddresses) it spreads.
  return { loadBalancingConfig: [{ [o.loadBalancing]: {} }], methodConfig }
}

/** Channel options and service config for one pool, plus the warnings to report. */
export function renderChannelConfig(o: ResolvedChannelPoolOptions): RenderedChannelConfig {
  if (typeof o !== 'object' || o === null || typeof o.reconnectBackoff !== 'object') {
    throw new InvalidOptionError(
      'options',
      o,
      'resolved channel pool options (from resolveChannelPoolOptions)',
    )
  }
  const warnings: string[] = []
  const serviceConfig = renderServiceConfig(o)
  const channelOptions: ChannelOptions = {
    // Each channel gets its own connections; without this grpc-js shares one per target.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.service_config': JSON.stringify(serviceConfig),
    'grpc.max_receive_message_length': o.maxReceiveMessageBytes,
    'grpc.max_send_message_length': o.maxSendMessageBytes,
    'grpc.initial_reconnect_backoff_ms': o.reconnectBackoff.initialMs,
    'grpc.max_reconnect_backoff_ms': o.reconnectBackoff.maxMs,
    'grpc.enable_retries': o.retry ? 1 : 0,
  }
  if (o.keepalive) {
    channelOptions['grpc.keepalive_time_ms'] = o.keepalive.timeMs
    channelOptions['grpc.keepalive_timeout_ms'] = o.keepalive.timeoutMs
    channelOptions['grpc.keepalive_permit_without_calls'] = o.keepalive.permitWithoutCalls ? 1 : 0
    if (o.keepalive.timeMs < 10_000) {
      warnings.push(
        `keepalive.timeMs ${o.keepalive.timeMs} is below 10 s: servers with default enforcement (5 min, or 5 s with berth's server settings) answer pings this frequent with GOAWAY ENHANCE_YOUR_CALM`,
      )
    }
  }
  if (
    o.retry &&
    o.retry.maxAttempts > GRPC_JS_MAX_ATTEMPTS &&
    o.channelOptions['grpc-node.retry_max_attempts_limit'] === undefined
  ) {
    warnings.push(
      `retry.maxAttempts ${o.retry.maxAttempts} exceeds grpc-js' limit of ${GRPC_JS_MAX_ATTEMPTS}: grpc-js silently makes at most ${GRPC_JS_MAX_ATTEMPTS} attempts (raise 'grpc-node.retry_max_attempts_limit' in channelOptions to allow more)`,
    )
  }
  for (const [key, value] of Object.entries(o.channelOptions)) {
    if (SERVER_KEYS.has(key)) {
      warnings.push(`channelOptions['${key}'] is a server option: grpc-js ignores it on a client channel`)
    } else if (!CLIENT_KEYS.has(key)) {
      warnings.push(`channelOptions['${key}'] is not an option grpc-js knows: it is ignored`)
    } else if (OWNED_KEYS.has(key) && channelOptions[key] !== value) {
      warnings.push(`channelOptions['${key}'] overrides the value berth derives from its typed options`)
    }
    channelOptions[key] = value
  }
  if (o.channelOptions['grpc.use_local_subchannel_pool'] === 0) {
    warnings.push(
      "channelOptions['grpc.use_local_subchannel_pool'] = 0 makes the pool's channels share connections",
    )
  }
  return { channelOptions, serviceConfig, warnings }
}
