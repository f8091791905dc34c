/**
 * `berth bench <postgres-url>`: bench:pg's comparison against the person's own server. Connects,
 * checks that the pools fit in the free connections, creates its table in a schema of its own
 * (only for the workloads that need one), measures every cell in interleaved rounds, drops the
 * schema, and reports medians and paired ratios.
 */
import type { PgPool } from '../pg/pg-pool.js'
import { type LibraryName, loadLibraries } from './bench-clients.js'
import { type BenchSettings, buildReport, renderBenchReport } from './bench-report.js'
import { openBenchAdmin, runRounds } from './bench-rounds.js'
import {
  type WorkloadName,
  benchSchemaName,
  createWorkloads,
  dropStatement,
  seedStatements,
} from './bench-workloads.js'
import { CliError } from './cli-error.js'
import { type CommandIo, reportFailure } from './command-io.js'
import { ExitCode } from './exit-codes.js'
import { type PgTarget, resolveTarget, secretsOf } from './pg-target.js'

export interface BenchOptions extends Omit<BenchSettings, 'workloads'> {
  readonly workloads: readonly WorkloadName[]
  readonly libraries: readonly LibraryName[]
  readonly connectTimeoutMs: number
  /** Allows creating the bench's schema on a server that is not on this machine. */
  readonly yes: boolean
  readonly json: boolean
}

/**
 * Runs `berth bench` against `url` and prints the report on `io.stdout` (progress on stderr).
 *
 * @returns the exit status: 0, 1 when a run failed or a pool misbehaved, or the failure's status
 */
export async function runBench(url: string, options: BenchOptions, io: CommandIo): Promise<number> {
  let target: PgTarget | undefined
  let admin: PgPool | undefined
  let schema: string | undefined
  const log = (line: string) => io.stderr.write(`${line}\n`)
  try {
    target = resolveTarget(url, { connectTimeout: options.connectTimeoutMs }, io.env)
    const schemaName = benchSchemaName()
    const workloads = createWorkloads(`${schemaName}.accounts`, options.rows)
    const needsTable = options.workloads.some((w) => workloads[w].needsTable)
    if (needsTable && !target.local && !options.yes) {
      throw new CliError(
        ExitCode.usage,
        `bench creates a table in a temporary schema on ${target.target} and drops it at the end: pass --yes to allow that on a server that is not on this machine (or --queries select1, which writes nothing)`,
      )
    }
    const applicationName = `berth bench ${process.pid}`
    admin = await openBenchAdmin(target, applicationName, options.connectTimeoutMs)
    const db = admin
    const info = (await db.queryRow(SERVER_QUERY)) as Record<string, unknown>
    const serverVersion = String(info['server_version'])
    // in_use counts the admin connection, which stays open through the runs
    const free = Number(info['available']) - Number(info['in_use'])
    if (free < options.size) {
      throw new CliError(
        ExitCode.serverRefused,
        `bench needs ${options.size} free connections (--size) but the server has ${Math.max(0, free)} ` +
          `(max_connections ${info['max_connections']}, ${info['in_use']} in use, reserved slots excluded)`,
      )
    }
    const libraries = await loadLibraries(target, options.libraries, {
      size: options.size,
      applicationName,
      connectTimeoutMs: options.connectTimeoutMs,
    })
    const measured = libraries.filter((l) => l.unavailable === undefined)
    log(
      `berth bench: ${target.target}, PostgreSQL ${serverVersion}; ${measured.map((l) => l.label).join(', ')}`,
    )
    if (needsTable) {
      log(`creating schema ${schemaName} (${options.rows} rows; dropped at the end)`)
      schema = schemaName
      for (const statement of seedStatements(schemaName, options.rows)) await db.exec(statement)
    }
    const { samples, problems } = await runRounds(
      {
        libraries: measured,
        workloads: options.workloads.map((w) => workloads[w]),
        concurrency: options.concurrency,
        runs: options.runs,
        phases: {
          warmup: { maxMs: options.warmupMs, maxOps: Number.POSITIVE_INFINITY },
          timed: { maxMs: options.durationMs, maxOps: Number.POSITIVE_INFINITY },
        },
        size: options.size,
      },
      { admin: db, applicationName, log, signal: io.signal },
    )
    const report = buildReport(
      target.target,
      serverVersion,
      settingsOf(options),
      libraries,
      samples,
      problems,
    )
    io.stdout.write(
      options.json ? `${JSON.stringify(report, null, 2)}\n` : renderBenchReport(report, workloads),
    )
    return report.exitCode
  } catch (err) {
    const context = target ?? { secrets: secretsOf(url, io.env) }
    return reportFailure(io, 'bench', err, context, options.json)
  } finally {
    if (schema !== undefined && admin !== undefined) {
      // Cleanup runs after Ctrl-C too: the interrupt signal is not passed here.
      await admin.exec(dropStatement(schema)).then(
        () => log(`dropped schema ${schema}`),
        () => log(`could not drop schema ${schema}: drop it by hand (${dropStatement(schema!)})`),
      )
    }
    await admin?.close({ timeoutMs: 5_000 }).catch(() => {})
  }
}

const SERVER_QUERY = `select current_setting('server_version') as server_version,
  current_setting('max_connections')::int as max_connections,
  current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
    - coalesce(current_setting('reserved_connections', true), '0')::int as available,
  (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as in_use`

function settingsOf(o: BenchOptions): BenchSettings {
  return {
    size: o.size,
    runs: o.runs,
    durationMs: o.durationMs,
    warmupMs: o.warmupMs,
    concurrency: o.concurrency,
    workloads: o.workloads,
    rows: o.rows,
  }
}
