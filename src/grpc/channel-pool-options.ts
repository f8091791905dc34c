/**
 * Options of a channel pool, their defaults and their validation. Durations are milliseconds.
 * The defaults are the seed's production settings: keepalive 30 s / 10 s with pings allowed
 * without calls, three attempts on UNAVAILABLE with 0.1 s .. 1 s backoff, round_robin over several
 * backends. They become grpc-js channel options and a service config in channel-config.ts.
 */
import type { ChannelCredentials, ChannelOptions, Interceptor } from '@grpc/grpc-js'
import { InvalidOptionError } from '../core/errors.js'
import type { LoggingInterceptorOptions } from './interceptor-logging.js'
import type { MetadataPropagationOptions } from './interceptor-metadata.js'

/** gRPC status names a retry policy may retry on. */
export type RetryableStatus =
  | 'UNAVAILABLE'
  | 'RESOURCE_EXHAUSTED'
  | 'ABORTED'
  | 'INTERNAL'
  | 'UNKNOWN'
  | 'DEADLINE_EXCEEDED'
  | 'CANCELLED'

/** `ChannelPoolOptions.keepalive`: client keepalive pings, durations in ms. */
export interface KeepaliveOptions {
  /** Ping after this long without activity. Default 30000. */
  timeMs?: number
  /** Close the connection when a ping is unanswered this long. Default 10000. */
  timeoutMs?: number
  /** Ping even when no call is open, so an idle dead connection is noticed. Default true. */
  permitWithoutCalls?: boolean
}

/** `ChannelPoolOptions.retry`: the service config retry policy, durations in ms. */
export interface RetryOptions {
  /** Attempts in all, the first included (grpc-js caps this at 5). Default 3. */
  maxAttempts?: number
  /** Delay before the first retry, in ms (grpc-js jitters it). Default 100. */
  initialBackoffMs?: number
  /** Longest delay between attempts, in ms. Default 1000. */
  maxBackoffMs?: number
  /** Growth of the delay from one retry to the next. Default 2. */
  backoffMultiplier?: number
  /** Statuses that are retried. Default `['UNAVAILABLE']`. */
  retryableStatusCodes?: RetryableStatus[]
}

/** `ChannelPoolOptions.healthCheck`: a grpc.health.v1 Watch per backend address. */
export interface HealthCheckOptions {
  /** Service name asked of grpc.health.v1 (`''` means the whole server). Default `''`. */
  service?: string
  /** Delay before a Watch that broke is opened again (doubles up to 10 s). Default 1000. */
  retryMs?: number
}

/**
 * Options of `createChannelPool`; every one has a default (docs/grpc-configuration.md lists them).
 * Durations are ms, sizes bytes; a bad value throws `InvalidOptionError` naming the field.
 */
