/**
 * `berth_pg_cluster_*`: a PgCluster's view of its servers (labels `pool` = the cluster's name and
 * `host` = `host:port`) and of itself (label `pool`). Each host's PgPool is exported besides, through
 * the `berth_pg_*` and `berth_pool_*` families, under the host pool's own name.
 */
import type { PgClusterHostStats, PgClusterStats } from '../pg/cluster-stats.js'
import { redactLabel } from './label-redaction.js'
import type { SourceScrape } from './metric-sources.js'
import { type MetricFamily, type ValueFamily, perPool, perPoolBy } from './prometheus-family.js'

const clusters = (s: SourceScrape) => s.pgClusters
const ROLES = ['primary', 'standby', 'unknown'] as const

const flag = (b: boolean): number => (b ? 1 : 0)
/** ms or null -> seconds, or undefined (no sample) when null. */
const seconds = (ms: number | null): number | undefined => (ms === null ? undefined : ms / 1000)

/** One sample per host of every cluster, for each `[label value, value]` `read` gives. */
function perHostBy(
  type: 'gauge' | 'counter',
  name: string,
  help: string,
  label: string | undefined,
  read: (h: PgClusterHostStats) => Iterable<readonly [string, number | undefined]>,
): ValueFamily {
  return {
    type,
    name,
    help,
    labelNames: label === undefined ? ['pool', 'host'] : ['pool', 'host', label],
    samples(scrape, emit) {
      for (const c of scrape.pgClusters) {
        for (const h of c.stats.hosts) {
          const labels = { pool: c.name, host: redactLabel(h.host) }
          for (const [key, value] of read(h)) {
            if (value !== undefined) emit(label === undefined ? labels : { ...labels, [label]: key }, value)
          }
        }
      }
    },
  }
}

function host(
  type: 'gauge' | 'counter',
  name: string,
  help: string,
  read: (h: PgClusterHostStats) => number | undefined,
): ValueFamily {
  return perHostBy(type, name, help, undefined, (h) => [['', read(h)]])
}

function cluster(
  type: 'gauge' | 'counter',
  name: string,
  help: string,
  read: (s: PgClusterStats) => number | undefined,
): MetricFamily {
  return perPool(clusters, type, name, help, read)
}

export const PG_CLUSTER_FAMILIES: readonly MetricFamily[] = [
  perHostBy(
    'gauge',
    'berth_pg_cluster_host_role',
    'Role of the server at its last probe: 1 for the current role (primary, standby, unknown), 0 for the others.',
    'role',
    (h) => ROLES.map((role) => [role, flag(h.role === role)] as const),
  ),
  host(
    'gauge',
    'berth_pg_cluster_host_up',
    'Whether the server answered its last probe (1), or failed it or has not been probed yet (0).',
    (h) => flag(h.state === 'up'),
  ),
  host(
    'gauge',
    'berth_pg_cluster_host_read_only',
    'Whether new sessions on the server are read-only (a standby, or default_transaction_read_only).',
    (h) => flag(h.readOnly),
  ),
  host(
    'gauge',
    'berth_pg_cluster_host_lag_bytes',
    'WAL bytes the server is behind the primary (0 for the primary; absent while unknown).',
    (h) => h.lagBytes ?? undefined,
  ),
  host(
    'gauge',
    'berth_pg_cluster_host_lag_seconds',
    'Seconds the server is behind the primary (0 for the primary; absent while unknown).',
    (h) => seconds(h.lagMs),
  ),
  host(
    'gauge',
    'berth_pg_cluster_host_replay_age_seconds',
    'Seconds since the last transaction the server replayed was committed (grows while the primary is idle; absent while unknown).',
    (h) => seconds(h.replayAgeMs),
  ),
  host(
    'gauge',
    'berth_pg_cluster_host_replay_paused',
    'Whether a standby has paused WAL replay (pg_wal_replay_pause).',
    (h) => flag(h.replayPaused),
  ),
  host('gauge', 'berth_pg_cluster_host_in_rotation', 'Whether reads are sent to this replica now.', (h) =>
    flag(h.inRotation),
  ),
  host(
    'gauge',
    'berth_pg_cluster_host_reads_in_flight',
    'Reads running on the server now.',
    (h) => h.readsInFlight,
  ),
  host(
    'counter',
    'berth_pg_cluster_host_reads_total',
    'Reads routed to the server that succeeded.',
    (h) => h.reads,
  ),
  host(
    'counter',
    'berth_pg_cluster_host_promotions_total',
    'Times the server became the primary in place of another.',
    (h) => h.promotions,
  ),
  cluster(
    'gauge',
    'berth_pg_cluster_has_primary',
    'Whether the cluster knows a server taking writes now.',
    (s) => flag(s.primary !== null),
  ),
  cluster(
    'gauge',
    'berth_pg_cluster_without_primary_seconds',
    'Seconds the cluster has been without a primary (0 while it has one).',
    (s) => (s.noPrimaryForMs ?? 0) / 1000,
  ),
  cluster(
    'counter',
    'berth_pg_cluster_failovers_total',
    'Times the primary moved to another server.',
    (s) => s.failovers,
  ),
  cluster(
    'gauge',
    'berth_pg_cluster_last_failover_duration_seconds',
    'Seconds from losing the primary to electing the next, for the last failover (absent before one).',
    (s) => seconds(s.lastFailoverMs),
  ),
  cluster('counter', 'berth_pg_cluster_probe_rounds_total', 'Probe rounds run.', (s) => s.probeRounds),
  cluster(
    'gauge',
    'berth_pg_cluster_replicas_in_rotation',
    'Replicas reads are sent to now.',
    (s) => s.replicasInRotation,
  ),
  perPoolBy(
    clusters,
    'counter',
    'berth_pg_cluster_reads_total',
    'Reads by where they ran: target="replica", or "primary" when no replica in rotation could take them.',
    'target',
    (s) => [
      ['replica', s.readsOnReplicas],
      ['primary', s.readsOnPrimary],
    ],
  ),
]
