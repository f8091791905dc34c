/** The report of `berth doctor`: its JSON shape and its rendering for people. */
import type { BudgetReport } from '../pg/budget.js'
import { formatMs, textTable } from './cli-stats.js'
import type { Finding } from './doctor-findings.js'
import type { ServerFacts } from './doctor-probe.js'

export interface DoctorRecommendation {
  /** pool_max_conns per instance, by the seed's formula. */
  readonly poolMaxConns: number
  /** `'load'`: from --concurrency × --queries-per-request; `'budget'`: the per-instance share alone. */
  readonly basis: 'load' | 'budget'
  /** The connection-string parameter to use. */
  readonly urlParameter: string
}

/** `berth doctor --json` prints this object. */
export interface DoctorReport {
  /** `user@host:port/database`, no password. */
  readonly target: string
  readonly local: boolean
  readonly sslmode: string
  readonly facts: ServerFacts
  /** `assessBudget()` of the pool size judged. */
  readonly budget: BudgetReport
  /** Where the pool size judged came from. */
  readonly maxConnsSource: 'option' | 'url' | 'default'
  readonly concurrency: number | null
  readonly queriesPerRequest: number
  readonly recommendation: DoctorRecommendation
  readonly findings: readonly Finding[]
  readonly exitCode: number
}

export const SOURCES: Record<DoctorReport['maxConnsSource'], string> = {
  option: '--max-conns',
  url: 'pool_max_conns in the URL',
  default: "berth's default on this machine",
}

export function renderDoctorReport(r: DoctorReport): string {
  const lines: string[] = []
  lines.push(`berth doctor: ${r.target}`)
  lines.push('')
  lines.push(...serverLines(r.facts, r.sslmode, r.local, r.budget.available))
  const b = r.budget
  lines.push('')
  lines.push(
    'Recommendation (the seed: pool_max_conns = min(concurrency x queries per request, available / instances))',
  )
  lines.push(
    `  inputs        instances ${b.instances}, concurrency ${r.concurrency ?? 'not given'}, ` +
      `queries per request ${r.queriesPerRequest}; per-instance budget ${b.perInstanceBudget}`,
  )
  lines.push(
    `  pool judged   maxConns ${b.maxConns} (${SOURCES[r.maxConnsSource]}) x ${b.instances} = ${b.demand} ` +
      `of ${b.available}${b.overBudget ? ': OVER BUDGET' : ''}`,
  )
  lines.push(recommendedLine(r.recommendation))
  lines.push('')
  if (r.findings.length === 0) lines.push('No pitfalls found.')
  else {
    lines.push('Findings')
    for (const x of r.findings) lines.push(`  ${x.severity.padEnd(8)}${x.code}: ${x.message}`)
  }
  lines.push('')
  lines.push(summaryLine(r.findings, r.exitCode))
  return `${lines.join('\n')}\n`
}

/** The server, limits, timeouts, latency and sessions lines of one server's report. */
export function serverLines(f: ServerFacts, sslmode: string, local: boolean, available: number): string[] {
  const l = f.limits
  const reserved = l.superuserReserved + l.reserved
  const inUse = f.connections.reduce((n, c) => n + c.total, 0)
  const tls = f.ssl ? `yes (${f.sslVersion ?? 'TLS'})` : `no (sslmode=${sslmode}${local ? ', local' : ''})`
  const lines: string[] = []
  lines.push(
    `  server        PostgreSQL ${f.serverVersion}; encrypted: ${tls}; superuser: ${f.superuser ? 'yes' : 'no'}`,
  )
  lines.push(
    `  limits        max_connections ${l.maxConnections}, superuser_reserved_connections ${l.superuserReserved}` +
      `, reserved_connections ${l.reserved}: ${available} available to applications`,
  )
  lines.push(
    `  timeouts      statement_timeout ${offOr(f.statementTimeoutMs)}, ` +
      `idle_in_transaction_session_timeout ${offOr(f.idleInTransactionTimeoutMs)}`,
  )
  lines.push(
    `  latency       connect ${formatMs(f.connectMs)}; round trip (select 1 x${f.roundTrip.samples}) ` +
      `median ${formatMs(f.roundTrip.median)}, p99 ${formatMs(f.roundTrip.p99)}; ` +
      `catalog lookup (x${f.query.samples}) median ${formatMs(f.query.median)}, p99 ${formatMs(f.query.p99)}`,
  )
  lines.push(`  connections   ${inUse} open now besides this one (${reserved} reserved slots not counted)`)
  if (f.connections.length > 0) {
    lines.push('')
    lines.push(
      textTable(
        ['application_name', 'total', 'active', 'idle', 'idle in tx', 'hidden'],
        f.connections.map((c) => [
          c.application === '' ? '(none)' : c.application,
          String(c.total),
          String(c.active),
          String(c.idle),
          String(c.idleInTransaction),
          String(c.hidden),
        ]),
        '    ',
      ),
    )
  }
  return lines
}

export function recommendedLine(rec: DoctorRecommendation): string {
  const n = rec.poolMaxConns
  return rec.basis === 'load'
    ? `  recommended   pool_max_conns=${n} per instance (sized by the load you gave)`
    : `  recommended   pool_max_conns <= ${n} per instance (the per-instance share; pass --concurrency to size the pool by the load)`
}

/** The closing line: counts and the exit status. */
export function summaryLine(findings: readonly Finding[], exitCode: number): string {
  const warnings = findings.filter((x) => x.severity === 'warning').length
  return `${plural(warnings, 'warning')}, ${plural(findings.length - warnings, 'note')}; exit status ${exitCode}`
}

function offOr(ms: number): string {
  return ms === 0 ? 'off' : formatMs(ms)
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
