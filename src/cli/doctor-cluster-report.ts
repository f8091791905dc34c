/** `berth doctor` on a host list, for people: one section per host, then the findings of all. */
import type { DoctorClusterReport, DoctorHostReport } from './doctor-cluster.js'
import { SOURCES, recommendedLine, serverLines, summaryLine } from './doctor-report.js'

const MODES: Record<DoctorClusterReport['mode'], string> = {
  cluster: 'as createPgCluster: a pool of maxConns and a role probe per host, per instance (--cluster)',
  pool: 'as createPgPool: one pool, on the first host that fits target_session_attrs (pass --cluster for createPgCluster)',
}

export function renderClusterReport(r: DoctorClusterReport): string {
  const lines: string[] = []
  lines.push(`berth doctor: ${r.target}`)
  lines.push(`  ${r.hosts.length} host(s), judged ${MODES[r.mode]}`)
  lines.push(
    `  pool judged   maxConns ${r.maxConns} (${SOURCES[r.maxConnsSource]}), instances ${r.instances}, ` +
      `concurrency ${r.concurrency ?? 'not given'}, queries per request ${r.queriesPerRequest}; ` +
      `target_session_attrs=${r.targetSessionAttrs}`,
  )
  for (const h of r.hosts) {
    lines.push('')
    lines.push(...hostLines(h, r.sslmode))
  }
  lines.push('')
  if (r.recommendation !== null) {
    lines.push("Recommendation (the smallest of the hosts' shares: one maxConns serves every host)")
    lines.push(recommendedLine(r.recommendation))
    lines.push('')
  }
  if (r.findings.length === 0) lines.push('No pitfalls found.')
  else {
    lines.push('Findings')
    for (const x of r.findings) {
      lines.push(`  ${x.severity.padEnd(8)}${x.host === null ? '' : `${x.host} `}${x.code}: ${x.message}`)
    }
  }
  lines.push('')
  lines.push(summaryLine(r.findings, r.exitCode))
  return `${lines.join('\n')}\n`
}

function hostLines(h: DoctorHostReport, sslmode: string): string[] {
  if (!h.reachable || h.facts === null) return [`${h.host}  DOWN: ${h.error?.message ?? 'no answer'}`]
  const lag =
    h.lag === null
      ? ''
      : `, ${h.lag.bytes} bytes behind the primary` +
        `${h.lag.bytes > 0 ? ` (last replayed transaction ${h.lag.seconds.toFixed(0)} s old)` : ''}`
  const paused = h.replayPaused === true ? ', replay paused' : ''
  const lines = [`${h.host}  ${h.role}, ${h.readOnly ? 'read-only' : 'read-write'}${lag}${paused}`]
  const l = h.facts.limits
  lines.push(
    ...serverLines(
      h.facts,
      sslmode,
      h.local,
      Math.max(0, l.maxConnections - l.superuserReserved - l.reserved),
    ),
  )
  const b = h.budget
  lines.push(`  points here   ${h.demand.basis}`)
  lines.push(
    b === null
      ? '  budget        nothing of this service'
      : `  budget        ${h.demand.pool} pool + ${h.demand.probe} probe = ${b.demand} of ${b.available} available` +
          `${b.overBudget ? ': OVER BUDGET' : ''}; per-instance budget ${b.perInstanceBudget}, ` +
          `recommended maxConns ${b.recommendedMaxConns} here`,
  )
  return lines
}
