/**
 * The OpenTelemetry instruments of one pool kind. Every kind has the shape of the database client
 * semantic conventions for connection pools (`<ns>.count` by state idle/used, `.max`,
 * `.pending_requests`, `.timeouts`, `.wait_time`); the namespace and attribute names differ:
 *
 * - Postgres pools: `db.client.connection.*`, attributes `db.client.connection.pool.name` and
 *   `db.client.connection.state`, as the conventions name them.
 * - gRPC channel pools: `rpc.client.connection.*` with `rpc.client.connection.pool.name` and
 *   `rpc.client.connection.state` (a channel is the connection; used = carrying calls).
 * - core pools: `berth.pool.resource.*` with `berth.pool.name` and `berth.pool.resource.state`.
 *
 * Durations are ObservableGauges with a `quantile` attribute (0.5, 0.9, 0.99, 1 = max), not
 * histograms: berth's stats keep percentiles, not observations, and the OpenTelemetry API has no
 * observable histogram.
 */
import type { Attributes, BatchObservableResult, Meter, Observable, ValueType } from '@opentelemetry/api'
import type { LatencySummary } from '../core/latency-histogram.js'
import type { PoolStats } from '../core/pool-stats.js'

/** `ValueType.INT` / `.DOUBLE` without loading @opentelemetry/api at run time (type-only import). */
export const INT = 0 as ValueType.INT
export const DOUBLE = 1 as ValueType.DOUBLE

/** The quantile attribute values and the snapshot field each reads. */
const QUANTILES = [
  [0.5, 'p50'],
  [0.9, 'p90'],
  [0.99, 'p99'],
  [1, 'max'],
] as const

/**
 * Observes a latency snapshot (ms) on a gauge in seconds, one point per quantile; nothing before
 * the first sample. Percentiles are clamped to the exact max (they are rounded bucket values).
 */
export function observeLatency(
  result: BatchObservableResult,
  gauge: Observable,
  latency: LatencySummary,
  attributes: Attributes,
): void {
  if (latency.count === 0) return
  for (const [quantile, field] of QUANTILES)
    result.observe(gauge, Math.min(latency[field], latency.max) / 1000, { ...attributes, quantile })
}

export interface PoolShapeNames {
  /** Instrument name prefix: `'db.client.connection'`. */
  readonly ns: string
  readonly poolAttribute: string
  readonly stateAttribute: string
  /** What one resource is, for units and descriptions: `'connection'`. */
  readonly unit: string
}

export const DB_NAMES: PoolShapeNames = {
  ns: 'db.client.connection',
  poolAttribute: 'db.client.connection.pool.name',
  stateAttribute: 'db.client.connection.state',
  unit: 'connection',
}

export const RPC_NAMES: PoolShapeNames = {
  ns: 'rpc.client.connection',
  poolAttribute: 'rpc.client.connection.pool.name',
  stateAttribute: 'rpc.client.connection.state',
  unit: 'connection',
}

export const CORE_NAMES: PoolShapeNames = {
  ns: 'berth.pool.resource',
  poolAttribute: 'berth.pool.name',
  stateAttribute: 'berth.pool.resource.state',
  unit: 'resource',
}

/** The connection-pool instruments of one kind, observed from a core pool snapshot. */
export class PoolShape {
  readonly names: PoolShapeNames
  readonly count: Observable
  readonly max: Observable
  readonly pendingRequests: Observable
  readonly timeouts: Observable
  readonly waitTime: Observable

  constructor(meter: Meter, names: PoolShapeNames) {
    this.names = names
    const { ns, unit } = names
    this.count = meter.createObservableUpDownCounter(`${ns}.count`, {
      description: `The number of ${unit}s currently in the state given by the state attribute (idle, used).`,
      unit: `{${unit}}`,
      valueType: INT,
    })
    this.max = meter.createObservableUpDownCounter(`${ns}.max`, {
      description: `The maximum number of open ${unit}s allowed.`,
      unit: `{${unit}}`,
      valueType: INT,
    })
    this.pendingRequests = meter.createObservableUpDownCounter(`${ns}.pending_requests`, {
      description: `The number of current pending requests for an open ${unit}.`,
      unit: '{request}',
      valueType: INT,
    })
    this.timeouts = meter.createObservableCounter(`${ns}.timeouts`, {
      description: `The number of ${unit} timeouts that have occurred trying to obtain a ${unit} from the pool.`,
      unit: '{timeout}',
      valueType: INT,
    })
    this.waitTime = meter.createObservableGauge(`${ns}.wait_time`, {
      description: `The time it took to obtain an open ${unit} from the pool, as quantiles since the pool was made.`,
      unit: 's',
      valueType: DOUBLE,
    })
  }

  get instruments(): Observable[] {
    return [this.count, this.max, this.pendingRequests, this.timeouts, this.waitTime]
  }

  observe(result: BatchObservableResult, poolName: string, s: PoolStats): void {
    const pool = { [this.names.poolAttribute]: poolName }
    result.observe(this.count, s.idle, { ...pool, [this.names.stateAttribute]: 'idle' })
    result.observe(this.count, s.leased + s.shared, { ...pool, [this.names.stateAttribute]: 'used' })
    result.observe(this.max, s.max, pool)
    result.observe(this.pendingRequests, s.waiting, pool)
    result.observe(this.timeouts, s.counters.timeouts, pool)
    observeLatency(result, this.waitTime, s.acquireWaitMs, pool)
  }
}
