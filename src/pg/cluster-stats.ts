/** PgCluster's `stats()`: the cluster's view (primary, failovers, reads) and each host's. */
import type { LifecycleState } from '../core/lifecycle.js'
import type { OwnerStats } from '../core/owner.js'
import type { ClusterHostRole, ClusterMember } from './cluster-member.js'
import type { ClusterTopology } from './cluster-topology.js'
import type { PgPoolStats } from './pg-pool-stats.js'

/** One server of a cluster. */
export interface PgClusterHostStats {
  /** `host:port`. */
  readonly host: string
  /** What the configuration called it (`{ primary, replicas }`); null for a multi-host string. */
  readonly declared: 'primary' | 'replica' | null
  /** What its last answer said it is. */
  readonly role: ClusterHostRole
  /** `'up'` (answered the last probe), `'down'`, or `'unknown'` before the first. */
  readonly state: 'up' | 'down' | 'unknown'
  /** New sessions there are read-only (a standby, or default_transaction_read_only on). */
  readonly readOnly: boolean
  /** How far a replica is behind the primary; 0 for the primary; null when unknown. */
  readonly lagBytes: number | null
  readonly lagMs: number | null
  /** Since the last transaction it replayed was committed, ms (ages while the primary is idle). */
  readonly replayAgeMs: number | null
  readonly replayPaused: boolean
  /** Its replay position (a standby) or write position (a primary), as `'X/Y'`. */
  readonly walPosition: string | null
  /** A replica reads are sent to now. */
  readonly inRotation: boolean
  readonly readsInFlight: number
  /** Reads routed here that succeeded. */
  readonly reads: number
  /** Times it became the primary in place of another (failovers to it). */
  readonly promotions: number
  /** What its host name resolved to at the last lookup (null for an IP address). */
  readonly addresses: readonly string[] | null
  /** Connections retired because the host name stopped resolving to their address. */
  readonly addressRetired: number
  /** Why its last probe failed, while it is down. */
  readonly lastError: string | null
  /** Its pool's stats. */
  readonly pool: PgPoolStats
}

export interface PgClusterStats extends OwnerStats {
  readonly state: LifecycleState
  /** The server taking writes (`host:port`), null while there is none. */
  readonly primary: string | null
  /** Times the primary moved to another server. */
  readonly failovers: number
  /** Time from losing the primary to electing the next, for the last failover, ms. */
  readonly lastFailoverMs: number | null
  /** How long the cluster has been without a primary, ms; null while it has one. */
  readonly noPrimaryForMs: number | null
  /** Probe rounds run. */
  readonly probeRounds: number
  readonly replicasInRotation: number
  /** Reads answered by replicas. */
  readonly readsOnReplicas: number
  /** Reads that found no replica in rotation (or able to see their `after`) and ran on the primary. */
  readonly readsOnPrimary: number
  readonly hosts: readonly PgClusterHostStats[]
}

function lsnText(b: bigint | undefined): string | null {
  if (b === undefined) return null
  return `${(b >> 32n).toString(16).toUpperCase()}/${(b & 0xffffffffn).toString(16).toUpperCase()}`
}

export function clusterStats(
  name: string,
  state: LifecycleState,
  topology: ClusterTopology,
  members: readonly ClusterMember[],
  readsOnPrimary: number,
): PgClusterStats {
  const since = topology.searchingSince
  let readsOnReplicas = 0
  let inRotation = 0
  const hosts = members.map((m): PgClusterHostStats => {
    readsOnReplicas += m.reads
    if (m.inRotation) inRotation++
    const o = m.last
    return Object.freeze({
      host: m.key,
      declared: m.spec.declared ?? null,
      role: m.role,
      state: m.up === undefined ? 'unknown' : m.up ? 'up' : 'down',
      readOnly: m.readOnly,
      lagBytes: m.lagBytes ?? null,
      lagMs: m.lagMs ?? null,
      replayAgeMs: o?.replayAgeMs ?? null,
      replayPaused: o?.replayPaused ?? false,
      walPosition: lsnText(o?.standby ? o.replayLsn : o?.currentLsn),
      inRotation: m.inRotation,
      readsInFlight: m.inFlight,
      reads: m.reads,
      promotions: m.promotions,
      addresses: m.addresses ?? null,
      addressRetired: m.addressRetired,
      lastError: m.up === false ? (m.lastError ?? null) : null,
      pool: m.pool.stats(),
    })
  })
  return Object.freeze({
    name,
    state,
    primary: topology.primary?.key ?? null,
    failovers: topology.failovers,
    lastFailoverMs: topology.lastFailoverMs ?? null,
    noPrimaryForMs: since === undefined ? null : performance.now() - since,
    probeRounds: topology.rounds,
    replicasInRotation: inRotation,
    readsOnReplicas,
    readsOnPrimary,
    hosts: Object.freeze(hosts),
  })
}
