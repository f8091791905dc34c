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
 */

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { type RecordableHistogram, createHistogram } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import pg from 'pg'
import postgres from 'postgres'
import type { PostgresServer } from '../src/testing/postgres-server.js'
import {
  PAIRED_LEGEND,
  RESULTS_FILE,
  type RunControl,
  type RunOptions,
  clearlySlower,
  collectGarbage,
  commandLine,
  countFlag,
  failUsage,
  formatCount,
  formatPaired,
  formatPercent,
  formatRate,
  formatRatio,
  machineInfo,
  machineLine,
  markdownTable,
  median,
  pairedRatios,
  parseList,
  rotate,
  roundsAtLeast,
  runWorkers,
  selectLibs,
  settlesWithin,
  slowerRule,
  spread,
  writeResultsSection,
} from './harness.js'

const require = createRequire(import.meta.url)

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

const ALL_LIBS = ['berth', 'berth-nopipe', 'pg-pool', 'postgres.js'] as const
type LibName = (typeof ALL_LIBS)[number]
const ALL_QUERIES = ['select1', 'pk', 'range'] as const
type QueryName = (typeof ALL_QUERIES)[number]

const isQueryName = (name: string): name is QueryName => (ALL_QUERIES as readonly string[]).includes(name)

function fail(message: string): never {
  return failUsage('pg', message)
}

