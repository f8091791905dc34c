/**
 * Postgres query benchmark: queries per second and per-call latency for berth/pg (multiplexed,
 * `pipeline: true`, and one connection per query, `pipeline: false`), pg-pool and postgres.js, at
 * several numbers of concurrent callers, against one embedded PostgreSQL that the benchmark starts
 * and destroys. Every library runs in the same process, the same run and against the same server.
 *
 *   npm run bench:pg                          # everything, default settings (a few minutes)
 *   npm run bench:pg -- --quick               # smoke test
 *   npm run bench:pg -- --libs pg-pool,postgres.js --queries select1
 *   npm run bench:pg -- --write               # also update bench/RESULTS.md
 *   npm run bench:pg -- --help
 *
 * Workload: `c` callers each loop `await query(...)` on a pool of at most 8 connections. Every
 * result is checked (a library that returns the wrong rows fails the run instead of being
 * measured). See bench/README.md.
 *
 * This file is the driver: the workloads, the libraries, the rounds and the run loop are those of
 * `berth bench` (src/cli/bench-*.ts), run here on a throwaway server; bench/pg-report.ts renders
 * the markdown.
 */

import { parseArgs } from 'node:util'
import { LIBRARY_NAMES, loadLibraries } from '../src/cli/bench-clients.js'
import { buildReport } from '../src/cli/bench-report.js'
import { openBenchAdmin, runRounds } from '../src/cli/bench-rounds.js'
import { WORKLOAD_NAMES, accountsTable, createWorkloads } from '../src/cli/bench-workloads.js'
import { resolveTarget } from '../src/cli/pg-target.js'
import type { PgPool } from '../src/pg/pg-pool.js'
import { type PostgresServer, startPostgres } from '../src/testing/postgres-server.js'
import {
  COMMON_FLAGS,
  RESULTS_FILE,
  commandLine,
  countFlag,
  failUsage,
  machineInfo,
  machineLine,
  parseList,
  readBenchFlags,
  selectLibs,
  writeResultsSection,
} from './harness.js'
import { renderPgReport } from './pg-report.js'

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const HELP = `Usage: npm run bench:pg -- [options]

  --libs <list>           libraries, comma-separated (alias --only)
                          default: berth,berth-nopipe,pg-pool,postgres.js
                          (berth = pipeline: true, berth-nopipe = pipeline: false)
  --queries <list>        workloads, default select1,pk,range
  --concurrency <list>    concurrent callers, default 1,64,512
  --size <n>              most connections per pool, default 8
  --runs <n>              repeats per cell (medians and paired ratios), default 3
  --time <ms>             timed phase bound in ms, default 2000
  --ops <n>               timed phase bound in queries, default 1M
  --warmup <ms>           warm-up bound in ms, default 300
  --warmup-ops <n>        warm-up bound in queries, default 50k
  --quick                 smoke test: 2 runs, 500 ms timed, 100 ms warm-up
  --write                 replace the "pg" section of bench/RESULTS.md with this run
  --help                  this text
`

const isQueryName = (name: string): name is (typeof WORKLOAD_NAMES)[number] =>
  (WORKLOAD_NAMES as readonly string[]).includes(name)

function fail(message: string): never {
  return failUsage('pg', message)
}

const flags = readBenchFlags(
  'pg',
  HELP,
  () =>
    parseArgs({
      options: {
        libs: { type: 'string' },
        only: { type: 'string' },
        queries: { type: 'string', default: WORKLOAD_NAMES.join(',') },
        concurrency: { type: 'string', default: '1,64,512' },
        size: { type: 'string', default: '8' },
        runs: { type: 'string' },
        time: { type: 'string' },
        ops: { type: 'string', default: '1M' },
        warmup: { type: 'string' },
        'warmup-ops': { type: 'string', default: '50k' },
        ...COMMON_FLAGS,
      },
      strict: true,
    }).values,
)

function count(value: string, flag: string): number {
  return countFlag('pg', value, flag)
}

