/**
 * The report of `berth doctor` on a host list: each host's role, reachability and budget against
 * what points at it, and the findings of the whole (a host down, no primary, a standby behind).
 *
 * What points at a host depends on what the URL is for:
 * - `cluster` (createPgCluster): every host has a pool of `maxConns` and a role-probe connection,
 *   per instance: `(maxConns + 1) x instances`;
 * - `pool` (createPgPool): one pool, whose connections go to the first host (in order) that fits
 *   target_session_attrs; with load_balance_hosts=random, to any that fits (each is judged as if
 *   it took them all). The other hosts carry nothing.
 */
import { type BudgetReport, assessBudget } from '../pg/budget.js'
import type { PgTargetSessionAttrs } from '../pg/config-types.js'
import type { SessionRole } from '../pg/pg-hosts.js'
import { type Finding, THRESHOLDS, findPitfalls } from './doctor-findings.js'
import type { HostProbe } from './doctor-hosts.js'
import type { DoctorRecommendation } from './doctor-report.js'
import { ExitCode } from './exit-codes.js'

export type DoctorMode = 'cluster' | 'pool'

/** A finding of one host (`host` set) or of the hosts together (`host` null). */
export interface HostFinding extends Finding {
  readonly host: string | null
}

/** What this service points at one host, per the mode. */
export interface HostDemand {
  /** Pool connections: `maxConns x instances`, or 0 when the pool's connections go elsewhere. */
  readonly pool: number
  /** Role-probe connections: `instances` for a cluster, else 0. */
  readonly probe: number
  /** Why, in a sentence. */
  readonly basis: string
}

/** One host as reported: what it answered (its WAL position aside), and what points at it. */
export interface DoctorHostReport extends Omit<HostProbe, 'walPosition' | 'replayAgeS'> {
  /** A standby's distance behind the primary, when both answered. */
  readonly lag: { readonly bytes: number; readonly seconds: number } | null
  readonly demand: HostDemand
  /** `assessBudget()` of what points here; null when nothing does or the host did not answer. */
  readonly budget: BudgetReport | null
}

/** `berth doctor --json` on a host list (or with --cluster) prints this object. */
export interface DoctorClusterReport {
  /** `user@h1:p1,h2:p2/database`, no password. */
  readonly target: string
  readonly mode: DoctorMode
  readonly targetSessionAttrs: PgTargetSessionAttrs
  readonly loadBalanceHosts: 'disable' | 'random'
  readonly sslmode: string
  readonly maxConns: number
  readonly maxConnsSource: 'option' | 'url' | 'default'
  readonly instances: number
  readonly concurrency: number | null
  readonly queriesPerRequest: number
  readonly hosts: readonly DoctorHostReport[]
  /** The smallest of the hosts' recommendations (one maxConns serves every host); null if none. */
  readonly recommendation: DoctorRecommendation | null
  readonly findings: readonly HostFinding[]
  readonly exitCode: number
}

/** What the report is built from besides the probes: the report's own fields, and the role rules. */
export interface ClusterInputs
  extends Omit<DoctorClusterReport, 'concurrency' | 'hosts' | 'recommendation' | 'findings' | 'exitCode'> {
  readonly concurrency?: number
  /** berth/pg's sessionMatches (loaded with pg, so passed in). */
  readonly matches: (role: SessionRole, want: Exclude<PgTargetSessionAttrs, 'prefer-standby'>) => boolean
}

