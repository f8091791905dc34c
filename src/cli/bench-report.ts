/** The report of `berth bench`: its JSON shape and its rendering for people. */
import type { BenchLibrary, LibraryName } from './bench-clients.js'
import { type CellSample, type SampleTable, cellKey } from './bench-rounds.js'
import type { Workload, WorkloadName } from './bench-workloads.js'
import {
  type PairedRatio,
  formatMs,
  formatPaired,
  formatRate,
  median,
  pairedRatio,
  textTable,
} from './cli-stats.js'

export interface BenchSettings {
  readonly size: number
  readonly runs: number
  readonly durationMs: number
  readonly warmupMs: number
  readonly concurrency: readonly number[]
  readonly workloads: readonly WorkloadName[]
  readonly rows: number
}

export interface BenchCell {
  readonly library: LibraryName
  readonly workload: WorkloadName
  readonly concurrency: number
  /** One entry per round; null for a run that failed. */
  readonly runs: readonly (CellSample | null)[]
  /** Median queries/s over the runs; null when a run failed. */
  readonly medianQps: number | null
}

export interface BenchRatio extends PairedRatio {
  readonly a: LibraryName
  readonly b: LibraryName
  readonly workload: WorkloadName
  readonly concurrency: number
}

/** `berth bench --json` prints this object. */
export interface BenchReport {
  readonly target: string
  readonly serverVersion: string
  readonly settings: BenchSettings
  readonly libraries: readonly { name: LibraryName; label: string; unavailable: string | null }[]
  readonly cells: readonly BenchCell[]
  /** berth ÷ each peer, paired by round. */
  readonly ratios: readonly BenchRatio[]
  readonly problems: readonly string[]
  readonly exitCode: number
}

/** The pairs whose ratios are reported, here and in bench:pg. */
export const PAIRS: readonly (readonly [LibraryName, LibraryName])[] = [
  ['berth', 'pg-pool'],
  ['berth', 'postgres.js'],
  ['berth-nopipe', 'pg-pool'],
]

const SHORT: Record<LibraryName, string> = {
  berth: 'berth',
  'berth-nopipe': 'berth (no pipeline)',
  'pg-pool': 'pg.Pool',
  'postgres.js': 'postgres.js',
}

/** The report of one bench run: medians per cell, and the paired ratios of {@link PAIRS}. */
export function buildReport(
  target: string,
  serverVersion: string,
  settings: BenchSettings,
  libraries: readonly BenchLibrary[],
  samples: SampleTable,
  problems: readonly string[],
): BenchReport {
  const measured = libraries.filter((l) => l.unavailable === undefined)
  const cells: BenchCell[] = []
  const ratios: BenchRatio[] = []
  for (const workload of settings.workloads) {
    for (const concurrency of settings.concurrency) {
      for (const lib of measured) {
        const runs = samples.get(cellKey(lib.name, workload, concurrency)) ?? []
        const failed = runs.length === 0 || runs.some((s) => s === null)
        cells.push({
          library: lib.name,
          workload,
          concurrency,
          runs,
          medianQps: failed ? null : median(runs.map((s) => s!.qps)),
        })
      }
      for (const [a, b] of PAIRS) {
        const ra = samples.get(cellKey(a, workload, concurrency))
        const rb = samples.get(cellKey(b, workload, concurrency))
        if (ra === undefined || rb === undefined) continue
        // a failed run (null) drops out of the pairing: NaN ratios are skipped
        const qps = (runs: (CellSample | null)[]) => runs.map((s) => s?.qps ?? Number.NaN)
        ratios.push({ a, b, workload, concurrency, ...pairedRatio(qps(ra), qps(rb)) })
      }
    }
  }
  return {
    target,
    serverVersion,
    settings,
    libraries: libraries.map((l) => ({ name: l.name, label: l.label, unavailable: l.unavailable ?? null })),
    cells,
    ratios,
    problems,
    exitCode: problems.length > 0 ? 1 : 0,
  }
}

/** `r` as text for a terminal: ASCII tables of queries/s, latency and paired ratios. */
export function renderBenchReport(r: BenchReport, workloads: Record<WorkloadName, Workload>): string {
  const s = r.settings
  const cols = s.concurrency.map((c) => `c=${c}`)
  const label = (name: LibraryName) => SHORT[name]
  const cell = (lib: LibraryName, w: WorkloadName, c: number) =>
    r.cells.find((x) => x.library === lib && x.workload === w && x.concurrency === c)
  const measured = r.libraries.filter((l) => l.unavailable === null)
  const out: string[] = []
  out.push(`berth bench: ${r.target} (PostgreSQL ${r.serverVersion})`)
  out.push(
    `  pool size ${s.size}; ${s.runs} run(s) per cell, each ${formatMs(s.warmupMs)} warm-up + ` +
      `${formatMs(s.durationMs)} timed, libraries interleaved and rotated; every result checked`,
  )
  for (const l of r.libraries) {
    if (l.unavailable !== null) out.push(`  ${l.label}: n/a (${l.unavailable})`)
  }
  for (const w of s.workloads) {
    out.push('')
    out.push(`${workloads[w].title}: queries/s, median (higher is better)`)
    out.push(
      textTable(
        ['library', ...cols],
        measured.map((l) => [
          l.label,
          ...s.concurrency.map((c) => {
            const x = cell(l.name, w, c)
            return x?.medianQps == null ? 'error' : formatRate(x.medianQps)
          }),
        ]),
      ),
    )
    out.push(`${workloads[w].title}: latency p50 / p99, median of the runs`)
    out.push(
      textTable(
        ['library', ...cols],
        measured.map((l) => [
          l.label,
          ...s.concurrency.map((c) => {
            const runs = (cell(l.name, w, c)?.runs ?? []).filter((x): x is CellSample => x !== null)
            if (runs.length === 0) return 'error'
            return `${formatMs(median(runs.map((x) => x.p50Ms)))} / ${formatMs(median(runs.map((x) => x.p99Ms)))}`
          }),
        ]),
      ),
    )
  }
  const ratioRows = s.workloads.flatMap((w) =>
    PAIRS.filter(([a, b]) => r.ratios.some((x) => x.a === a && x.b === b && x.workload === w)).map(
      ([a, b]) => [
        `${workloads[w].title}: ${label(a)} / ${label(b)}`,
        ...s.concurrency.map((c) => {
          const x = r.ratios.find((y) => y.a === a && y.b === b && y.workload === w && y.concurrency === c)
          return x === undefined ? '-' : formatPaired(x)
        }),
      ],
    ),
  )
  if (ratioRows.length > 0) {
    out.push('')
    out.push('Ratios of queries/s, paired by round: median (min-max) rounds ahead/rounds')
    out.push(textTable(['', ...cols], ratioRows))
  }
  if (r.problems.length > 0) {
    out.push('')
    out.push('Problems')
    for (const p of r.problems) out.push(`  - ${p}`)
  }
  out.push('')
  out.push(
    `The server shares its machine and network with everything else: compare libraries within this run, not with other runs. Exit status ${r.exitCode}.`,
  )
  return `${out.join('\n')}\n`
}
