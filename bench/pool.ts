/**
 * Pool overhead benchmark: acquire + release cycles per second for berth and its peers
 * (generic-pool 3, tarn 3, pg-pool 3) at several concurrencies, all in one process and one run.
 *
 *   npm run bench:pool                                   # everything, default settings
 *   npm run bench:pool -- --libs generic-pool,tarn,pg-pool   # peers only
 *   npm run bench:pool -- --write                        # also update bench/RESULTS.md
 *   npm run bench:pool -- --help
 *
 * Workload: `concurrency` workers each loop `await acquire(); release()`; the resource is a plain
 * `{ id }` object created at once, so what is measured is the pool's own bookkeeping and promise
 * plumbing. See bench/README.md.
 */

import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'
import genericPool from 'generic-pool'
import tarn from 'tarn'
import {
  COMMON_FLAGS,
  PAIRED_LEGEND,
  RESULTS_FILE,
  type RunControl,
  type RunOptions,
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
  readBenchFlags,
  rotate,
  roundsAtLeast,
  runWorkers,
  selectLibs,
  settlesWithin,
  spread,
  writeResultsSection,
} from './harness.js'

const require = createRequire(import.meta.url)

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const HELP = `Usage: npm run bench:pool -- [options]

  --libs <list>           libraries to measure, comma-separated (alias --only)
                          default: berth,generic-pool,tarn,pg-pool
  --concurrency <list>    worker counts, default 4,64,1024
  --size <n>              pool max (resources), default 8
  --runs <n>              repeats per cell (medians and paired ratios), default 5
  --time <ms>             timed phase bound in ms, default 1000
  --cycles <n>            timed phase bound in cycles, default 2M
  --warmup <ms>           warm-up bound in ms, default 250
  --warmup-cycles <n>     warm-up bound in cycles, default 200k
  --baseline <lib>        library the ratio column compares with, default generic-pool
  --no-floor              skip the floor row (two awaits of a resolved promise per cycle)
  --quick                 smoke test: 2 runs, 200 ms timed, 50 ms warm-up
  --write                 replace the "pool" section of bench/RESULTS.md with this run
  --help                  this text
`

const ALL_LIBS = ['berth', 'generic-pool', 'tarn', 'pg-pool'] as const
type LibName = (typeof ALL_LIBS)[number]

function fail(message: string): never {
  return failUsage('pool', message)
}

const flags = readBenchFlags(
  'pool',
  HELP,
  () =>
    parseArgs({
      options: {
        libs: { type: 'string' },
        only: { type: 'string' },
        concurrency: { type: 'string', default: '4,64,1024' },
        size: { type: 'string', default: '8' },
        runs: { type: 'string' },
        time: { type: 'string' },
        cycles: { type: 'string', default: '2M' },
        warmup: { type: 'string' },
        'warmup-cycles': { type: 'string', default: '200k' },
        baseline: { type: 'string', default: 'generic-pool' },
        'no-floor': { type: 'boolean', default: false },
        ...COMMON_FLAGS,
      },
      strict: true,
    }).values,
)

function count(value: string, flag: string): number {
  return countFlag('pool', value, flag)
}

const selected = selectLibs('pool', ALL_LIBS, flags.libs ?? flags.only)
const concurrencies = parseList(flags.concurrency).map((c) => count(c, 'concurrency'))
if (concurrencies.length === 0) fail('--concurrency: expected at least one value')
const size = count(flags.size, 'size')
const runs = count(flags.runs ?? (flags.quick ? '2' : '5'), 'runs')
const warmup = {
  maxMs: count(flags.warmup ?? (flags.quick ? '50' : '250'), 'warmup'),
  maxOps: count(flags['warmup-cycles'], 'warmup-cycles'),
}
const timed = {
  maxMs: count(flags.time ?? (flags.quick ? '200' : '1000'), 'time'),
  maxOps: count(flags.cycles, 'cycles'),
}
const runOptions = (concurrency: number): RunOptions => ({ concurrency, warmup, measure: timed })
const baseline = flags.baseline
const ratioConcurrency = concurrencies.includes(64) ? 64 : concurrencies[concurrencies.length >> 1]!

// ---------------------------------------------------------------------------------------------
// The libraries
// ---------------------------------------------------------------------------------------------

interface Res {
  readonly id: number
}

/**
 * Counts the resources a pool creates and destroys, independently of the pool's own bookkeeping,
 * so the run can check that every library really stayed within `size` resources and closed cleanly.
 */
