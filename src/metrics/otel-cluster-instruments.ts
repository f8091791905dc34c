/**
 * The OpenTelemetry instruments of a PgCluster: per server (`berth.pg.cluster.host.*`, attributes
 * `berth.pg.cluster.name` and `berth.pg.cluster.host` = `host:port`) and per cluster
 * (`berth.pg.cluster.*`). Each host's pool is observed besides as a Postgres pool
 * (`db.client.connection.*`, `berth.pg.query.duration`) under that pool's own name. Yes/no figures
 * are 1/0 UpDownCounters of unit `1`, as the hardware conventions' `hw.status` is.
 */
import type { BatchObservableResult, Meter, Observable } from '@opentelemetry/api'
import type { PgClusterStats } from '../pg/cluster-stats.js'
import { redactLabel } from './label-redaction.js'
import { DOUBLE, INT } from './otel-instruments.js'

export const CLUSTER_ATTRIBUTE = 'berth.pg.cluster.name'
export const HOST_ATTRIBUTE = 'berth.pg.cluster.host'
export const ROLE_ATTRIBUTE = 'berth.pg.cluster.host.role'
export const TARGET_ATTRIBUTE = 'berth.pg.cluster.read.target'

const ROLES = ['primary', 'standby', 'unknown'] as const
const flag = (b: boolean): number => (b ? 1 : 0)

type Kind = 'gauge' | 'updown' | 'counter'

function create(meter: Meter, kind: Kind, name: string, description: string, unit: string): Observable {
  const valueType = kind === 'gauge' ? DOUBLE : INT
  const options = { description, unit, valueType }
  if (kind === 'gauge') return meter.createObservableGauge(name, options)
  if (kind === 'updown') return meter.createObservableUpDownCounter(name, options)
  return meter.createObservableCounter(name, options)
}

export class ClusterInstruments {
  readonly role: Observable
  readonly up: Observable
  readonly readOnly: Observable
  readonly lagSize: Observable
  readonly lagTime: Observable
  readonly replayAge: Observable
  readonly replayPaused: Observable
  readonly inRotation: Observable
  readonly readsActive: Observable
  readonly reads: Observable
  readonly promotions: Observable
  readonly hasPrimary: Observable
  readonly withoutPrimary: Observable
  readonly failovers: Observable
  readonly failoverDuration: Observable
  readonly probeRounds: Observable
  readonly replicasInRotation: Observable
  readonly clusterReads: Observable

  constructor(meter: Meter) {
    const h = 'berth.pg.cluster.host'
    const c = 'berth.pg.cluster'
    this.role = create(
      meter,
      'updown',
      `${h}.role`,
      `1 for the server's role at its last probe (${ROLE_ATTRIBUTE}: primary, standby, unknown), 0 for the others.`,
      '1',
    )
    this.up = create(meter, 'updown', `${h}.up`, 'Whether the server answered its last probe.', '1')
    this.readOnly = create(meter, 'updown', `${h}.read_only`, 'Whether new sessions are read-only.', '1')
    this.lagSize = create(meter, 'gauge', `${h}.lag.size`, 'WAL the server is behind the primary.', 'By')
    this.lagTime = create(meter, 'gauge', `${h}.lag.time`, 'How far the server is behind the primary.', 's')
    this.replayAge = create(
      meter,
      'gauge',
      `${h}.replay.age`,
      'Since the last transaction the server replayed was committed.',
      's',
    )
    this.replayPaused = create(meter, 'updown', `${h}.replay.paused`, 'Whether WAL replay is paused.', '1')
    this.inRotation = create(meter, 'updown', `${h}.in_rotation`, 'Whether reads are sent here now.', '1')
    this.readsActive = create(
      meter,
      'updown',
      `${h}.read.active`,
      'Reads running on the server now.',
      '{read}',
    )
    this.reads = create(meter, 'counter', `${h}.read.count`, 'Reads routed here that succeeded.', '{read}')
    this.promotions = create(
      meter,
      'counter',
      `${h}.promotions`,
      'Times the server became the primary in place of another.',
      '{promotion}',
    )
    this.hasPrimary = create(meter, 'updown', `${c}.has_primary`, 'Whether a server takes writes now.', '1')
    this.withoutPrimary = create(
      meter,
      'gauge',
      `${c}.without_primary`,
      'How long the cluster has been without a primary (0 while it has one).',
      's',
    )
    this.failovers = create(meter, 'counter', `${c}.failovers`, 'Times the primary moved.', '{failover}')
    this.failoverDuration = create(
      meter,
      'gauge',
      `${c}.failover.duration`,
      'From losing the primary to electing the next, for the last failover.',
      's',
    )
    this.probeRounds = create(meter, 'counter', `${c}.probe.rounds`, 'Probe rounds run.', '{round}')
    this.replicasInRotation = create(
      meter,
      'updown',
      `${c}.replicas_in_rotation`,
      'Replicas reads are sent to now.',
      '{replica}',
    )
    this.clusterReads = create(
      meter,
      'counter',
      `${c}.read.count`,
      `Reads by where they ran (${TARGET_ATTRIBUTE}: replica, or primary when no replica could take them).`,
      '{read}',
    )
  }

  get instruments(): Observable[] {
    return [
      this.role,
      this.up,
      this.readOnly,
      this.lagSize,
      this.lagTime,
      this.replayAge,
      this.replayPaused,
      this.inRotation,
      this.readsActive,
      this.reads,
      this.promotions,
      this.hasPrimary,
      this.withoutPrimary,
      this.failovers,
      this.failoverDuration,
      this.probeRounds,
      this.replicasInRotation,
      this.clusterReads,
    ]
  }

  observe(result: BatchObservableResult, clusterName: string, s: PgClusterStats): void {
    const cluster = { [CLUSTER_ATTRIBUTE]: clusterName }
    for (const host of s.hosts) {
      const a = { ...cluster, [HOST_ATTRIBUTE]: redactLabel(host.host) }
      for (const role of ROLES)
        result.observe(this.role, flag(host.role === role), { ...a, [ROLE_ATTRIBUTE]: role })
      result.observe(this.up, flag(host.state === 'up'), a)
      result.observe(this.readOnly, flag(host.readOnly), a)
      if (host.lagBytes !== null) result.observe(this.lagSize, host.lagBytes, a)
      if (host.lagMs !== null) result.observe(this.lagTime, host.lagMs / 1000, a)
      if (host.replayAgeMs !== null) result.observe(this.replayAge, host.replayAgeMs / 1000, a)
      result.observe(this.replayPaused, flag(host.replayPaused), a)
      result.observe(this.inRotation, flag(host.inRotation), a)
      result.observe(this.readsActive, host.readsInFlight, a)
      result.observe(this.reads, host.reads, a)
      result.observe(this.promotions, host.promotions, a)
    }
    result.observe(this.hasPrimary, flag(s.primary !== null), cluster)
    result.observe(this.withoutPrimary, (s.noPrimaryForMs ?? 0) / 1000, cluster)
    result.observe(this.failovers, s.failovers, cluster)
    if (s.lastFailoverMs !== null) result.observe(this.failoverDuration, s.lastFailoverMs / 1000, cluster)
    result.observe(this.probeRounds, s.probeRounds, cluster)
    result.observe(this.replicasInRotation, s.replicasInRotation, cluster)
    result.observe(this.clusterReads, s.readsOnReplicas, { ...cluster, [TARGET_ATTRIBUTE]: 'replica' })
    result.observe(this.clusterReads, s.readsOnPrimary, { ...cluster, [TARGET_ATTRIBUTE]: 'primary' })
  }
}
