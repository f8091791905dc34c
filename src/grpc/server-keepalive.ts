/**
 * Keepalive and connection-lifetime settings of a grpc-js server, as typed fields in milliseconds
 * rendered to the `grpc.*` option keys, so that no option key is a string in application code.
 *
 * What grpc-js 1.14.7 does with each key (read from its `server.js` and `transport.js`):
 * - honoured by the server: `grpc.keepalive_time_ms`, `grpc.keepalive_timeout_ms`,
 *   `grpc.max_connection_idle_ms`, `grpc.max_connection_age_ms` (with ±10% jitter),
 *   `grpc.max_connection_age_grace_ms`, `grpc.max_concurrent_streams`;
 * - not read by the server: `grpc.http2.min_ping_interval_without_data_ms` and
 *   `grpc.keepalive_permit_without_calls` (the latter only by clients). grpc-js servers do not
 *   police client pings at all: a client pinging too often is never sent GOAWAY/ENHANCE_YOUR_CALM.
 *   These are still rendered, with gRPC core's meaning, for when grpc-js enforces them; see
 *   {@link GRPC_JS_IGNORED_SERVER_OPTIONS}.
 */
import type * as grpc from '@grpc/grpc-js'
import { InvalidOptionError } from '../core/errors.js'

/** Options of {@link serverKeepaliveOptions}. Durations are ms; `Infinity` turns a limit off. */
export interface ServerKeepaliveOptions {
  /** The server pings a connection after this long without activity. `Infinity`: never. Default 30000. */
  timeMs?: number
  /** A ping not acknowledged within this long closes the connection. Default 10000. */
  timeoutMs?: number
  /**
   * Shortest interval the server tolerates between client pings when it sends no data; gRPC core
   * answers faster pings with GOAWAY/ENHANCE_YOUR_CALM ("too_many_pings"). 0: no limit.
   * Not enforced by grpc-js 1.14 (rendered for forward compatibility). Default 5000.
   */
  minClientPingIntervalMs?: number
  /**
   * Whether clients may ping on connections with no call in flight.
   * Not enforced by grpc-js 1.14 (rendered for forward compatibility). Default `true`.
   */
  permitWithoutCalls?: boolean
  /** A connection with no call for this long is closed with GOAWAY. Default `Infinity`. */
  maxConnectionIdleMs?: number
  /**
   * A connection older than this is sent GOAWAY, so clients reconnect and rebalance (grpc-js adds
   * ±10% jitter). At most 1952257860 (grpc-js's timer limit, less the jitter). Default `Infinity`.
   */
  maxConnectionAgeMs?: number
  /** After the max-age GOAWAY, calls get this long to finish before the connection is closed. Default `Infinity`. */
  maxConnectionAgeGraceMs?: number
  /** Most concurrent calls (HTTP/2 streams) per connection, sent in SETTINGS. Default `Infinity` (Node's limit). */
  maxConcurrentStreams?: number
}

/** The option keys this module renders. */
export const SERVER_KEEPALIVE_KEYS = {
  timeMs: 'grpc.keepalive_time_ms',
  timeoutMs: 'grpc.keepalive_timeout_ms',
  minClientPingIntervalMs: 'grpc.http2.min_ping_interval_without_data_ms',
  permitWithoutCalls: 'grpc.keepalive_permit_without_calls',
  maxConnectionIdleMs: 'grpc.max_connection_idle_ms',
  maxConnectionAgeMs: 'grpc.max_connection_age_ms',
  maxConnectionAgeGraceMs: 'grpc.max_connection_age_grace_ms',
  maxConcurrentStreams: 'grpc.max_concurrent_streams',
} as const satisfies Record<keyof ServerKeepaliveOptions, string>

/** Keys {@link serverKeepaliveOptions} renders that a grpc-js 1.14.7 server does not read. */
export const GRPC_JS_IGNORED_SERVER_OPTIONS: readonly string[] = Object.freeze([
  SERVER_KEEPALIVE_KEYS.minClientPingIntervalMs,
  SERVER_KEEPALIVE_KEYS.permitWithoutCalls,
])

