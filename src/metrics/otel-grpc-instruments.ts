/**
 * The gRPC-only OpenTelemetry instruments of a channel pool, beside its `rpc.client.connection.*`
 * pool shape: channels by connectivity state, reconnects, connect timeouts, calls in flight, and
 * per-method call counts and durations with the RPC conventions' attributes (`rpc.system`,
 * `rpc.service`, `rpc.method`, `rpc.grpc.status_code`).
 */
import type { BatchObservableResult, Meter, Observable } from '@opentelemetry/api'
import type { ChannelPoolStats } from '../grpc/channel-pool-stats.js'
import { DOUBLE, INT, RPC_NAMES, observeLatency } from './otel-instruments.js'

/** grpc-js status names (as in berth's call metrics) to the numeric codes the conventions use. */
const STATUS_CODES: Readonly<Record<string, number>> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
}

export function statusCode(name: string): number | undefined {
  const known = STATUS_CODES[name]
  if (known !== undefined) return known
  const other = /^CODE_(-?\d+)$/.exec(name)
  return other ? Number(other[1]) : undefined
}

/** `'/pkg.Service/Method'` -> `['pkg.Service', 'Method']`. */
export function splitMethodPath(path: string): readonly [service: string, method: string] {
  const slash = path.lastIndexOf('/')
  if (slash <= 0) return ['', path.replace(/^\//, '')]
  return [path.slice(path.startsWith('/') ? 1 : 0, slash), path.slice(slash + 1)]
}

export class GrpcInstruments {
  readonly connectivity: Observable
  readonly reconnects: Observable
  readonly connectTimeouts: Observable
  readonly activeCalls: Observable
  readonly callDuration: Observable
  readonly callCount: Observable

  constructor(meter: Meter) {
    this.connectivity = meter.createObservableUpDownCounter('rpc.client.connection.connectivity', {
      description: 'The number of channels in the connectivity state given by rpc.grpc.connectivity_state.',
      unit: '{connection}',
      valueType: INT,
    })
    this.reconnects = meter.createObservableCounter('rpc.client.connection.reconnects', {
      description: 'Channels that lost READY and began connecting again.',
      unit: '{reconnect}',
      valueType: INT,
    })
    this.connectTimeouts = meter.createObservableCounter('rpc.client.connection.connect_timeouts', {
      description: 'Channels that did not connect within the connect timeout.',
      unit: '{timeout}',
      valueType: INT,
    })
    this.activeCalls = meter.createObservableUpDownCounter('rpc.client.call.active', {
      description: 'Calls running on the pool now.',
      unit: '{call}',
      valueType: INT,
    })
    this.callDuration = meter.createObservableGauge('rpc.client.call.duration', {
      description: 'Client call durations, start to status, as quantiles since the pool was made.',
      unit: 's',
      valueType: DOUBLE,
    })
    this.callCount = meter.createObservableCounter('rpc.client.call.count', {
      description: 'Finished client calls, by method and status code.',
      unit: '{call}',
      valueType: INT,
    })
  }

  get instruments(): Observable[] {
    return [
      this.connectivity,
      this.reconnects,
      this.connectTimeouts,
      this.activeCalls,
      this.callDuration,
      this.callCount,
    ]
  }

  observe(result: BatchObservableResult, poolName: string, s: ChannelPoolStats): void {
    const pool = { [RPC_NAMES.poolAttribute]: poolName }
    for (const [state, n] of Object.entries(s.channelsByState))
      result.observe(this.connectivity, n, { ...pool, 'rpc.grpc.connectivity_state': state })
    result.observe(this.reconnects, s.reconnects, pool)
    result.observe(this.connectTimeouts, s.connectTimeouts, pool)
    result.observe(this.activeCalls, s.callsInFlight, pool)
    for (const [path, m] of Object.entries(s.calls?.methods ?? {})) {
      const [service, method] = splitMethodPath(path)
      const call = { ...pool, 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method }
      observeLatency(result, this.callDuration, m.latency, call)
      for (const [status, n] of Object.entries(m.byStatus)) {
        const code = statusCode(status)
        if (code !== undefined) result.observe(this.callCount, n, { ...call, 'rpc.grpc.status_code': code })
      }
    }
  }
}
