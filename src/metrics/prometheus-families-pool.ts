/** `berth_pool_*`: the core pool snapshot of every exported pool (labels `pool`, `kind`). */
import type { LatencySummary } from '../core/latency-histogram.js'
import type { PoolStats } from '../core/pool-stats.js'
import type { SourceScrape } from './metric-sources.js'
import { type DurationMeasure, type MetricFamily, perPool, perPoolBy } from './prometheus-family.js'

const pools = (s: SourceScrape) => s.pools
const STATES = ['open', 'closing', 'destroying', 'closed'] as const

function gauge(name: string, help: string, read: (s: PoolStats) => number): MetricFamily {
  return perPool(pools, 'gauge', name, help, read, true)
}

function counter(name: string, help: string, read: (s: PoolStats) => number): MetricFamily {
  return perPool(pools, 'counter', name, help, read, true)
}

function perPoolDuration(
  measure: DurationMeasure,
  name: string,
  help: string,
  read: (s: PoolStats) => LatencySummary,
): MetricFamily {
  return {
    type: 'duration',
    measure,
    name,
    help,
    labelNames: ['pool', 'kind'],
    samples(scrape, emit) {
      for (const s of scrape.pools) emit({ pool: s.name, kind: s.kind }, read(s.stats))
    },
  }
}

export const POOL_FAMILIES: readonly MetricFamily[] = [
  perPoolBy(
    pools,
    'gauge',
    'berth_pool_resources',
    'Resources counted against max, by state (idle, leased, shared, validating, creating).',
    'state',
    (s) => [
      ['idle', s.idle],
      ['leased', s.leased],
      ['shared', s.shared],
      ['validating', s.validating],
      ['creating', s.creating],
    ],
    true,
  ),
  gauge(
    'berth_pool_destroying_resources',
    'Resources whose destroy callback is still running (not counted against max).',
    (s) => s.destroying,
  ),
  gauge('berth_pool_max_resources', 'The pool size limit (max).', (s) => s.max),
  gauge('berth_pool_min_resources', 'Resources the pool keeps open (min).', (s) => s.min),
  gauge('berth_pool_shared_leases', 'Shared leases in flight over all resources.', (s) => s.sharedLeases),
  gauge('berth_pool_pending_acquires', 'Acquires waiting for a resource.', (s) => s.waiting),
  gauge(
    'berth_pool_consecutive_create_failures',
    'Creates that failed in a row (0 once one succeeds).',
    (s) => s.consecutiveCreateFailures,
  ),
  perPoolBy(
    pools,
    'gauge',
    'berth_pool_state',
    'Lifecycle state of the pool: 1 for the current state, 0 for the others.',
    'state',
    (s) => STATES.map((state) => [state, s.state === state ? 1 : 0] as const),
    true,
  ),
  perPoolBy(
    pools,
    'gauge',
    'berth_pool_resource_age_seconds',
    'Ages of the live resources in seconds: min, mean and max.',
    'stat',
    (s) => [
      ['min', s.resourceAgeMs.min / 1000],
      ['mean', s.resourceAgeMs.mean / 1000],
      ['max', s.resourceAgeMs.max / 1000],
    ],
    true,
  ),
  counter(
    'berth_pool_acquires_total',
    'Calls to acquire (exclusive and shared).',
    (s) => s.counters.acquires,
  ),
  counter(
    'berth_pool_waited_acquires_total',
    'Acquires that could not be served at once and waited.',
    (s) => s.counters.waitedAcquires,
  ),
  counter('berth_pool_acquire_timeouts_total', 'Acquires that timed out.', (s) => s.counters.timeouts),
  counter(
    'berth_pool_acquire_cancellations_total',
    'Acquires cancelled by their AbortSignal.',
    (s) => s.counters.cancellations,
  ),
  counter('berth_pool_queue_full_total', 'Acquires refused because the wait queue was full.', (s) => {
    return s.counters.queueFull
  }),
  counter(
    'berth_pool_failed_fast_total',
    'Acquires refused at once while create backed off.',
    (s) => s.counters.failedFast,
  ),
  counter(
    'berth_pool_releases_total',
    'Leases given back (released or destroyed).',
    (s) => s.counters.releases,
  ),
  counter('berth_pool_creates_total', 'Resources created.', (s) => s.counters.creates),
  counter(
    'berth_pool_create_failures_total',
    'Resource creations that failed or timed out.',
    (s) => s.counters.createFailures,
  ),
  counter(
    'berth_pool_validation_failures_total',
    'Validations that found a resource unusable.',
    (s) => s.counters.validationFailures,
  ),
  perPoolBy(
    pools,
    'counter',
    'berth_pool_destroys_total',
    'Resources destroyed, by reason (lifetime, idle, health, error, close).',
    'reason',
    (s) => Object.entries(s.counters.destroys),
    true,
  ),
  counter(
    'berth_pool_destroy_errors_total',
    'Destroy callbacks that threw or timed out.',
    (s) => s.counters.destroyErrors,
  ),
  counter('berth_pool_leaks_total', 'Leases reported as leaked.', (s) => s.counters.leaks),
  perPoolDuration(
    'acquireWait',
    'berth_pool_acquire_wait_seconds',
    'Time from acquire to lease, since the pool was made.',
    (s) => s.acquireWaitMs,
  ),
  perPoolDuration(
    'create',
    'berth_pool_create_duration_seconds',
    'Time the create callbacks that succeeded took, since the pool was made.',
    (s) => s.createMs,
  ),
]