export interface ChannelPoolOptions {
  /** Name in errors, stats and metrics. Default: the target. */
  name?: string
  /**
   * Channels (each with its own connections). A number, or `'auto'`: start with `minChannels` and
   * add a channel whenever calls in flight on every channel reach the server's advertised
   * MAX_CONCURRENT_STREAMS (or `maxStreamsPerChannel`), remove it after `channelIdleMs` unused.
   * Default `'auto'`.
   */
  size?: number | 'auto'
  /** Fewest channels in `'auto'` mode. Default 1. */
  minChannels?: number
  /** Most channels in `'auto'` mode. Default 8. */
  maxChannels?: number
  /**
   * Streams one connection takes before `'auto'` adds a channel: caps the server's advertised
   * MAX_CONCURRENT_STREAMS. Default 100 (also used when the server advertises no limit).
   */
  maxStreamsPerChannel?: number
  /** An `'auto'` channel above `minChannels` unused this long is closed. Default 60000. */
  channelIdleMs?: number
  /** grpc-js credentials. Default: insecure, which berth allows only to loopback addresses. */
  credentials?: ChannelCredentials
  /** Allow plaintext to non-loopback addresses (berth warns once). Default false. */
  allowInsecure?: boolean
  /** How calls spread over a target's addresses. Default `'round_robin'`. */
  loadBalancing?: 'round_robin' | 'pick_first'
  /** Resolve DNS names again this often so new backends get traffic. Default 30000; 0 turns it off. */
  reresolveEveryMs?: number
  /** Keepalive pings; `false` turns them off. */
  keepalive?: KeepaliveOptions | false
  /** The service config retry policy; `false` turns retries off. */
  retry?: RetryOptions | false
  /** Largest message received, in bytes. Default 4 MiB (grpc-js' default). */
  maxReceiveMessageBytes?: number
  /** Largest message sent, in bytes. Default: unlimited. */
  maxSendMessageBytes?: number
  /** Deadline per method or service: `{ 'billing.Billing/Transfer': 2000, 'billing.Billing': 500 }`. */
  methodTimeouts?: Record<string, number>
  /** An HTTP/2 connection attempt that has not completed this long fails (then backs off). Default 5000. */
  connectTimeoutMs?: number
  /** grpc-js reconnect backoff. Defaults 1000 and 30000. */
  reconnectBackoff?: { initialMs?: number; maxMs?: number }
  /** Client-side health checking (grpc.health.v1 Watch per backend); `true` for the defaults. Default off. */
  healthCheck?: HealthCheckOptions | boolean
  /** Per-method metrics (latency histogram, calls in flight, status counts) in `stats().calls`. Default true. */
  metrics?: boolean
  /** Log calls (`true`: failed and slow ones to the console; or logging options). Default false. */
  logging?: boolean | LoggingInterceptorOptions
  /** Deadline for calls that set none, in ms (per method: `methodTimeouts`). Default: none. */
  defaultDeadlineMs?: number
  /** Carry request metadata (x-request-id, traceparent, ...) from the server call in scope. Default false. */
  propagate?: boolean | MetadataPropagationOptions
  /** Interceptors added to every client of the pool, after berth's own. */
  interceptors?: Interceptor[]
  /** Raw grpc-js channel options, applied last. Keys grpc-js does not know are reported. */
  channelOptions?: ChannelOptions
  /** Where warnings about options go (ignored keys, conflicts). Default: `process.emitWarning`. */
  onWarning?: (message: string) => void
}

export interface ResolvedChannelPoolOptions {
  readonly size: number | 'auto'
  readonly minChannels: number
  readonly maxChannels: number
  readonly maxStreamsPerChannel: number
  readonly channelIdleMs: number
  readonly allowInsecure: boolean
  readonly loadBalancing: 'round_robin' | 'pick_first'
  readonly reresolveEveryMs: number
  readonly keepalive: Required<KeepaliveOptions> | false
  readonly retry: Required<RetryOptions> | false
  readonly maxReceiveMessageBytes: number
  readonly maxSendMessageBytes: number
  readonly methodTimeouts: Readonly<Record<string, number>>
  readonly connectTimeoutMs: number
  readonly reconnectBackoff: { readonly initialMs: number; readonly maxMs: number }
  readonly healthCheck: Required<HealthCheckOptions> | false
  readonly metrics: boolean
  readonly logging: LoggingInterceptorOptions | false
  readonly defaultDeadlineMs: number | undefined
  readonly propagate: MetadataPropagationOptions | false
  readonly interceptors: readonly Interceptor[]
  readonly channelOptions: ChannelOptions
  readonly onWarning: (message: string) => void
}

const KNOWN = new Set([
  'name',
  'size',
  'minChannels',
  'maxChannels',
  'maxStreamsPerChannel',
  'channelIdleMs',
  'credentials',
  'allowInsecure',
  'loadBalancing',
  'reresolveEveryMs',
  'keepalive',
  'retry',
  'maxReceiveMessageBytes',
  'maxSendMessageBytes',
  'methodTimeouts',
  'connectTimeoutMs',
  'reconnectBackoff',
  'healthCheck',
  'metrics',
  'logging',
  'defaultDeadlineMs',
  'propagate',
  'interceptors',
  'channelOptions',
  'onWarning',
])