/** The defaults of {@link serverKeepaliveOptions}. */
export const SERVER_KEEPALIVE_DEFAULTS: Readonly<Required<ServerKeepaliveOptions>> = Object.freeze({
  timeMs: 30_000,
  timeoutMs: 10_000,
  minClientPingIntervalMs: 5_000,
  permitWithoutCalls: true,
  maxConnectionIdleMs: Number.POSITIVE_INFINITY,
  maxConnectionAgeMs: Number.POSITIVE_INFINITY,
  maxConnectionAgeGraceMs: Number.POSITIVE_INFINITY,
  maxConcurrentStreams: Number.POSITIVE_INFINITY,
})

/** Longest delay Node's timers take; grpc-js also uses it to mean "unlimited". */
const MAX_TIMER_MS = 2 ** 31 - 1
/** grpc-js adds up to 10% to the max age: keep the sum inside a timer's range. */
const MAX_CONNECTION_AGE_MS = Math.floor(MAX_TIMER_MS / 1.1)
/** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS is a 32-bit unsigned value. */
const MAX_STREAMS = 2 ** 32 - 1

/**
 * Renders keepalive settings to grpc-js server options, to pass to `new grpc.Server(...)` (spread
 * them into your own options object to add more). A limit set to `Infinity` is left out, which is
 * grpc-js's "off". Throws `InvalidOptionError` naming the field for a value out of range: durations
 * must be integers (a limit at least 1 ms; `minClientPingIntervalMs` and `maxConnectionAgeGraceMs`
 * may be 0) no larger than a Node timer allows, 2147483647.
 */
export function serverKeepaliveOptions(options: ServerKeepaliveOptions = {}): grpc.ServerOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', options, 'an object of keepalive settings')
  }
  for (const key of Object.keys(options)) {
    if (!(key in SERVER_KEEPALIVE_KEYS)) {
      throw new InvalidOptionError(key, (options as Record<string, unknown>)[key], 'no such option')
    }
  }
  const o = { ...SERVER_KEEPALIVE_DEFAULTS, ...withoutUndefined(options) }
  const out: grpc.ServerOptions = {}
  const put = (field: keyof ServerKeepaliveOptions, value: number | undefined) => {
    if (value !== undefined) out[SERVER_KEEPALIVE_KEYS[field]] = value
  }
  put('timeMs', duration('timeMs', o.timeMs, 1, MAX_TIMER_MS - 1, true))
  put('timeoutMs', duration('timeoutMs', o.timeoutMs, 1, MAX_TIMER_MS, false))
  put(
    'minClientPingIntervalMs',
    duration('minClientPingIntervalMs', o.minClientPingIntervalMs, 0, MAX_TIMER_MS, false),
  )
  if (typeof o.permitWithoutCalls !== 'boolean') {
    throw new InvalidOptionError('permitWithoutCalls', o.permitWithoutCalls, 'a boolean')
  }
  put('permitWithoutCalls', o.permitWithoutCalls ? 1 : 0)
  put(
    'maxConnectionIdleMs',
    duration('maxConnectionIdleMs', o.maxConnectionIdleMs, 1, MAX_TIMER_MS - 1, true),
  )
  put(
    'maxConnectionAgeMs',
    duration('maxConnectionAgeMs', o.maxConnectionAgeMs, 1, MAX_CONNECTION_AGE_MS, true),
  )
  put(
    'maxConnectionAgeGraceMs',
    duration('maxConnectionAgeGraceMs', o.maxConnectionAgeGraceMs, 0, MAX_TIMER_MS - 1, true),
  )
  put('maxConcurrentStreams', duration('maxConcurrentStreams', o.maxConcurrentStreams, 1, MAX_STREAMS, true))
  return out
}

/** An integer in [min, max], or `undefined` for `Infinity` where that means "off". */
function duration(
  field: string,
  value: unknown,
  min: number,
  max: number,
  infinityIsOff: boolean,
): number | undefined {
  if (infinityIsOff && value === Number.POSITIVE_INFINITY) return undefined
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value
  const off = infinityIsOff ? ', or Infinity for no limit' : ''
  throw new InvalidOptionError(field, value, `an integer from ${min} to ${max}${off}`)
}

function withoutUndefined(options: ServerKeepaliveOptions): ServerKeepaliveOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
}