function parseFlags() {
  try {
    return parseArgs({
      options: {
        libs: { type: 'string' },
        only: { type: 'string' },
        queries: { type: 'string', default: ALL_QUERIES.join(',') },
        concurrency: { type: 'string', default: '1,64,512' },
        size: { type: 'string', default: '8' },
        runs: { type: 'string' },
        time: { type: 'string' },
        ops: { type: 'string', default: '1M' },
        warmup: { type: 'string' },
        'warmup-ops': { type: 'string', default: '50k' },
        quick: { type: 'boolean', default: false },
        write: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values
  } catch (err) {
    return fail(`${(err as Error).message}\n\n${HELP}`)
  }
}

const flags = parseFlags()

if (flags.help) {
  process.stdout.write(HELP)
  process.exit(0)
}

function count(value: string, flag: string): number {
  return countFlag('pg', value, flag)
}

const selectedLibs = selectLibs('pg', ALL_LIBS, flags.libs ?? flags.only)
if (selectedLibs.length === 0) fail('--libs: nothing to measure')
const queryNames = parseList(flags.queries)
for (const name of queryNames) {
  if (!isQueryName(name)) fail(`--queries: unknown workload '${name}' (known: ${ALL_QUERIES.join(', ')})`)
}
const selectedQueries = ALL_QUERIES.filter((name) => queryNames.includes(name))
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
const NO_PHASE = { maxOps: 0, maxMs: 0 }

// ---------------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------------

/** Rows of the accounts table: ids 1..ROWS. */
const ROWS = 10_000
const RANGE = 10

type Row = Record<string, unknown>

interface Workload {
  readonly name: QueryName
  /** The SQL as the pg-based libraries send it (postgres.js sends the same statement, see below). */
  readonly text: string
  /** The parameter of one call (undefined: none). */
  param(): number | undefined
  /** Throws unless `rows` is the right answer for `param`. */
  check(rows: readonly Row[], param: number | undefined): void
}

const randomInt = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1))

class WrongResultError extends Error {
  override readonly name = 'WrongResultError'
}

function wrong(workload: string, param: number | undefined, rows: readonly Row[]): never {
  const shown = JSON.stringify(rows.slice(0, 3))
  throw new WrongResultError(
    `${workload}(${param ?? ''}): wrong result, ${rows.length} rows: ${shown.slice(0, 200)}`,
  )
}

const WORKLOADS: Record<QueryName, Workload> = {
  select1: {
    name: 'select1',
    text: 'select 1',
    param: () => undefined,
    check(rows, param) {
      if (rows.length !== 1 || rows[0]!['?column?'] !== 1) wrong('select1', param, rows)
    },
  },
  pk: {
    name: 'pk',
    text: 'select id, name, balance from accounts where id = $1',
    param: () => randomInt(1, ROWS),
    check(rows, param) {
      const row = rows[0]
      if (rows.length !== 1 || row!['id'] !== param || row!['name'] !== `account ${param}`) {
        wrong('pk', param, rows)
      }
    },
  },
  range: {
    name: 'range',
    text: `select * from accounts where id between $1 and $1 + ${RANGE - 1}`,
    param: () => randomInt(1, ROWS - RANGE + 1),
    check(rows, param) {
      if (rows.length !== RANGE) wrong('range', param, rows)
      const lo = param!
      for (const row of rows) {
        const id = row['id'] as number
        if (!(id >= lo && id < lo + RANGE)) wrong('range', param, rows)
      }
    },
  },
}

const QUERY_TITLES: Record<QueryName, string> = {
  select1: '`select 1`',
  pk: 'primary-key select (`select id, name, balance from accounts where id = $1`, random id)',
  range: `${RANGE}-row select (\`select * from accounts where id between $1 and $1 + ${RANGE - 1}\`)`,
}
const QUERY_SHORT: Record<QueryName, string> = {
  select1: 'select 1',
  pk: 'pk select',
  range: '10-row select',
}

// ---------------------------------------------------------------------------------------------
// The libraries
// ---------------------------------------------------------------------------------------------

/** One pool of one library, for one run. */
interface Client {
  run(workload: QueryName, param: number | undefined): Promise<readonly Row[]>
  /** Graceful close. */
  close(): Promise<unknown>
  /** Forced close, when `close` did not finish in time. */
  destroy(): Promise<unknown>
}

interface Library {
  readonly name: LibName
  readonly label: string
  /** Why the library cannot be measured in this run (cells are reported as n/a), if it cannot. */
  unavailable?: string
  make(url: string): Client
}

function packageVersion(name: string): string {
  try {
    const main = require.resolve(name)
    const root = main.slice(0, main.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}/`.length)
    return (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

const pgPoolLib: Library = {
  name: 'pg-pool',
  label: `pg-pool ${packageVersion('pg-pool')} (pg ${packageVersion('pg')})`,
  make(url) {
    const pool = new pg.Pool({ connectionString: url, max: size })
    // An idle client's error must not crash the benchmark; a failing query rejects anyway.
    pool.on('error', () => {})
    return {
      async run(workload, param) {
        const text = WORKLOADS[workload].text
        const result = await (param === undefined ? pool.query(text) : pool.query(text, [param]))
        return result.rows as Row[]
      },
      close: () => pool.end(),
      destroy: () => pool.end(),
    }
  },
}

/**
 * postgres.js in its normal mode: tagged templates, which it sends as named prepared statements
 * (`prepare: true` is its default), so it parses each statement once per connection. The ten-row
 * select becomes `between $1 and $2 + 9` with the same value twice: a tagged template cannot
 * reuse a parameter.
 */
const postgresJsLib: Library = {
  name: 'postgres.js',
  label: `postgres.js ${packageVersion('postgres')}`,
  make(url) {
    const sql = postgres(url, { max: size })
    return {
      run(workload, param) {
        switch (workload) {
          case 'select1':
            return sql`select 1`
          case 'pk':
            return sql`select id, name, balance from accounts where id = ${param!}`
          case 'range':
            // RANGE - 1 = 9, written out: an interpolation would be one more parameter
            return sql`select * from accounts where id between ${param!} and ${param!} + 9`
        }
      },
      close: () => sql.end({ timeout: 5 }),
      destroy: () => sql.end({ timeout: 0 }),
    }
  },
}

type BerthPg = typeof import('../src/pg/index.js')

async function loadBerth(): Promise<BerthPg | Error> {
  try {
    return await import('../src/pg/index.js')
  } catch (err) {
    return err as Error
  }
}

function berthLib(mod: BerthPg | Error, pipeline: boolean): Library {
  const name: LibName = pipeline ? 'berth' : 'berth-nopipe'
  const label = `berth (pipeline: ${pipeline})`
  if (mod instanceof Error) {
    return {
      name,
      label,
      unavailable: `cannot load src/pg/index.ts: ${mod.message.split('\n')[0]}`,
      make: () => {
        throw mod
      },
    }
  }
  // Typed loosely so this compiles before and after the option is added to PgPoolOptions.
  const options: Parameters<BerthPg['createPgPool']>[1] & { pipeline: boolean } = { maxConns: size, pipeline }
  const lib: Library = {
    name,
    label,
    make(url) {
      const db = mod.createPgPool(url, options)
      return {
        async run(workload, param) {
          const text = WORKLOADS[workload].text
          const result = await (param === undefined ? db.query(text) : db.query(text, [param]))
          return result.rows
        },
        close: () => db.close(),
        destroy: () => db.destroy(),
      }
    },
  }
  // The option may not exist yet: then createPgPool throws PgConfigError ('is not an option').
  try {
    void mod.createPgPool('postgres://u:p@127.0.0.1:1/db', options).destroy()
  } catch (err) {
    const e = err as Error & { field?: unknown }
    lib.unavailable =
      err instanceof mod.PgConfigError && e.field === 'pipeline'
        ? `\`createPgPool(url, { pipeline: ${pipeline} })\` is rejected: ${e.message}`
        : `createPgPool failed: ${e.message}`
  }
  return lib
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

async function startServer(): Promise<PostgresServer> {
  const { startPostgres } = await import('../src/testing/postgres-server.js')
  return startPostgres({ postgresFlags: { max_connections: 200 } })
}

async function seed(admin: pg.Client): Promise<void> {
  await admin.query('drop table if exists accounts')
  await admin.query(
    'create table accounts (id integer primary key, name text not null, balance numeric(12, 2) not null, ' +
      'created_at timestamptz not null default now())',
  )
  await admin.query(
    `insert into accounts (id, name, balance)
     select i, 'account ' || i, round((random() * 100000)::numeric, 2) from generate_series(1, ${ROWS}) i`,
  )
  await admin.query('vacuum analyze accounts')
}

/** Client backends other than the admin connection. */
async function openConnections(admin: pg.Client): Promise<number> {
  const r = await admin.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
     where backend_type = 'client backend' and pid <> pg_backend_pid()`,
  )
  return r.rows[0]!.n
}

/** Waits (bounded) until the server has no client backends left but the admin one. */
async function connectionsGone(admin: pg.Client, ms: number): Promise<number> {
  const deadline = performance.now() + ms
  for (;;) {
    const n = await openConnections(admin)
    if (n === 0 || performance.now() > deadline) return n
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

interface Sample {
  readonly qps: number
  /** Per-call latency of the timed phase, µs. */
  readonly p50: number
  readonly p99: number
  /** Server connections open at the end of the timed phase. */
  readonly conns: number
}

const problems: string[] = []

/**
 * `c` callers loop one query each, timing every call. Every result is checked; the latency of a
 * call is recorded only while `hist` is given and the phase is still running.
 */
function caller(
  client: Client,
  workload: Workload,
  hist: RecordableHistogram | undefined,
): (ctl: RunControl) => Promise<void> {
  return async (ctl) => {
    try {
      while (!ctl.stopped) {
        const param = workload.param()
        const start = performance.now()
        const rows = await client.run(workload.name, param)
        const us = (performance.now() - start) * 1000
        workload.check(rows, param)
        if (hist !== undefined && !ctl.stopped) hist.record(Math.max(1, Math.round(us)))
        ctl.tick()
      }
    } catch (err) {
      // Stop the other callers too: the run has failed and the pool is about to be closed.
      ctl.stopped = true
      throw err
    }
  }
}

function runOptions(concurrency: number, measure: RunOptions['measure']): RunOptions {
  return { concurrency, warmup: NO_PHASE, measure, checkEvery: 1 }
}

async function measure(
  lib: Library,
  workload: Workload,
  concurrency: number,
  round: number,
  url: string,
  admin: pg.Client,
): Promise<Sample | undefined> {
  const where = `${lib.name} ${workload.name} c=${concurrency} run ${round + 1}`
  collectGarbage()
  let client: Client
  try {
    client = lib.make(url)
  } catch (err) {
    problems.push(`${where}: cannot create the pool: ${(err as Error).message}`)
    return undefined
  }
  let sample: Sample | undefined
  let peak = Number.NaN
  try {
    // Warm-up: opens the connections (and, for postgres.js, prepares the statement on each) and
    // checks every result before anything is timed. Then the timed phase, with fresh workers.
    await runWorkers(runOptions(concurrency, warmup), caller(client, workload, undefined))
    const hist = createHistogram()
    const result = await runWorkers(runOptions(concurrency, timed), caller(client, workload, hist))
    peak = await openConnections(admin)
    sample = { qps: result.opsPerSec, p50: hist.percentile(50), p99: hist.percentile(99), conns: peak }
    process.stderr.write(
      `  ${where.padEnd(36)} ${formatRate(result.opsPerSec).padStart(6)}/s  p50 ${formatLatency(sample.p50).padStart(8)}` +
        `  p99 ${formatLatency(sample.p99).padStart(8)}  (${result.ops} queries in ${result.ms.toFixed(0)} ms, ${peak} conns)\n`,
    )
  } catch (err) {
    problems.push(`${where}: ${(err as Error).message.split('\n')[0]}`)
    process.stderr.write(`  ${where.padEnd(36)} FAILED: ${(err as Error).message}\n`)
  }
  if (peak > size) problems.push(`${where}: ${peak} connections open on the server (max ${size})`)
  let closed = false
  try {
    closed = await settlesWithin(client.close(), 10_000)
  } catch (err) {
    problems.push(`${where}: close failed: ${(err as Error).message}`)
  }
  if (!closed) {
    problems.push(`${where}: close had not finished after 10 s; destroyed`)
    await settlesWithin(
      client.destroy().catch(() => {}),
      5_000,
    )
  }
  const left = await connectionsGone(admin, 5_000)
  if (left > 0) problems.push(`${where}: ${left} connections still open 5 s after close`)
  return sample
}

function formatLatency(us: number): string {
  if (!Number.isFinite(us)) return '–'
  if (us < 1000) return `${us.toFixed(0)} µs`
  if (us < 10_000) return `${(us / 1000).toFixed(2)} ms`
  if (us < 100_000) return `${(us / 1000).toFixed(1)} ms`
  return `${(us / 1000).toFixed(0)} ms`
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const berthModule = selectedLibs.some((n) => n.startsWith('berth')) ? await loadBerth() : undefined
const allLibraries: Record<LibName, () => Library> = {
  berth: () => berthLib(berthModule!, true),
  'berth-nopipe': () => berthLib(berthModule!, false),
  'pg-pool': () => pgPoolLib,
  'postgres.js': () => postgresJsLib,
}
const libraries = selectedLibs.map((name) => allLibraries[name]())
const measured = libraries.filter((l) => l.unavailable === undefined)
const workloads = selectedQueries.map((q) => WORKLOADS[q])

const machine = machineInfo()
const command = commandLine('bench/pg.ts')
process.stderr.write(
  `bench:pg: ${libraries.map((l) => l.name).join(', ')}; ${selectedQueries.join(', ')}; ` +
    `callers ${concurrencies.join(', ')}; ${runs} runs per cell\n${machineLine(machine)}\n`,
)
for (const lib of libraries) {
  if (lib.unavailable !== undefined) process.stderr.write(`  ${lib.label}: n/a (${lib.unavailable})\n`)
}

// samples[lib][query][concurrency] = one Sample (or undefined for a failed run) per round
const samples = new Map<string, Map<QueryName, Map<number, (Sample | undefined)[]>>>()
for (const lib of libraries) {
  samples.set(lib.name, new Map(workloads.map((w) => [w.name, new Map(concurrencies.map((c) => [c, []]))])))
}

let server: PostgresServer | undefined
let admin: pg.Client | undefined
try {
  process.stderr.write('starting PostgreSQL...\n')
  server = await startServer()
  admin = new pg.Client({ connectionString: server.url })
  admin.on('error', () => {})
  await admin.connect()
  await seed(admin)
  const serverVersion = (await admin.query<{ v: string }>("select current_setting('server_version') as v"))
    .rows[0]!.v
  process.stderr.write(`PostgreSQL ${serverVersion} on 127.0.0.1:${server.port}, ${ROWS} accounts\n`)

  // Interleave: every round measures every (query, callers, library) cell once, the libraries of a
  // cell back to back, and the library order rotates between rounds (no library always goes
  // first), so slow phases of the shared machine hit all libraries alike. samples[..][c][i] is
  // round i, which is what the paired ratios rely on.
  for (let round = 0; round < runs; round++) {
    process.stderr.write(`round ${round + 1}/${runs}\n`)
    for (const workload of workloads) {
      for (const concurrency of concurrencies) {
        for (const lib of rotate(measured, round)) {
          const sample = await measure(lib, workload, concurrency, round, server.url, admin)
          samples.get(lib.name)!.get(workload.name)!.get(concurrency)!.push(sample)
        }
      }
    }
  }
  report(serverVersion)
} finally {
  await admin?.end().catch(() => {})
  await server?.destroy()
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

function report(serverVersion: string): void {
  const cellSamples = (lib: string, q: QueryName, c: number): Sample[] =>
    (samples.get(lib)?.get(q)?.get(c) ?? []).filter((s): s is Sample => s !== undefined)
  const failed = (lib: string, q: QueryName, c: number) =>
    (samples.get(lib)?.get(q)?.get(c) ?? []).some((s) => s === undefined)
  const med = (lib: string, q: QueryName, c: number, key: keyof Sample) =>
    failed(lib, q, c) ? Number.NaN : median(cellSamples(lib, q, c).map((s) => s[key]))
  const available = (name: LibName) => measured.some((l) => l.name === name)
  const cell = (lib: Library, q: QueryName, c: number, text: (l: string) => string) => {
    if (lib.unavailable !== undefined) return 'n/a'
    if (failed(lib.name, q, c)) return 'error'
    return text(lib.name)
  }
  const cols = concurrencies.map((c) => `c=${c}`)

  const parts: string[] = []
  parts.push(
    measured.length === libraries.length
      ? '## pg: queries/s and latency'
      : '## pg: queries/s and latency — partial (some libraries n/a)',
  )
  parts.push(
    [
      `- date: ${machine.date}`,
      `- machine: ${machineLine(machine, false)}, ${os.loadavg()[0]!.toFixed(2)} at end`,
      `- command: \`${command}\``,
      `- server: embedded PostgreSQL ${serverVersion} on the same machine, over loopback TCP (127.0.0.1), scram-sha-256, fsync off; one server for all libraries`,
      `- workload: c callers each loop one awaited query on a pool of at most ${size} connections; table \`accounts\`, ${formatCount(ROWS)} rows; every result checked`,
      [
        `- per cell: median of ${runs} runs; each run = fresh pool, warm-up ≤ ${warmup.maxMs} ms /`,
        `${formatCount(warmup.maxOps)} queries, then timed ≤ ${timed.maxMs} ms / ${formatCount(timed.maxOps)} queries;`,
        'libraries interleaved and rotated between runs; latency = `performance.now()` around each call',
      ].join(' '),
      '- ratios: paired; for each run i, library_i ÷ peer_i (the two measured back to back in the same round), and the median of those per-run ratios',
      '- postgres.js: tagged templates, default options except `max` (so named prepared statements); ' +
        'berth and pg-pool send unnamed statements (parse + bind + execute per query), as node-postgres does',
    ].join('\n'),
  )
  const unavailable = libraries.filter((l) => l.unavailable !== undefined)
  if (unavailable.length > 0) {
    parts.push(
      `Not measured (n/a):\n\n${unavailable.map((l) => `- ${l.label}: ${l.unavailable}`).join('\n')}`,
    )
  }

  for (const w of workloads) {
    const qpsRows = libraries.map((lib) => [
      lib.label,
      ...concurrencies.map((c) => cell(lib, w.name, c, (l) => formatRate(med(l, w.name, c, 'qps')))),
    ])
    const latRows = libraries.map((lib) => [
      lib.label,
      ...concurrencies.map((c) =>
        cell(
          lib,
          w.name,
          c,
          (l) => `${formatLatency(med(l, w.name, c, 'p50'))} / ${formatLatency(med(l, w.name, c, 'p99'))}`,
        ),
      ),
    ])
    parts.push(
      [
        `### ${QUERY_TITLES[w.name]}`,
        'Queries per second (median; higher is better):',
        markdownTable(['library', ...cols], qpsRows),
        "Latency per call, p50 / p99 (median of the runs' percentiles; lower is better):",
        markdownTable(['library', ...cols], latRows),
      ].join('\n\n'),
    )
  }

  // Paired ratios: round i of one library against round i of the other, measured back to back.
  const ratioPairs: [LibName, LibName][] = [
    ['berth', 'pg-pool'],
    ['berth', 'postgres.js'],
    ['berth-nopipe', 'pg-pool'],
  ]
  const label = (n: LibName) =>
    n === 'berth' ? 'berth (pipeline: true)' : n === 'berth-nopipe' ? 'berth (pipeline: false)' : n
  const qpsRounds = (lib: LibName, q: QueryName, c: number) =>
    (samples.get(lib)?.get(q)?.get(c) ?? []).map((s) => s?.qps ?? Number.NaN)
  /** undefined when either cell had a failed run (the cell shows `error`). */
  const paired = (a: LibName, b: LibName, q: QueryName, c: number) =>
    failed(a, q, c) || failed(b, q, c) ? undefined : pairedRatios(qpsRounds(a, q, c), qpsRounds(b, q, c))
  const ratioRows: string[][] = []
  for (const w of workloads) {
    for (const [a, b] of ratioPairs) {
      if (!libraries.some((l) => l.name === a) || !libraries.some((l) => l.name === b)) continue
      ratioRows.push([
        `${QUERY_SHORT[w.name]}: ${label(a)} ÷ ${b}`,
        ...concurrencies.map((c) => {
          if (!available(a) || !available(b)) return 'n/a'
          const p = paired(a, b, w.name, c)
          return p === undefined ? 'error' : formatPaired(p)
        }),
      ])
    }
  }
  if (ratioRows.length > 0) {
    parts.push(
      `### Paired ratios (queries/s)\n\nEach cell is the ${PAIRED_LEGEND}.\n\n${markdownTable(['', ...cols], ratioRows)}`,
    )
  }

  // Targets, judged on the median paired ratios.
  const targets: string[] = []
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met')
  const targetC = 64
  const check = (a: LibName, b: LibName, q: QueryName, min: number) => {
    const what = `${label(a)} ≥ ${min}× ${b} on ${QUERY_SHORT[q]} at c=${targetC}`
    if (!available(a) || !available(b) || !concurrencies.includes(targetC) || !selectedQueries.includes(q)) {
      targets.push(`- ${what}: not checked (not measured in this run)`)
      return
    }
    const p = paired(a, b, q, targetC)
    if (p === undefined || p.ratios.length === 0) {
      targets.push(`- ${what}: not checked (error)`)
      return
    }
    targets.push(
      `- ${what}: median paired ratio ${formatRatio(p.median)} (per-run ${p.min.toFixed(2)}–${p.max.toFixed(2)}, ` +
        `≥ ${min}× in ${roundsAtLeast(p, min)}/${p.ratios.length} runs) — ${verdict(p.median >= min)}`,
    )
  }
  check('berth', 'pg-pool', 'select1', 2)
  check('berth', 'postgres.js', 'select1', 1.5)
  for (const a of ['berth', 'berth-nopipe'] as const) {
    const what = `${label(a)} never slower than pg-pool (every cell)`
    if (!available(a) || !available('pg-pool')) {
      targets.push(`- ${what}: not checked (not measured in this run)`)
      continue
    }
    const slower: string[] = []
    const parity: string[] = []
    const errors: string[] = []
    for (const w of workloads) {
      for (const c of concurrencies) {
        const where = `${QUERY_SHORT[w.name]} c=${c}`
        const p = paired(a, 'pg-pool', w.name, c)
        if (p === undefined || p.ratios.length === 0) errors.push(where)
        else if (clearlySlower(p)) slower.push(`${where} ${formatPaired(p)}`)
        else if (p.median < 1) parity.push(`${where} ${formatPaired(p)}`)
      }
    }
    const figures = [
      ...(slower.length > 0 ? [`slower: ${slower.join(', ')}`] : []),
      ...(errors.length > 0 ? [`error: ${errors.join(', ')}`] : []),
      ...(parity.length > 0 ? [`below 1.00× but not consistently behind: ${parity.join(', ')}`] : []),
    ]
    const state = slower.length > 0 ? 'NOT met' : errors.length > 0 ? 'not checked (error)' : 'met'
    targets.push(`- ${what}: ${state}${figures.length > 0 ? ` (${figures.join('; ')})` : ''}`)
  }
  targets.push(`\n"Slower" above: ${slowerRule(runs)}.`)
  parts.push(`### Targets\n\n${targets.join('\n')}`)

  const spreadRows: string[][] = []
  for (const w of workloads) {
    for (const lib of measured) {
      spreadRows.push([
        `${QUERY_SHORT[w.name]}: ${lib.name}`,
        ...concurrencies.map((c) =>
          formatPercent(spread(cellSamples(lib.name, w.name, c).map((s) => s.qps))),
        ),
      ])
    }
  }
  const connRows: string[][] = []
  for (const lib of measured) {
    connRows.push([
      lib.name,
      ...workloads.flatMap((w) =>
        concurrencies.map((c) => {
          const n = cellSamples(lib.name, w.name, c).map((s) => s.conns)
          return n.length === 0 ? '–' : String(Math.max(...n))
        }),
      ),
    ])
  }
  const connCols = workloads.flatMap((w) => concurrencies.map((c) => `${w.name} c=${c}`))
  parts.push(
    `Server connections open at the end of the timed phase (most over the runs; the pool max is ${size}):\n\n${markdownTable(['', ...connCols], connRows)}`,
  )
  parts.push(
    `Run-to-run spread of queries/s, (max − min) / median per cell:\n\n${markdownTable(['', ...cols], spreadRows)}`,
  )
  if (problems.length > 0) parts.push(`Problems:\n\n${problems.map((p) => `- ${p}`).join('\n')}`)

  const text = parts.join('\n\n')
  process.stdout.write(`\n${text}\n`)
  if (flags.write) {
    writeResultsSection('pg', text)
    process.stderr.write(`\nwrote the "pg" section of ${RESULTS_FILE}\n`)
  }
}

if (problems.length > 0) process.exitCode = 1
