/** `berth_pg_*`: pgxpool's Stat() fields, under pgxpool's names, plus query durations (label `pool`). */
import type { PgPoolStats } from '../pg/pg-pool-stats.js'
import type { SourceScrape } from './metric-sources.js'
import { type MetricFamily, perPool } from './prometheus-family.js'

const pg = (s: SourceScrape) => s.pg

function gauge(name: string, help: string, read: (s: PgPoolStats) => number): MetricFamily {
  return perPool(pg, 'gauge', name, help, read)
}

function counter(name: string, help: string, read: (s: PgPoolStats) => number): MetricFamily {
  return perPool(pg, 'counter', name, help, read)
}

export const PG_FAMILIES: readonly MetricFamily[] = [
  gauge('berth_pg_acquired_conns', 'Connections lent out (pgxpool AcquiredConns).', (s) => s.acquiredConns),
  gauge('berth_pg_idle_conns', 'Idle connections (pgxpool IdleConns).', (s) => s.idleConns),
  gauge('berth_pg_total_conns', 'Open and opening connections (pgxpool TotalConns).', (s) => s.totalConns),
  gauge(
    'berth_pg_constructing_conns',
    'Connections being opened (pgxpool ConstructingConns).',
    (s) => s.constructingConns,
  ),
  gauge('berth_pg_max_conns', 'The pool size limit (pgxpool MaxConns).', (s) => s.maxConns),
  counter('berth_pg_acquire_count', 'Connection acquires (pgxpool AcquireCount).', (s) => s.acquireCount),
  counter(
    'berth_pg_acquire_duration_seconds',
    'Total time spent waiting for connections, in seconds (pgxpool AcquireDuration).',
    (s) => s.acquireDurationMs / 1000,
  ),
  counter(
    'berth_pg_empty_acquire_count',
    'Acquires that waited because no connection was idle (pgxpool EmptyAcquireCount).',
    (s) => s.emptyAcquireCount,
  ),
  counter(
    'berth_pg_canceled_acquire_count',
    'Acquires ended by cancellation or timeout (pgxpool CanceledAcquireCount).',
    (s) => s.canceledAcquireCount,
  ),
  counter('berth_pg_new_conns_count', 'Connections opened (pgxpool NewConnsCount).', (s) => s.newConnsCount),
  counter(
    'berth_pg_max_lifetime_destroy_count',
    'Connections closed for reaching max lifetime (pgxpool MaxLifetimeDestroyCount).',
    (s) => s.maxLifetimeDestroyCount,
  ),
  counter(
    'berth_pg_max_idle_destroy_count',
    'Connections closed for idling too long (pgxpool MaxIdleDestroyCount).',
    (s) => s.maxIdleDestroyCount,
  ),
  {
    type: 'duration',
    measure: 'query',
    name: 'berth_pg_query_duration_seconds',
    help: 'Query round trips, since the pool was made.',
    labelNames: ['pool'],
    samples(scrape, emit) {
      for (const s of scrape.pg) emit({ pool: s.name }, s.stats.queryMs)
    },
  },
]