const selectedLibs = selectLibs('pg', LIBRARY_NAMES, flags.libs ?? flags.only)
if (selectedLibs.length === 0) fail('--libs: nothing to measure')
const queryNames = parseList(flags.queries)
for (const name of queryNames) {
  if (!isQueryName(name)) fail(`--queries: unknown workload '${name}' (known: ${WORKLOAD_NAMES.join(', ')})`)
}
const selectedQueries = WORKLOAD_NAMES.filter((name) => queryNames.includes(name))
if (selectedQueries.length === 0) fail('--queries: nothing to measure')
const concurrencies = parseList(flags.concurrency).map((c) => count(c, 'concurrency'))
if (concurrencies.length === 0) fail('--concurrency: expected at least one value')
const size = count(flags.size, 'size')
const runs = count(flags.runs ?? (flags.quick ? '2' : '3'), 'runs')
const warmup = {
  maxMs: count(flags.warmup ?? (flags.quick ? '100' : '300'), 'warmup'),
  maxOps: count(flags['warmup-ops'], 'warmup-ops'),
}
const timed = {
  maxMs: count(flags.time ?? (flags.quick ? '500' : '2000'), 'time'),
  maxOps: count(flags.ops, 'ops'),
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/** Rows of the accounts table: ids 1..ROWS. */
const ROWS = 10_000
/** The libraries' sessions carry this name, so that the rounds can count them on the server. */
const applicationName = `bench:pg ${process.pid}`
const log = (line: string) => process.stderr.write(`${line}\n`)

const machine = machineInfo()
const command = commandLine('bench/pg.ts')
log(
  `bench:pg: ${selectedLibs.join(', ')}; ${selectedQueries.join(', ')}; ` +
    `callers ${concurrencies.join(', ')}; ${runs} runs per cell\n${machineLine(machine)}`,
)

let server: PostgresServer | undefined
let admin: PgPool | undefined
try {
  log('starting PostgreSQL...')
  server = await startPostgres({ postgresFlags: { max_connections: 200 } })
  const target = resolveTarget(server.url, {}, process.env)
  admin = await openBenchAdmin(target, applicationName)
  // A plain, logged table, vacuumed: the table the figures in RESULTS.md were measured on.
  const seed = [
    'drop table if exists accounts',
    ...accountsTable('accounts', ROWS, 'logged'),
    'vacuum analyze accounts',
  ]
  for (const statement of seed) await admin.exec(statement)
  const serverVersion = (await admin.queryRow<{ v: string }>(
    "select current_setting('server_version') as v",
  ))!.v
  log(`PostgreSQL ${serverVersion} on 127.0.0.1:${server.port}, ${ROWS} accounts`)

  const libraries = await loadLibraries(target, selectedLibs, { size, applicationName })
  for (const lib of libraries) {
    if (lib.unavailable !== undefined) log(`  ${lib.label}: n/a (${lib.unavailable})`)
  }
  const workloads = createWorkloads('accounts', ROWS)
  const { samples, problems } = await runRounds(
    {
      libraries: libraries.filter((l) => l.unavailable === undefined),
      workloads: selectedQueries.map((q) => workloads[q]),
      concurrency: concurrencies,
      runs,
      phases: { warmup, timed },
      size,
    },
    { admin, applicationName, log },
  )
  const settings = {
    size,
    runs,
    durationMs: timed.maxMs,
    warmupMs: warmup.maxMs,
    concurrency: concurrencies,
    workloads: selectedQueries,
    rows: ROWS,
  }
  const report = buildReport(
    `127.0.0.1:${server.port}`,
    serverVersion,
    settings,
    libraries,
    samples,
    problems,
  )
  const text = renderPgReport(report, { machine, command, warmup, timed, workloads })
  process.stdout.write(`\n${text}\n`)
  if (flags.write) {
    writeResultsSection('pg', text)
    log(`\nwrote the "pg" section of ${RESULTS_FILE}`)
  }
  process.exitCode = report.exitCode
} finally {
  await admin?.close({ timeoutMs: 5_000 }).catch(() => {})
  await server?.destroy()
}
