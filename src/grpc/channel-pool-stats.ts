/** What a channel pool reports: `connectivity()` for health endpoints, `stats()` for metrics. */
import type { PoolStats } from '../core/pool-stats.js'
import type { BackendHealth } from './health-watch.js'
import type { CallMetricsSnapshot } from './interceptor-metrics.js'
import type { ConnectivityName } from './pool-channel.js'

/** One channel in `connectivity()`. */
export interface ChannelSummary {
  readonly id: number
  readonly state: ConnectivityName
  readonly callsInFlight: number
  readonly reconnects: number
  readonly ageMs: number
}

/** One backend address in `connectivity()`. */
export interface BackendSummary {
  readonly address: string
  /** From the health check (`'UNKNOWN'` without one). */
  readonly health: BackendHealth
  /** False while the health check keeps it out of rotation. */
  readonly inRotation: boolean
}

/** `ChannelPool.connectivity()`: named apart from the lifecycle `state`. */
export interface ChannelPoolConnectivity {
  /** The best state of any channel: READY when at least one can take calls now. */
  readonly state: ConnectivityName
  readonly ready: boolean
  readonly channels: readonly ChannelSummary[]
  readonly backends: readonly BackendSummary[]
  /** Why the pool has no address to call, when it has none. */
  readonly resolutionError: string | undefined
}

/** @deprecated renamed `ChannelPoolConnectivity` (it is not the lifecycle state). */
export type ChannelPoolState = ChannelPoolConnectivity

export interface ChannelPoolStats {
  readonly name: string
  /** The lifecycle state: open, closing, destroying, closed. */
  readonly state: PoolStats['state']
  readonly target: string
  readonly size: number | 'auto'
  /** @deprecated the same as `state`. */
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

/** The close options every owner takes (`timeoutMs`, `signal`). */
export type { CloseOptions as ChannelPoolCloseOptions } from '../core/lifecycle.js'
