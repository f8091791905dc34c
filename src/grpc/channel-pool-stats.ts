/**
 * What a channel pool reports: `connectivity()` for health endpoints, `stats()` for metrics, and
 * the one pass over its channels that both are read from.
 */
import type { LatencySummary } from '../core/latency-histogram.js'
import type { LifecycleState } from '../core/lifecycle.js'
import type { PoolStats } from '../core/pool-stats.js'
import type { ChannelPoolAddresses } from './channel-pool-addresses.js'
import type { BackendHealth } from './health-watch.js'
import type { CallMetricsSnapshot } from './interceptor-metrics.js'
import type { ConnectivityName, PoolChannel } from './pool-channel.js'

/** One channel in `connectivity()`. */
export interface ChannelSummary {
  /** Distinct per channel the pool made, from 1. */
  readonly id: number
  /** Its connectivity state now. */
  readonly state: ConnectivityName
  /** Calls running on it now. */
  readonly callsInFlight: number
  /** Times it went back to CONNECTING after it had been READY. */
  readonly reconnects: number
  /** Time since it was made, in ms. */
  readonly ageMs: number
}

/** One backend address in `connectivity()`. */
export interface BackendSummary {
  /** `host:port`. */
  readonly address: string
  /** From the health check (`'UNKNOWN'` without one). */
  readonly health: BackendHealth
  /** False while the health check keeps it out of rotation. */
  readonly inRotation: boolean
}

/** `ChannelPool.connectivity()`: named apart from the pool's lifecycle `state`. */
export interface ChannelPoolConnectivity {
  /**
   * The best state of any channel: READY when at least one can take calls now; CONNECTING while an
   * open pool has no channel yet; SHUTDOWN once closed. (Not the lifecycle state: `pool.state`.)
   */
  readonly state: ConnectivityName
  /** `state === 'READY'`. */
  readonly ready: boolean
  /** Every channel open now. */
  readonly channels: readonly ChannelSummary[]
  /** Every backend address now, with its health (empty for an xds target). */
  readonly backends: readonly BackendSummary[]
  /** Why the pool has no address to call, when it has none. */
  readonly resolutionError: string | undefined
}

/**
 * `ChannelPool.stats()`: a frozen snapshot. Gauges are now; counters (`reconnects` to `dnsErrors`)
 * count since the pool was made, closed channels included; latencies are in `calls` (ms).
 */
export interface ChannelPoolStats {
  /** The pool's name (`options.name`, default the target). */
  readonly name: string
  /** The lifecycle state: `'open'`, `'closing'`, `'destroying'` or `'closed'` (connectivity is `channelsByState`). */
  readonly state: LifecycleState
  /** The target as given (a list joined with commas). */
  readonly target: string
  /** `options.size`: a channel count or `'auto'`. */
  readonly size: number | 'auto'
  /** Channels open now. */
  readonly channels: number
  /** Channels open now, by connectivity state. */
  readonly channelsByState: Readonly<Record<ConnectivityName, number>>
  /** Calls running on the pool's channels now. */
  readonly callsInFlight: number
  /** Calls waiting now for a channel with room (pool starting, or every channel full). */
  readonly callsWaiting: number
  /** Streams a channel takes before `'auto'` adds one (undefined until known, or for fixed sizes). */
  readonly streamsPerChannel: number | undefined
  /** Times a channel went back to CONNECTING after it had been READY. */
  readonly reconnects: number
  /** Times a channel entered TRANSIENT_FAILURE. */
  readonly transientFailures: number
  /** Times an IDLE channel was asked to connect again at once. */
  readonly idleKicks: number
  /** Connection attempts cut by `connectTimeoutMs`. */
  readonly connectTimeouts: number
  /** Every backend address now, `host:port` (empty for an xds target). */
  readonly addresses: readonly string[]
  /** Addresses out of rotation now because their health check says NOT_SERVING. */
  readonly unhealthy: readonly string[]
  /** DNS lookups berth made for a name target (0 for a fixed list, and after `setAddresses`). */
  readonly dnsLookups: number
  /** Of those, the lookups that failed. */
  readonly dnsErrors: number
  /**
   * Time a call waited for a channel with room, ms (the core pool's acquire wait; ~0 when one had
   * room at once). The same shape as every owner's latencies.
   */
  readonly acquireWaitMs: LatencySummary
  /**
   * Durations of finished calls over all methods, ms (per method: `calls.methods`); all zero with
   * `count: 0` when `metrics` is off.
   */
  readonly callMs: LatencySummary
  /** The core pool's snapshot (channels as resources, calls as shared leases). */
  readonly pool: PoolStats
  /** Per-method call metrics, latency in ms (undefined when `metrics` is off). */
  readonly calls: CallMetricsSnapshot | undefined
}

/** The close options every owner takes (`timeoutMs`, `signal`). */
export type { CloseOptions as ChannelPoolCloseOptions } from '../core/lifecycle.js'

/** Channel counters of channels the pool has closed, kept so that totals never go down. */
export interface RetiredChannels {
  reconnects: number
  failures: number
  kicks: number
}

/** The pool's channels, tallied in one pass. */
export interface ChannelTally extends RetiredChannels {
  readonly byState: Readonly<Record<ConnectivityName, number>>
  readonly inFlight: number
}

export function tallyChannels(channels: Iterable<PoolChannel>, retired: RetiredChannels): ChannelTally {
  const byState: Record<ConnectivityName, number> = {
    IDLE: 0,
    CONNECTING: 0,
    READY: 0,
    TRANSIENT_FAILURE: 0,
    SHUTDOWN: 0,
  }
  let { reconnects, failures, kicks } = retired
  let inFlight = 0
  for (const c of channels) {
    byState[c.state]++
    reconnects += c.reconnects
    failures += c.failures
    kicks += c.kicks
    inFlight += c.inFlight
  }
  return { byState: Object.freeze(byState), reconnects, failures, kicks, inFlight }
}

/**
 * The pool's connectivity: the best state of any channel (CONNECTING while an open pool has no
 * channel yet, since one is being made), channel by channel, and backend by backend.
 */
export function connectivityOf(
  channels: Iterable<PoolChannel>,
  open: boolean,
  addresses: ChannelPoolAddresses | undefined,
): ChannelPoolConnectivity {
  const now = Date.now()
  let best: ConnectivityName = 'SHUTDOWN'
  const summaries: ChannelSummary[] = []
  for (const c of channels) {
    if (rank(c.state) < rank(best)) best = c.state
    summaries.push(
      Object.freeze({
        id: c.id,
        state: c.state,
        callsInFlight: c.inFlight,
        reconnects: c.reconnects,
        ageMs: now - c.createdAt,
      }),
    )
  }
  if (best === 'SHUTDOWN' && open) best = 'CONNECTING'
  const health = addresses?.health() ?? {}
  const unhealthy = new Set(addresses?.book.unhealthy ?? [])
  const backends = (addresses?.book.addresses ?? []).map((address) =>
    Object.freeze({ address, health: health[address] ?? 'UNKNOWN', inRotation: !unhealthy.has(address) }),
  )
  return Object.freeze({
    state: best,
    ready: best === 'READY',
    channels: Object.freeze(summaries),
    backends: Object.freeze(backends),
    resolutionError: addresses?.book.error,
  })
}

/** Best first: the state a caller would see from the pool as a whole. */
function rank(s: ConnectivityName): number {
  return s === 'READY' ? 0 : s === 'CONNECTING' ? 1 : s === 'IDLE' ? 2 : s === 'TRANSIENT_FAILURE' ? 3 : 4
}
