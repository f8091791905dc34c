/**
 * `berth bench <postgres-url>`: bench:pg's comparison against the person's own server. Connects,
 * checks that the pools fit in the free connections, creates its table in a schema of its own
 * (only for the workloads that need one), measures every cell in interleaved rounds, drops the
 * schema, and reports medians and paired ratios.
 */
import type { PgPool } from '../pg/pg-pool.js'
import { type BenchLibrary, type LibraryName, loadLibraries } from './bench-clients.js'
import { measure } from './bench-measure.js'
import {
  type BenchSettings,
  type SampleTable,
  buildReport,
  cellKey,
  renderBenchReport,
} from './bench-report.js'
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
import { type PgTarget, openPool, resolveTarget, secretsOf } from './pg-target.js'

export interface BenchOptions extends Omit<BenchSettings, 'workloads'> {
  readonly workloads: readonly WorkloadName[]
  readonly libraries: readonly LibraryName[]
  readonly connectTimeoutMs: number
  /** Allows creating the bench's schema on a server that is not on this machine. */
  readonly yes: boolean
  readonly json: boolean
}

const CLOSE_WAIT_MS = 5_000

export async function runBench(url: string, options: BenchOptions, io: CommandIo): Promise<number> {
  let target: PgTarget | undefined
  let admin: PgPool | undefined
  let schema: string | undefined
  const log = (line: string) => io.stderr.write(`${line}\n`)
  try {
    target = resolveTarget(url, { connectTimeout: options.connectTimeoutMs }, io.env)
    const schemaName = benchSchemaName()
    const workloads = createWorkloads(schemaName, options.rows)
    const needsTable = options.workloads.some((w) => workloads[w].needsTable)
    if (needsTable && !target.local && !options.yes) {
      throw new CliError(
        ExitCode.usage,
        `bench creates a table in a temporary schema on ${target.target} and drops it at the end: pass --yes to allow that on a server that is not on this machine (or --queries select1, which writes nothing)`,
      )
    }
    const applicationName = `berth bench ${process.pid}`
    admin = await openPool(target, {
      name: 'bench-admin',
      maxConns: 1,
      minConns: 0,
      minIdleConns: 0,
      pipeline: false,
      budgetCheck: false,
      applicationName: `${applicationName} admin`,
      connectTimeout: options.connectTimeoutMs,
      acquireTimeout: options.connectTimeoutMs + 5_000,
    })
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
    const samples: SampleTable = new Map()
    const problems: string[] = []
    for (let round = 0; round < options.runs; round++) {
      for (const w of options.workloads) {
        for (const c of options.concurrency) {
          for (const lib of rotate(measured, round)) {
            const where = `${lib.name} ${w} c=${c} run ${round + 1}/${options.runs}`
            const sample = await measureCell(lib, workloads[w], c, options, io.signal, where, problems, log)
            const left = await sessionsGone(db, applicationName, io.signal)
            if (left > 0)
              problems.push(
                `${where}: ${left} connection(s) still open ${CLOSE_WAIT_MS / 1000} s after close`,
              )
            const key = cellKey(lib.name, w, c)
            samples.set(key, [...(samples.get(key) ?? []), sample])
          }
        }
      }
    }
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

async function measureCell(
  lib: BenchLibrary,
  workload: ReturnType<typeof createWorkloads>[WorkloadName],
  concurrency: number,
  options: BenchOptions,
  signal: AbortSignal,
  where: string,
  problems: string[],
  log: (line: string) => void,
) {
  const client = lib.make()
  try {
    const s = await measure(client, workload, concurrency, options, signal)
    log(
      `  ${where.padEnd(34)} ${Math.round(s.qps).toString().padStart(7)} q/s  ` +
        `p50 ${s.p50Ms.toFixed(2)} ms  p99 ${s.p99Ms.toFixed(2)} ms`,
    )
    return s
  } catch (err) {
    if (signal.aborted) throw signal.reason
    const message = err instanceof Error ? err.message : String(err)
    problems.push(`${where}: ${message.split('\n')[0]}`)
    log(`  ${where.padEnd(34)} FAILED: ${message.split('\n')[0]}`)
    return null
  } finally {
    await Promise.race([client.close().catch(() => {}), delay(10_000)])
  }
}

/** Waits (bounded) until the bench's own sessions are gone, so one library's teardown does not overlap the next run. */
async function sessionsGone(db: PgPool, applicationName: string, signal: AbortSignal): Promise<number> {
  const deadline = performance.now() + CLOSE_WAIT_MS
  for (;;) {
    const row = await db.queryRow<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where application_name = $1',
      [applicationName],
    )
    const n = row?.n ?? 0
    if (n === 0 || performance.now() > deadline || signal.aborted) return n
    await delay(20)
  }
}

function rotate<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return []
  const k = round % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

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