export function buildClusterReport(probes: readonly HostProbe[], i: ClusterInputs): DoctorClusterReport {
  const carriers = poolHosts(probes, i)
  const primary = probes.find((p) => p.role === 'primary')
  const findings: HostFinding[] = []
  /** Findings of the hosts together, listed first. */
  const general: HostFinding[] = []
  const hosts = probes.map((p): DoctorHostReport => {
    const demand = demandOf(p, i, carriers)
    const budget =
      p.facts === null || demand.pool === 0
        ? null
        : assessBudget(p.facts.limits, i.maxConns, {
            instances: i.instances,
            concurrency: i.concurrency,
            queriesPerRequest: i.queriesPerRequest,
            extraConnections: demand.probe / i.instances,
          })
    const lag =
      p.role === 'standby' && primary?.walPosition != null && p.walPosition !== null
        ? {
            bytes: Math.max(0, Number(primary.walPosition - p.walPosition)),
            seconds: p.replayAgeS ?? 0,
          }
        : null
    if (!p.reachable) {
      general.push(
        warn(null, 'HOST_DOWN', `${p.host} did not answer: ${p.error?.message ?? 'unknown error'}`),
      )
    }
    if (p.facts !== null) {
      for (const f of findPitfalls({ facts: p.facts, budget, local: p.local, sslmode: i.sslmode })) {
        findings.push(Object.freeze({ ...f, host: p.host }))
      }
    }
    if (lag !== null && lag.bytes > 0 && lagTooFar(lag)) {
      findings.push(
        warn(
          p.host,
          'REPLICA_LAG',
          `standby ${p.host} is ${lag.bytes} bytes (${lag.seconds.toFixed(0)} s) behind the primary${p.replayPaused ? ' (replay paused)' : ''}:`,
          'reads there return old rows; createPgCluster takes it out of read rotation past maxReplicaLag.',
        ),
      )
    }
    const { walPosition: _w, replayAgeS: _a, ...answer } = p
    return Object.freeze({ ...answer, lag, demand, budget })
  })
  if (primary === undefined && probes.some((p) => p.reachable)) {
    general.push(
      warn(
        null,
        'NO_PRIMARY',
        'no host that answered is a primary (all are in recovery): writes will fail until one is promoted or comes back.',
      ),
    )
  }
  if (i.mode === 'pool' && carriers.size === 0 && probes.some((p) => p.reachable)) {
    general.push(
      warn(
        null,
        'NO_HOST_FITS',
        `no host that answered fits target_session_attrs=${i.targetSessionAttrs}: createPgPool's connects will fail.`,
      ),
    )
  }
  const budgets = hosts.flatMap((h) => (h.budget === null ? [] : [h.budget]))
  const n = budgets.length === 0 ? null : Math.min(...budgets.map((b) => b.recommendedMaxConns))
  const all = [...general, ...findings]
  const { matches: _m, ...own } = i
  return Object.freeze({
    ...own,
    concurrency: i.concurrency ?? null,
    hosts,
    recommendation:
      n === null
        ? null
        : {
            poolMaxConns: n,
            basis: i.concurrency === undefined ? ('budget' as const) : ('load' as const),
            urlParameter: `pool_max_conns=${n}`,
          },
    findings: all,
    exitCode: all.some((f) => f.severity === 'warning') ? ExitCode.findings : ExitCode.ok,
  })
}

function lagTooFar(lag: { bytes: number; seconds: number }): boolean {
  return lag.bytes >= THRESHOLDS.replicaLagBytes || lag.seconds >= THRESHOLDS.replicaLagS
}

/** The hosts createPgPool's connections go to (nothing in cluster mode: every host has a pool). */
function poolHosts(probes: readonly HostProbe[], i: ClusterInputs): Set<string> {
  if (i.mode === 'cluster') return new Set(probes.map((p) => p.host))
  const answered = probes.filter((p) => p.reachable)
  const role = (p: HostProbe): SessionRole => ({
    hotStandby: p.role === 'standby',
    readOnly: p.readOnly === true,
  })
  const passes =
    i.targetSessionAttrs === 'prefer-standby' ? (['standby', 'any'] as const) : [i.targetSessionAttrs]
  for (const want of passes) {
    const fit = answered.filter((p) => i.matches(role(p), want))
    if (fit.length > 0)
      return new Set((i.loadBalanceHosts === 'random' ? fit : fit.slice(0, 1)).map((p) => p.host))
  }
  return new Set()
}

function demandOf(p: HostProbe, i: ClusterInputs, carriers: ReadonlySet<string>): HostDemand {
  const pool = i.maxConns * i.instances
  if (i.mode === 'cluster') {
    return {
      pool,
      probe: i.instances,
      basis: `createPgCluster: this host's pool (maxConns ${i.maxConns} x ${i.instances}) + its role probe (1 x ${i.instances})`,
    }
  }
  if (carriers.has(p.host)) {
    return {
      pool,
      probe: 0,
      basis:
        i.loadBalanceHosts === 'random'
          ? `createPgPool: any host that fits target_session_attrs=${i.targetSessionAttrs} may take the whole pool (load_balance_hosts=random)`
          : `createPgPool: the first host that fits target_session_attrs=${i.targetSessionAttrs} takes the whole pool`,
    }
  }
  return {
    pool: 0,
    probe: 0,
    basis: p.reachable
      ? `createPgPool: none (its connections go to ${[...carriers].join(', ') || 'no host'})`
      : 'createPgPool: none while it is down',
  }
}

function warn(host: string | null, code: string, ...message: string[]): HostFinding {
  return Object.freeze({ host, code, severity: 'warning', message: message.join(' ') })
}
