/** What a channel pool reports: `state()` for health endpoints, `stats()` for metrics. */
import type { PoolStats } from '../core/pool-stats.js'
import type { BackendHealth } from './health-watch.js'
import type { CallMetricsSnapshot } from './interceptor-metrics.js'
import type { ConnectivityName } from './pool-channel.js'

/** One channel in `state()`. */
export interface ChannelSummary {
  readonly id: number
  readonly state: ConnectivityName
  readonly callsInFlight: number
  readonly reconnects: number
  readonly ageMs: number
}

/** One backend address in `state()`. */
export interface BackendSummary {
  readonly address: string
  /** From the health check (`'UNKNOWN'` without one). */
  readonly health: BackendHealth
  /** False while the health check keeps it out of rotation. */
  readonly inRotation: boolean
}

export interface ChannelPoolState {
  /** The best state of any channel: READY when at least one can take calls now. */
  readonly state: ConnectivityName
  readonly ready: boolean
  readonly channels: readonly ChannelSummary[]
  readonly backends: readonly BackendSummary[]
  /** Why the pool has no address to call, when it has none. */
  readonly resolutionError: string | undefined
}

export interface ChannelPoolStats {
  readonly name: string
  readonly target: string
  readonly size: number | 'auto'
  readonly poolState: PoolStats['state']
  readonly channels: number
  readonly channelsByState: Readonly<Record<ConnectivityName, number>>
  readonly callsInFlight: number
  /** Calls that waited for a channel with room (pool starting or every channel full). */
  readonly callsWaiting: number
  /** Streams a channel takes before `'auto'` adds one (undefined until known, or for fixed sizes). */
  readonly streamsPerChannel: number | undefined
  readonly reconnects: number
  readonly transientFailures: number
  readonly idleKicks: number
  readonly connectTimeouts: number
  readonly addresses: readonly string[]
  readonly unhealthy: readonly string[]
  readonly dnsLookups: number
  readonly dnsErrors: number
  /** The core pool's snapshot (channels as resources, calls as shared leases). */
  readonly pool: PoolStats
  /** Per-method call metrics (when `metrics` is on). */
  readonly calls: CallMetricsSnapshot | undefined
}

export interface ChannelPoolCloseOptions {
  /** How long calls in flight may take to finish before channels are closed under them. Default 30000. */
  timeoutMs?: number
}
