/**
 * gRPC channel pools (label `pool`): `grpc_active_connections` and `grpc_request_duration_seconds`
 * keep the names dashboards already use; the rest are `berth_grpc_*`. Per-method series (label
 * `method`, the full path `/pkg.Service/Method`) need the pool's `metrics` option (on by default).
 */
import type { ChannelPoolStats } from '../grpc/channel-pool-stats.js'
import type { SourceScrape } from './metric-sources.js'
import { type MetricFamily, perPool, perPoolBy } from './prometheus-family.js'

const grpc = (s: SourceScrape) => s.grpc

function gauge(name: string, help: string, read: (s: ChannelPoolStats) => number | undefined): MetricFamily {
  return perPool(grpc, 'gauge', name, help, read)
}

function counter(name: string, help: string, read: (s: ChannelPoolStats) => number): MetricFamily {
  return perPool(grpc, 'counter', name, help, read)
}

export const GRPC_FAMILIES: readonly MetricFamily[] = [
  gauge(
    'grpc_active_connections',
    'Channels of the pool in the READY connectivity state.',
    (s) => s.channelsByState.READY,
  ),
  perPoolBy(
    grpc,
    'gauge',
    'berth_grpc_channels',
    'Channels by connectivity state (IDLE, CONNECTING, READY, TRANSIENT_FAILURE, SHUTDOWN).',
    'state',
    (s) => Object.entries(s.channelsByState),
  ),
  gauge('berth_grpc_calls_in_flight', 'Calls running on the pool now.', (s) => s.callsInFlight),
  gauge('berth_grpc_calls_waiting', 'Calls waiting for a channel with room.', (s) => s.callsWaiting),
  gauge(
    'berth_grpc_streams_per_channel',
    "Streams a channel takes before an 'auto'-sized pool adds one (absent until known).",
    (s) => s.streamsPerChannel,
  ),
  gauge('berth_grpc_addresses', 'Backend addresses the pool knows.', (s) => s.addresses.length),
  gauge(
    'berth_grpc_unhealthy_addresses',
    'Backend addresses out of rotation by health check.',
    (s) => s.unhealthy.length,
  ),
  counter(
    'berth_grpc_reconnects_total',
    'Channels that lost READY and began connecting again.',
    (s) => s.reconnects,
  ),
  counter(
    'berth_grpc_transient_failures_total',
    'Channel transitions to TRANSIENT_FAILURE.',
    (s) => s.transientFailures,
  ),
  counter(
    'berth_grpc_idle_kicks_total',
    'Channels that went IDLE and were asked to connect again at once.',
    (s) => s.idleKicks,
  ),
  counter(
    'berth_grpc_connect_timeouts_total',
    'Channels that did not connect in time.',
    (s) => s.connectTimeouts,
  ),
  counter('berth_grpc_dns_lookups_total', 'DNS re-resolutions.', (s) => s.dnsLookups),
  counter('berth_grpc_dns_errors_total', 'DNS re-resolutions that failed.', (s) => s.dnsErrors),
  {
    type: 'counter',
    name: 'berth_grpc_calls_started_total',
    help: 'Calls started, by method.',
    labelNames: ['pool', 'method'],
    samples(scrape, emit) {
      for (const s of scrape.grpc) {
        for (const [method, m] of Object.entries(s.stats.calls?.methods ?? {}))
          emit({ pool: s.name, method }, m.started)
      }
    },
  },
  {
    type: 'counter',
    name: 'berth_grpc_calls_finished_total',
    help: 'Calls finished, by method and status code name (OK, UNAVAILABLE...).',
    labelNames: ['pool', 'method', 'code'],
    samples(scrape, emit) {
      for (const s of scrape.grpc) {
        for (const [method, m] of Object.entries(s.stats.calls?.methods ?? {})) {
          for (const [code, n] of Object.entries(m.byStatus)) emit({ pool: s.name, method, code }, n)
        }
      }
    },
  },
  {
    type: 'duration',
    measure: 'rpc',
    name: 'grpc_request_duration_seconds',
    help: 'Client call durations by method, start to status, since the pool was made.',
    labelNames: ['pool', 'method'],
    samples(scrape, emit) {
      for (const s of scrape.grpc) {
        for (const [method, m] of Object.entries(s.stats.calls?.methods ?? {}))
          emit({ pool: s.name, method }, m.latency)
      }
    },
  },
]