const RETRYABLE = new Set<string>([
  'UNAVAILABLE',
  'RESOURCE_EXHAUSTED',
  'ABORTED',
  'INTERNAL',
  'UNKNOWN',
  'DEADLINE_EXCEEDED',
  'CANCELLED',
])

const MAX_INT32 = 2 ** 31 - 1

function defaultWarning(message: string): void {
  process.emitWarning(message, { code: 'BERTH_GRPC_OPTION' })
}

/** @throws InvalidOptionError naming the field and value at fault */
export function resolveChannelPoolOptions(options: ChannelPoolOptions = {}): ResolvedChannelPoolOptions {
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionError('options', options, 'an object')
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key))
      throw new InvalidOptionError(key, (options as Record<string, unknown>)[key], 'a known option')
  }
  const o = options
  let size: number | 'auto' = 'auto'
  if (o.size !== undefined && o.size !== 'auto') size = int('size', o.size, 1, 1, 1024)
  const minChannels = int('minChannels', o.minChannels, 1, 1, 1024)
  const maxChannels = int('maxChannels', o.maxChannels, Math.max(8, minChannels), 1, 1024)
  if (maxChannels < minChannels) {
    throw new InvalidOptionError('maxChannels', maxChannels, `at least minChannels (${minChannels})`)
  }
  if (
    o.loadBalancing !== undefined &&
    o.loadBalancing !== 'round_robin' &&
    o.loadBalancing !== 'pick_first'
  ) {
    throw new InvalidOptionError('loadBalancing', o.loadBalancing, "'round_robin' or 'pick_first'")
  }
  let keepalive: Required<KeepaliveOptions> | false = false
  if (o.keepalive !== false) {
    const k = obj('keepalive', o.keepalive)
    keepalive = {
      timeMs: int('keepalive.timeMs', k.timeMs, 30_000, 1, MAX_INT32),
      timeoutMs: int('keepalive.timeoutMs', k.timeoutMs, 10_000, 1, MAX_INT32),
      permitWithoutCalls: bool('keepalive.permitWithoutCalls', k.permitWithoutCalls, true),
    }
  }
  let retry: Required<RetryOptions> | false = false
  if (o.retry !== false) {
    const r = obj('retry', o.retry)
    const codes = r.retryableStatusCodes ?? ['UNAVAILABLE']
    if (!Array.isArray(codes) || codes.length === 0 || codes.some((c) => !RETRYABLE.has(c))) {
      throw new InvalidOptionError(
        'retry.retryableStatusCodes',
        codes,
        `a non-empty list of ${[...RETRYABLE].join(', ')}`,
      )
    }
    retry = {
      maxAttempts: int('retry.maxAttempts', r.maxAttempts, 3, 2, 100),
      initialBackoffMs: int('retry.initialBackoffMs', r.initialBackoffMs, 100, 1, MAX_INT32),
      maxBackoffMs: int('retry.maxBackoffMs', r.maxBackoffMs, 1_000, 1, MAX_INT32),
      backoffMultiplier: num('retry.backoffMultiplier', r.backoffMultiplier, 2, Number.MIN_VALUE),
      retryableStatusCodes: [...codes],
    }
    if (retry.maxBackoffMs < retry.initialBackoffMs) {
      throw new InvalidOptionError(
        'retry.maxBackoffMs',
        retry.maxBackoffMs,
        'at least retry.initialBackoffMs',
      )
    }
  }
  const methodTimeouts: Record<string, number> = {}
  for (const [name, ms] of Object.entries(obj('methodTimeouts', o.methodTimeouts))) {
    if (!/^[\w.]+(\/\w+)?$/.test(name)) {
      throw new InvalidOptionError(
        `methodTimeouts[${JSON.stringify(name)}]`,
        name,
        "'package.Service' or 'package.Service/Method'",
      )
    }
    methodTimeouts[name] = int(`methodTimeouts[${JSON.stringify(name)}]`, ms, 0, 1, MAX_INT32)
  }
  const backoff = obj('reconnectBackoff', o.reconnectBackoff)
  const reconnectBackoff = {
    initialMs: int('reconnectBackoff.initialMs', backoff.initialMs, 1_000, 1, MAX_INT32),
    maxMs: int('reconnectBackoff.maxMs', backoff.maxMs, 30_000, 1, MAX_INT32),
  }
  if (reconnectBackoff.maxMs < reconnectBackoff.initialMs) {
    throw new InvalidOptionError(
      'reconnectBackoff.maxMs',
      reconnectBackoff.maxMs,
      'at least reconnectBackoff.initialMs',
    )
  }
  let healthCheck: Required<HealthCheckOptions> | false = false
  if (o.healthCheck !== undefined && o.healthCheck !== false) {
    const h = o.healthCheck === true ? {} : obj('healthCheck', o.healthCheck)
    if (h.service !== undefined && typeof h.service !== 'string') {
      throw new InvalidOptionError('healthCheck.service', h.service, 'a string')
    }
    healthCheck = {
      service: h.service ?? '',
      retryMs: int('healthCheck.retryMs', h.retryMs, 1_000, 1, MAX_INT32),
    }
  }
  if (
    o.interceptors !== undefined &&
    (!Array.isArray(o.interceptors) || o.interceptors.some((i) => typeof i !== 'function'))
  ) {
    throw new InvalidOptionError('interceptors', o.interceptors, 'an array of grpc-js interceptor functions')
  }
  if (o.onWarning !== undefined && typeof o.onWarning !== 'function') {
    throw new InvalidOptionError('onWarning', o.onWarning, 'a function')
  }
  return {
    size,
    minChannels,
    maxChannels,
    maxStreamsPerChannel: int('maxStreamsPerChannel', o.maxStreamsPerChannel, 100, 1, MAX_INT32),
    channelIdleMs: int('channelIdleMs', o.channelIdleMs, 60_000, 1, MAX_INT32),
    allowInsecure: bool('allowInsecure', o.allowInsecure, false),
    loadBalancing: o.loadBalancing ?? 'round_robin',
    reresolveEveryMs: int('reresolveEveryMs', o.reresolveEveryMs, 30_000, 0, MAX_INT32),
    keepalive,
    retry,
    maxReceiveMessageBytes: int(
      'maxReceiveMessageBytes',
      o.maxReceiveMessageBytes,
      4 * 1024 * 1024,
      1,
      MAX_INT32,
    ),
    maxSendMessageBytes: int('maxSendMessageBytes', o.maxSendMessageBytes, MAX_INT32, 1, MAX_INT32),
    methodTimeouts,
    connectTimeoutMs: int('connectTimeoutMs', o.connectTimeoutMs, 5_000, 1, MAX_INT32),
    reconnectBackoff,
    healthCheck,
    metrics: bool('metrics', o.metrics, true),
    logging:
      o.logging === undefined || o.logging === false
        ? false
        : o.logging === true
          ? {}
          : obj('logging', o.logging),
    defaultDeadlineMs:
      o.defaultDeadlineMs === undefined
        ? undefined
        : int('defaultDeadlineMs', o.defaultDeadlineMs, 0, 1, MAX_INT32),
    propagate:
      o.propagate === undefined || o.propagate === false
        ? false
        : o.propagate === true
          ? {}
          : obj('propagate', o.propagate),
    interceptors: [...(o.interceptors ?? [])],
    channelOptions: { ...obj('channelOptions', o.channelOptions) },
    onWarning: o.onWarning ?? defaultWarning,
  }
}

function int(field: string, value: unknown, fallback: number, least: number, most: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < least || value > most) {
    throw new InvalidOptionError(field, value, `an integer from ${least} to ${most}`)
  }
  return value
}

function num(field: string, value: unknown, fallback: number, least: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < least) {
    throw new InvalidOptionError(field, value, `a finite number of at least ${least}`)
  }
  return value
}

function bool(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new InvalidOptionError(field, value, 'a boolean')
  return value
}

// biome-ignore lint/suspicious/noExplicitAny: returns the caller's own object type
function obj<V extends Record<string, any>>(field: string, value: V | undefined): Partial<V> {
  if (value === undefined) return {}
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(field, value, 'an object')
  }
  return value
}
