/** `berth doctor <postgres-url>`: read the server's limits and sessions, measure, recommend, warn. */
import { assessBudget } from '../pg/budget.js'
import { parseConnectionString } from '../pg/connection-string.js'
import type { PgPoolOptions } from '../pg/pg-pool-options.js'
import type { PgPool } from '../pg/pg-pool.js'
import { CliError } from './cli-error.js'
import { type CommandIo, reportFailure } from './command-io.js'
import { renderClusterReport } from './doctor-cluster-report.js'
import { type DoctorClusterReport, buildClusterReport } from './doctor-cluster.js'
import { findPitfalls } from './doctor-findings.js'
import { probeHosts } from './doctor-hosts.js'
import { probeServer } from './doctor-probe.js'
import { type DoctorReport, renderDoctorReport } from './doctor-report.js'
import { ExitCode } from './exit-codes.js'
import { type PgTarget, hostForUrl, openPool, resolveTarget, secretsOf } from './pg-target.js'

export interface DoctorOptions {
  /** Instances of the service sharing the server. */
  readonly instances: number
  /** Requests in flight per instance at peak, when known. */
  readonly concurrency?: number
  readonly queriesPerRequest: number
  /** The pool size to judge; default the URL's pool_max_conns or berth's default. */
  readonly maxConns?: number
  /** Round trips and lookups to time. */
  readonly samples: number
  readonly connectTimeoutMs: number
  readonly json: boolean
  /**
   * The URL is createPgCluster's: every host has a pool and a role probe. Otherwise createPgPool's:
   * one pool, on the first host that fits target_session_attrs.
   */
  readonly cluster?: boolean
}

/** The application_name of the doctor's own session, which its counts leave out. */
export const DOCTOR_APPLICATION_NAME = 'berth doctor'

/** Runs the doctor and returns the exit status; failures are reported on `io`, never thrown. */
export async function runDoctor(url: string, options: DoctorOptions, io: CommandIo): Promise<number> {
  let target: PgTarget | undefined
  let db: PgPool | undefined
  try {
    target = resolveTarget(url, { connectTimeout: options.connectTimeoutMs }, io.env)
    const probePool = {
      name: 'berth-doctor',
      connectTimeout: options.connectTimeoutMs,
      applicationName: DOCTOR_APPLICATION_NAME,
      maxConns: 1,
      minConns: 0,
      minIdleConns: 0,
      pipeline: false,
      budgetCheck: false,
      acquireTimeout: options.connectTimeoutMs + 5_000,
    }
    if (options.cluster === true || target.config.hosts.length > 1) {
      const report = await doctorHosts(target, probePool, options, urlSetsMaxConns(url), io.signal)
      io.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderClusterReport(report))
      return report.exitCode
    }
    db = await openPool(target, probePool)
    const facts = await probeServer(db, options.samples, io.signal)
    const maxConns = options.maxConns ?? target.config.pool.max
    const budget = assessBudget(facts.limits, maxConns, {
      instances: options.instances,
      concurrency: options.concurrency,
      queriesPerRequest: options.queriesPerRequest,
    })
    const findings = findPitfalls({ facts, budget, local: target.local, sslmode: target.config.sslmode })
    const report: DoctorReport = {
      target: target.target,
      local: target.local,
      sslmode: target.config.sslmode,
      facts,
      budget,
      maxConnsSource: options.maxConns !== undefined ? 'option' : urlSetsMaxConns(url) ? 'url' : 'default',
      concurrency: options.concurrency ?? null,
      queriesPerRequest: options.queriesPerRequest,
      recommendation: {
        poolMaxConns: budget.recommendedMaxConns,
        basis: options.concurrency === undefined ? 'budget' : 'load',
        urlParameter: `pool_max_conns=${budget.recommendedMaxConns}`,
      },
      findings,
      exitCode: findings.some((f) => f.severity === 'warning') ? ExitCode.findings : ExitCode.ok,
    }
    io.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctorReport(report))
    return report.exitCode
  } catch (err) {
    const context = target ?? { secrets: secretsOf(url, io.env) }
    return reportFailure(io, 'doctor', err, context, options.json)
  } finally {
    await db?.close({ timeoutMs: 5_000 }).catch(() => {})
  }
}

/**
 * Every host of the URL at once: its role, facts and budget against what points at it.
 * @throws CliError with the first host's error when no host answered; PgConfigError for a URL
 *   createPgCluster refuses (with --cluster)
 */
async function doctorHosts(
  target: PgTarget,
  probePool: PgPoolOptions,
  options: DoctorOptions,
  urlMaxConns: boolean,
  signal: AbortSignal,
): Promise<DoctorClusterReport> {
  const mode = options.cluster === true ? 'cluster' : 'pool'
  if (mode === 'cluster') {
    const { resolvePgClusterOptions } = await import('../pg/cluster-options.js')
    resolvePgClusterOptions(target.url, { connectTimeout: options.connectTimeoutMs })
  }
  const { sessionMatches } = await import('../pg/pg-hosts.js')
  const probes = await probeHosts(target, probePool, options.samples, signal)
  const answered = probes.some((p) => p.reachable)
  if (!answered && probes[0]?.error) throw new CliError(probes[0].error.exitCode, probes[0].error.message)
  const c = target.config.client
  const list = target.config.hosts.map((h) => `${hostForUrl(h.host)}:${h.port}`)
  return buildClusterReport(probes, {
    target: `${c.user ?? ''}@${list.join(',')}/${c.database ?? ''}`,
    mode,
    targetSessionAttrs: target.config.targetSessionAttrs,
    loadBalanceHosts: target.config.loadBalanceHosts,
    sslmode: target.config.sslmode,
    maxConns: options.maxConns ?? target.config.pool.max,
    maxConnsSource: options.maxConns !== undefined ? 'option' : urlMaxConns ? 'url' : 'default',
    instances: options.instances,
    concurrency: options.concurrency,
    queriesPerRequest: options.queriesPerRequest,
    matches: sessionMatches,
  })
}

function urlSetsMaxConns(url: string): boolean {
  try {
    return parseConnectionString(url).params.has('pool_max_conns')
  } catch {
    return false
  }
}
