/**
 * Options of a channel pool, their defaults and their validation. Durations are milliseconds.
 * The defaults are the seed's production settings: keepalive 30 s / 10 s with pings allowed
 * without calls, three attempts on UNAVAILABLE with 0.1 s .. 1 s backoff, round_robin over several
 * backends. They become grpc-js channel options and a service config in channel-config.ts.
 */
import type { ChannelCredentials, ChannelOptions, Interceptor } from '@grpc/grpc-js'
import { InvalidOptionError } from '../core/errors.js'
import {
  INVALID,
  boolean,
  derived,
  either,
  func,
  integer,
  object,
  oneOf,
  option,
  optional,
  readOptions,
  rule,
  string,
} from '../core/option-table.js'
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

/** An integer from `least` to 2^31-1, the range of grpc-js's integer channel options. */
const int32 = (least: number) => integer(least, { most: MAX_INT32 })

/** An option that is `false` (off), `true` (the defaults) or an object of settings. */
const switchable = <V extends object>(what: string) =>
  either(boolean(), object<V>(`an object of ${what} options`))

/** `ChannelPoolOptions`, one row each. `name` and `credentials` are read by the pool itself. */
const CHANNEL_POOL_OPTIONS = {
  size: option(either(oneOf('auto'), integer(1, { most: 1024 })), 'auto' as number | 'auto'),
  minChannels: option(integer(1, { most: 1024 }), 1),
  maxChannels: derived(integer(1, { most: 1024 }), (o) => Math.max(8, o.minChannels as number)),
  maxStreamsPerChannel: option(int32(1), 100),
  channelIdleMs: option(int32(1), 60_000),
  allowInsecure: option(boolean(), false),
  loadBalancing: option(oneOf('round_robin', 'pick_first'), 'round_robin'),
  reresolveEveryMs: option(int32(0), 30_000),
  keepalive: option(either(oneOf(false), object<KeepaliveOptions>('an object of keepalive options')), {}),
  retry: option(either(oneOf(false), object<RetryOptions>('an object of retry options')), {}),
  maxReceiveMessageBytes: option(int32(1), 4 * 1024 * 1024),
  maxSendMessageBytes: option(int32(1), MAX_INT32),
  methodTimeouts: option(object<Record<string, number>>(), {}),
  connectTimeoutMs: option(int32(1), 5_000),
  reconnectBackoff: option(
    object<{ initialMs?: number; maxMs?: number }>('an object of backoff options'),
    {},
  ),
  healthCheck: option(switchable<HealthCheckOptions>('health check'), false),
  metrics: option(boolean(), true),
  logging: option(switchable<LoggingInterceptorOptions>('logging'), false),
  defaultDeadlineMs: optional(int32(1)),
  propagate: option(switchable<MetadataPropagationOptions>('propagation'), false),
  interceptors: option(
    rule('an array of grpc-js interceptor functions', (v) =>
      Array.isArray(v) && v.every((i) => typeof i === 'function') ? [...(v as Interceptor[])] : INVALID,
    ),
    [] as Interceptor[],
  ),
  channelOptions: option(object<ChannelOptions>(), {}),
  onWarning: option(func<(message: string) => void>(), defaultWarning),
} as const

const READ_BY_THE_POOL = new Set(['name', 'credentials'])

const KEEPALIVE_OPTIONS = {
  timeMs: option(int32(1), 30_000),
  timeoutMs: option(int32(1), 10_000),
  permitWithoutCalls: option(boolean(), true),
} as const

const RETRY_OPTIONS = {
  maxAttempts: option(integer(2, { most: 100 }), 3),
  initialBackoffMs: option(int32(1), 100),
  maxBackoffMs: option(int32(1), 1_000),
  backoffMultiplier: option(
    rule('a finite number > 0', (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : INVALID)),
    2,
  ),
  retryableStatusCodes: option(
    rule(`a non-empty list of ${[...RETRYABLE].join(', ')}`, (v) =>
      Array.isArray(v) && v.length > 0 && v.every((c) => RETRYABLE.has(c))
        ? [...(v as RetryableStatus[])]
        : INVALID,
    ),
    ['UNAVAILABLE'] as RetryableStatus[],
  ),
} as const

const BACKOFF_OPTIONS = {
  initialMs: option(int32(1), 1_000),
  maxMs: option(int32(1), 30_000),
} as const

const HEALTH_CHECK_OPTIONS = {
  service: option(string(), ''),
  retryMs: option(int32(1), 1_000),
} as const

/** What a `methodTimeouts` key looks like: `'package.Service'` or `'package.Service/Method'`. */
const METHOD_NAME = /^[\w.]+(\/\w+)?$/

/**
 * Reads `ChannelPoolOptions` from its tables (the pool's, then keepalive, retry, reconnectBackoff
 * and healthCheck with their paths), then checks what relates two options.
 * @throws InvalidOptionError naming the option and value at fault
 */
export function resolveChannelPoolOptions(options: ChannelPoolOptions = {}): ResolvedChannelPoolOptions {
  const o = readOptions(CHANNEL_POOL_OPTIONS, options, { of: 'ChannelPool', alsoKnown: READ_BY_THE_POOL })
  if (o.maxChannels < o.minChannels) {
    throw new InvalidOptionError('maxChannels', o.maxChannels, `at least minChannels (${o.minChannels})`)
  }
  const keepalive =
    o.keepalive === false
      ? false
      : readOptions(KEEPALIVE_OPTIONS, o.keepalive, { of: 'keepalive', path: 'keepalive' })
  const retry =
    o.retry === false ? false : readOptions(RETRY_OPTIONS, o.retry, { of: 'retry', path: 'retry' })
  if (retry !== false && retry.maxBackoffMs < retry.initialBackoffMs) {
    throw new InvalidOptionError('retry.maxBackoffMs', retry.maxBackoffMs, 'at least retry.initialBackoffMs')
  }
  const methodTimeouts: Record<string, number> = {}
  for (const [name, ms] of Object.entries(o.methodTimeouts)) {
    const path = `methodTimeouts[${JSON.stringify(name)}]`
    if (!METHOD_NAME.test(name)) {
      throw new InvalidOptionError(path, name, "'package.Service' or 'package.Service/Method'")
    }
    const timeout = int32(1).read(ms, path)
    if (timeout === INVALID) throw new InvalidOptionError(path, ms, int32(1).expected)
    methodTimeouts[name] = timeout
  }
  const reconnectBackoff = readOptions(BACKOFF_OPTIONS, o.reconnectBackoff, {
    of: 'reconnectBackoff',
    path: 'reconnectBackoff',
  })
  if (reconnectBackoff.maxMs < reconnectBackoff.initialMs) {
    throw new InvalidOptionError(
      'reconnectBackoff.maxMs',
      reconnectBackoff.maxMs,
      'at least reconnectBackoff.initialMs',
    )
  }
  const healthCheck =
    o.healthCheck === false
      ? false
      : readOptions(HEALTH_CHECK_OPTIONS, o.healthCheck === true ? {} : o.healthCheck, {
          of: 'healthCheck',
          path: 'healthCheck',
        })
  return {
    ...o,
    keepalive,
    retry,
    methodTimeouts,
    reconnectBackoff,
    healthCheck,
    logging: o.logging === false ? false : o.logging === true ? {} : o.logging,
    propagate: o.propagate === false ? false : o.propagate === true ? {} : o.propagate,
    channelOptions: { ...o.channelOptions },
  }
}