class Tracker {
  created = 0
  destroyed = 0
  peakLive = 0

  get live(): number {
    return this.created - this.destroyed
  }

  onCreate(): number {
    const id = ++this.created
    if (this.live > this.peakLive) this.peakLive = this.live
    return id
  }

  onDestroy(): void {
    this.destroyed++
  }

  create(): Res {
    return { id: this.onCreate() }
  }
}

interface PoolUnderTest {
  /** One benchmark worker: loops acquire -> release until the run stops. */
  worker(ctl: RunControl): Promise<void>
  /** The pool's own count of resources it holds (NaN if it does not expose one). */
  reportedSize(): number
  close(): Promise<unknown>
}

interface Library {
  readonly name: string
  readonly version: string
  make(size: number, track: Tracker): PoolUnderTest
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

const genericPoolLib: Library = {
  name: 'generic-pool',
  version: packageVersion('generic-pool'),
  make(size, track) {
    const pool = genericPool.createPool<Res>(
      {
        create: async () => track.create(),
        destroy: async () => track.onDestroy(),
      },
      { max: size, min: 0 },
    )
    return {
      async worker(ctl) {
        while (!ctl.stopped) {
          const r = await pool.acquire()
          void pool.release(r)
          ctl.tick()
        }
      },
      reportedSize: () => pool.size,
      close: async () => {
        await pool.drain()
        await pool.clear()
      },
    }
  },
}

const tarnLib: Library = {
  name: 'tarn',
  version: packageVersion('tarn'),
  make(size, track) {
    const pool = new tarn.Pool<Res>({
      create: async () => track.create(),
      destroy: async () => track.onDestroy(),
      min: 0,
      max: size,
      propagateCreateError: false,
    })
    return {
      async worker(ctl) {
        while (!ctl.stopped) {
          const r = await pool.acquire().promise
          pool.release(r)
          ctl.tick()
        }
      },
      reportedSize: () => pool.numUsed() + pool.numFree() + pool.numPendingCreates(),
      close: () => pool.destroy(),
    }
  },
}

/** The part of pg-pool's API the benchmark uses (pg-pool ships no types). */
interface PgPoolClient {
  release(err?: Error | boolean): void
}
interface PgPoolInstance {
  connect(): Promise<PgPoolClient>
  end(): Promise<void>
  readonly totalCount: number
}
type PgPoolClass = new (options: { Client: new (options: unknown) => object; max: number }) => PgPoolInstance

/**
 * The smallest stand-in for pg's `Client` that pg-pool 3 accepts. From pg-pool/index.js:
 * - it is an EventEmitter: the pool attaches and removes an idle 'error' listener on every
 *   acquire/release, and listens for 'end' when maxLifetimeSeconds is set;
 * - `connect(cb)` is callback-style;
 * - `end(cb)` is called with a callback when the pool removes a client;
 * - `_queryable` must be true and `_ending` false, or `release()` destroys the client instead of
 *   returning it to the idle list (every cycle would then create a new client);
 * - `ref()` is called each time an idle client is handed out, `unref()` only with allowExitOnIdle;
 * - the pool assigns `client.release` on every acquire.
 */
function fakeClientClass(track: Tracker) {
  return class FakeClient extends EventEmitter {
    readonly id = track.onCreate()
    _queryable = true
    _ending = false

    // pg-pool passes its own options; keep them away from EventEmitter's constructor.
    constructor(_options: unknown) {
      super()
    }

    connect(cb: (err?: Error) => void): void {
      queueMicrotask(() => cb())
    }

    end(cb?: () => void): Promise<void> | undefined {
      if (!this._ending) {
        this._ending = true
        this._queryable = false
        track.onDestroy()
        queueMicrotask(() => this.emit('end'))
      }
      if (cb) {
        queueMicrotask(cb)
        return undefined
      }
      return Promise.resolve()
    }

    ref(): void {}
    unref(): void {}
  }
}

const pgPoolLib: Library = {
  name: 'pg-pool',
  version: packageVersion('pg-pool'),
  make(size, track) {
    const PgPool = require('pg-pool') as PgPoolClass
    const pool = new PgPool({ Client: fakeClientClass(track), max: size })
    return {
      async worker(ctl) {
        while (!ctl.stopped) {
          const client = await pool.connect()
          client.release()
          ctl.tick()
        }
      },
      reportedSize: () => pool.totalCount,
      close: () => pool.end(),
    }
  },
}

async function loadBerth(): Promise<Library> {
  let mod: typeof import('../src/core/index.js')
  try {
    mod = await import('../src/core/index.js')
  } catch (err) {
    return fail(
      `cannot load berth from src/core/index.ts (${(err as Error).message}).\nTo measure the peers alone: npm run bench:pool -- --libs generic-pool,tarn,pg-pool`,
    )
  }
  const { Pool } = mod
  return {
    name: 'berth',
    version: '',
    make(size, track) {
      const pool = new Pool<Res>({
        create: async () => track.create(),
        destroy: async () => track.onDestroy(),
        max: size,
        min: 0,
      })
      return {
        async worker(ctl) {
          while (!ctl.stopped) {
            const lease = await pool.acquire()
            lease.release()
            ctl.tick()
          }
        },
        reportedSize: () => pool.stats().total,
        close: () => pool.close(),
      }
    },
  }
}

const FLOOR = 'floor: 2 × await'

/** The reference row: two awaits of an already-resolved promise per cycle, no pool at all. */
const floorLib: Library = {
  name: FLOOR,
  version: '',
  make() {
    const resolved = Promise.resolve()
    return {
      async worker(ctl) {
        while (!ctl.stopped) {
          await resolved
          await resolved
          ctl.tick()
        }
      },
      reportedSize: () => 0,
      close: async () => {},
    }
  },
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

const problems: string[] = []

async function measure(lib: Library, concurrency: number, round: number): Promise<number> {
  collectGarbage()
  const track = new Tracker()
  const pool = lib.make(size, track)
  const result = await runWorkers(runOptions(concurrency), (ctl) => pool.worker(ctl))
  const reported = pool.reportedSize()
  const closed = await settlesWithin(pool.close(), 10_000)
  // Let destroy callbacks that the pool does not await (pg-pool's end(cb)) run.
  await new Promise((resolve) => setImmediate(resolve))

  const where = `${lib.name} c=${concurrency} run ${round + 1}`
  if (track.peakLive > size)
    problems.push(`${where}: ${track.peakLive} resources alive at once (max ${size})`)
  if (reported > size) problems.push(`${where}: pool reports ${reported} resources (max ${size})`)
  if (track.created > size) problems.push(`${where}: ${track.created} resources created (churn; max ${size})`)
  if (!closed) problems.push(`${where}: close() had not finished after 10 s`)
  else if (track.live !== 0) problems.push(`${where}: ${track.live} resources not destroyed after close`)

  const created = lib === floorLib ? '' : `, ${track.created} created, peak ${track.peakLive} alive`
  process.stderr.write(
    `  ${where.padEnd(34)} ${formatRate(result.opsPerSec).padStart(6)}/s ` +
      `(${result.ops} cycles in ${result.ms.toFixed(0)} ms${created})\n`,
  )
  return result.opsPerSec
}

const peers: Record<Exclude<LibName, 'berth'>, Library> = {
  'generic-pool': genericPoolLib,
  tarn: tarnLib,
  'pg-pool': pgPoolLib,
}
const libraries: Library[] = []
for (const name of selected) libraries.push(name === 'berth' ? await loadBerth() : peers[name])
if (!flags['no-floor']) libraries.push(floorLib)
if (libraries.length === 0) fail('nothing to measure')

const machine = machineInfo()
const command = commandLine('bench/pool.ts')
process.stderr.write(
  `bench:pool: ${libraries.map((l) => l.name).join(', ')}; concurrency ${concurrencies.join(', ')}; ` +
    `${runs} runs per cell\n${machineLine(machine)}\n`,
)

const samples = new Map<string, Map<number, number[]>>()
for (const lib of libraries) samples.set(lib.name, new Map(concurrencies.map((c) => [c, []])))

// Interleave: every round measures every (concurrency, library) cell once, the libraries of a cell
// back to back, and the library order rotates between rounds (no library always goes first), so
// slow phases of the shared machine hit all libraries alike. samples[lib][c][i] is round i, which
// is what the paired ratios below rely on.
for (let round = 0; round < runs; round++) {
  process.stderr.write(`round ${round + 1}/${runs}\n`)
  for (const concurrency of concurrencies) {
    for (const lib of rotate(libraries, round)) {
      samples
        .get(lib.name)!
        .get(concurrency)!
        .push(await measure(lib, concurrency, round))
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const rates = (lib: string, c: number) => samples.get(lib)?.get(c) ?? []
const med = (lib: string, c: number) => median(rates(lib, c))
/** Round-by-round ratios lib_i ÷ other_i of one concurrency. */
const paired = (lib: string, other: string, c: number) => pairedRatios(rates(lib, c), rates(other, c))
const hasBerth = libraries.some((l) => l.name === 'berth')
const hasBaseline = libraries.some((l) => l.name === baseline)
const ratioHeader = `vs ${baseline} @${ratioConcurrency}`

const headers = ['library', ...concurrencies.map((c) => `c=${c}`), ...(hasBaseline ? [ratioHeader] : [])]
const rows = libraries.map((lib) => [
  lib.version ? `${lib.name} ${lib.version}` : lib.name,
  ...concurrencies.map((c) => formatRate(med(lib.name, c))),
  ...(hasBaseline ? [formatRatio(paired(lib.name, baseline, ratioConcurrency).median)] : []),
])

const spreadRows = libraries.map((lib) => [
  lib.name,
  ...concurrencies.map((c) => formatPercent(spread(samples.get(lib.name)!.get(c)!))),
])

const parts: string[] = []
parts.push(
  hasBerth
    ? '## pool: acquire + release cycles/s'
    : '## pool: acquire + release cycles/s — peers only (berth not measured yet)',
)
if (!hasBerth) {
  parts.push(
    '_Peers only: berth was not part of this run. Replace this section with a full run ' +
      '(`npm run bench:pool -- --write`) once berth is measured._',
  )
}
parts.push(
  [
    `- date: ${machine.date}`,
    `- machine: ${machineLine(machine, false)}`,
    `- command: \`${command}\``,
    `- workload: c workers each loop \`await acquire(); release()\` on a pool of max ${size}, min 0; the resource is a plain object created at once`,
    `- per cell: median of ${runs} runs; each run = fresh pool, warm-up ≤ ${warmup.maxMs} ms / ` +
      `${formatCount(warmup.maxOps)} cycles, then timed ≤ ${timed.maxMs} ms / ` +
      `${formatCount(timed.maxOps)} cycles; libraries interleaved and rotated between runs`,
    '- ratios: paired; for each run i, library_i ÷ peer_i (the two measured back to back in the same round), and the median of those per-run ratios',
  ].join('\n'),
)
parts.push(
  `Cycles per second (median; higher is better${hasBaseline ? `; the last column is the median paired ratio to ${baseline}` : ''}):\n\n${markdownTable(headers, rows)}`,
)

if (hasBerth) {
  const berthPeers = libraries.filter((l) => l.name !== 'berth' && l !== floorLib)
  if (berthPeers.length > 0) {
    const ratioRows = berthPeers.map((p) => [
      `berth ÷ ${p.name}`,
      ...concurrencies.map((c) => formatPaired(paired('berth', p.name, c))),
    ])
    parts.push(
      `Paired ratios; each cell is the ${PAIRED_LEGEND}:\n\n${markdownTable(['', ...concurrencies.map((c) => `c=${c}`)], ratioRows)}`,
    )
  }
  const target = 'Target berth ≥ 3× generic-pool at c=64, judged on the median paired ratio'
  if (libraries.some((l) => l.name === 'generic-pool') && concurrencies.includes(64)) {
    const p = paired('berth', 'generic-pool', 64)
    const n = p.ratios.length
    parts.push(
      `${target}: ${formatRatio(p.median)} (per-run ${p.min.toFixed(2)}–${p.max.toFixed(2)}, ≥ 3× in ` +
        `${roundsAtLeast(p, 3)}/${n} runs) — ${n === 0 ? 'not checked (no paired runs)' : p.median >= 3 ? 'met' : 'NOT met'}.`,
    )
  } else {
    parts.push(`${target}: not checked (generic-pool or c=64 not measured in this run).`)
  }
}

parts.push(
  `Run-to-run spread, (max − min) / median per cell:\n\n${markdownTable(['library', ...concurrencies.map((c) => `c=${c}`)], spreadRows)}`,
)
if (problems.length > 0) parts.push(`Problems:\n\n${problems.map((p) => `- ${p}`).join('\n')}`)

const report = parts.join('\n\n')
process.stdout.write(`\n${report}\n`)

if (flags.write) {
  writeResultsSection('pool', report)
  process.stderr.write(`\nwrote the "pool" section of ${RESULTS_FILE}\n`)
}
// Exit even if a misbehaving pool left handles open.
if (problems.length > 0) process.exit(1)
