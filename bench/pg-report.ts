/**
 * The markdown report of `npm run bench:pg`, the "pg" section of bench/RESULTS.md: per workload a
 * queries/s table and a latency table, the paired ratios, the verdicts on the targets, the
 * connections each library had open and the run-to-run spread. It renders the same report object
 * that `berth bench` prints (src/cli/bench-report.ts); the measuring is all in src/cli.
 */

import os from 'node:os'
import type { LibraryName } from '../src/cli/bench-clients.js'
import type { PhaseBound } from '../src/cli/bench-loop.js'
import { type BenchReport, PAIRS } from '../src/cli/bench-report.js'
import type { CellSample } from '../src/cli/bench-rounds.js'
import type { Workload, WorkloadName } from '../src/cli/bench-workloads.js'
import {
  type MachineInfo,
  PAIRED_LEGEND,
  clearlySlower,
  formatCount,
  formatPaired,
  formatPercent,
  formatRate,
  formatRatio,
  machineLine,
  markdownTable,
  median,
  roundsAtLeast,
  slowerRule,
  spread,
} from './harness.js'

/** What the report says about the run besides its figures. */
export interface PgReportRun {
  readonly machine: MachineInfo
  /** The command that reproduces the run. */
  readonly command: string
  readonly warmup: PhaseBound
  readonly timed: PhaseBound
  readonly workloads: Record<WorkloadName, Workload>
}

/** Section titles: the workload and its SQL as the pg-based libraries send it. */
const TITLES: Record<WorkloadName, (w: Workload) => string> = {
  select1: (w) => `\`${w.text}\``,
  pk: (w) => `${w.title} (\`${w.text}\`, random id)`,
  range: (w) => `${w.title} (\`${w.text}\`)`,
}

/** Workload names in table rows and verdicts. */
const SHORT: Record<WorkloadName, string> = {
  select1: 'select 1',
  pk: 'pk select',
  range: '10-row select',
}

/** The berth rows by their option, as the ratio rows and verdicts name them. */
const label = (n: LibraryName) =>
  n === 'berth' ? 'berth (pipeline: true)' : n === 'berth-nopipe' ? 'berth (pipeline: false)' : n

/** The concurrency at which the select 1 targets are judged. */
const TARGET_C = 64

/** Renders `r` as the markdown of the "pg" section of bench/RESULTS.md. */
export function renderPgReport(r: BenchReport, run: PgReportRun): string {
  const s = r.settings
  const runsOf = (lib: LibraryName, q: WorkloadName, c: number) =>
    r.cells.find((x) => x.library === lib && x.workload === q && x.concurrency === c)?.runs ?? []
  const cellSamples = (lib: LibraryName, q: WorkloadName, c: number): CellSample[] =>
    runsOf(lib, q, c).filter((x): x is CellSample => x !== null)
  const failed = (lib: LibraryName, q: WorkloadName, c: number) => runsOf(lib, q, c).some((x) => x === null)
  const med = (lib: LibraryName, q: WorkloadName, c: number, key: 'qps' | 'p50Ms' | 'p99Ms') =>
    failed(lib, q, c) ? Number.NaN : median(cellSamples(lib, q, c).map((x) => x[key]))
  const measured = r.libraries.filter((l) => l.unavailable === null)
  const selected = (name: LibraryName) => r.libraries.some((l) => l.name === name)
  const available = (name: LibraryName) => measured.some((l) => l.name === name)
  const cell = (lib: BenchReport['libraries'][number], q: WorkloadName, c: number, text: () => string) => {
    if (lib.unavailable !== null) return 'n/a'
    if (failed(lib.name, q, c)) return 'error'
    return text()
  }
  /** undefined when either cell had a failed run (the cell shows `error`). */
  const paired = (a: LibraryName, b: LibraryName, q: WorkloadName, c: number) =>
    failed(a, q, c) || failed(b, q, c)
      ? undefined
      : r.ratios.find((x) => x.a === a && x.b === b && x.workload === q && x.concurrency === c)
  const cols = s.concurrency.map((c) => `c=${c}`)

  const parts: string[] = []
  parts.push(
    measured.length === r.libraries.length
      ? '## pg: queries/s and latency'
      : '## pg: queries/s and latency — partial (some libraries n/a)',
  )
  parts.push(
    [
      `- date: ${run.machine.date}`,
      `- machine: ${machineLine(run.machine, false)}, ${os.loadavg()[0]!.toFixed(2)} at end`,
      `- command: \`${run.command}\``,
      `- server: embedded PostgreSQL ${r.serverVersion} on the same machine, over loopback TCP (127.0.0.1), scram-sha-256, fsync off; one server for all libraries`,
      `- workload: c callers each loop one awaited query on a pool of at most ${s.size} connections; table \`accounts\`, ${formatCount(s.rows)} rows; every result checked`,
      [
        `- per cell: median of ${s.runs} runs; each run = fresh pool, warm-up ≤ ${run.warmup.maxMs} ms /`,
        `${formatCount(run.warmup.maxOps)} queries, then timed ≤ ${run.timed.maxMs} ms / ${formatCount(run.timed.maxOps)} queries;`,
        'libraries interleaved and rotated between runs; latency = `performance.now()` around each call',
      ].join(' '),
      '- ratios: paired; for each run i, library_i ÷ peer_i (the two measured back to back in the same round), and the median of those per-run ratios',
      '- postgres.js: tagged templates, default options except `max` (so named prepared statements); ' +
        'berth and pg-pool send unnamed statements (parse + bind + execute per query), as node-postgres does',
    ].join('\n'),
  )
  const unavailable = r.libraries.filter((l) => l.unavailable !== null)
  if (unavailable.length > 0) {
    parts.push(
      `Not measured (n/a):\n\n${unavailable.map((l) => `- ${l.label}: ${l.unavailable}`).join('\n')}`,
    )
  }

  for (const q of s.workloads) {
    const qpsRows = r.libraries.map((lib) => [
      lib.label,
      ...s.concurrency.map((c) => cell(lib, q, c, () => formatRate(med(lib.name, q, c, 'qps')))),
    ])
    const latRows = r.libraries.map((lib) => [
      lib.label,
      ...s.concurrency.map((c) =>
        cell(
          lib,
          q,
          c,
          () =>
            `${formatLatency(med(lib.name, q, c, 'p50Ms'))} / ${formatLatency(med(lib.name, q, c, 'p99Ms'))}`,
        ),
      ),
    ])
    parts.push(
      [
        `### ${TITLES[q](run.workloads[q])}`,
        'Queries per second (median; higher is better):',
        markdownTable(['library', ...cols], qpsRows),
        "Latency per call, p50 / p99 (median of the runs' percentiles; lower is better):",
        markdownTable(['library', ...cols], latRows),
      ].join('\n\n'),
    )
  }

  // Paired ratios: round i of one library against round i of the other, measured back to back.
  const ratioRows: string[][] = []
  for (const q of s.workloads) {
    for (const [a, b] of PAIRS) {
      if (!selected(a) || !selected(b)) continue
      ratioRows.push([
        `${SHORT[q]}: ${label(a)} ÷ ${b}`,
        ...s.concurrency.map((c) => {
          if (!available(a) || !available(b)) return 'n/a'
          const p = paired(a, b, q, c)
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
  const check = (a: LibraryName, b: LibraryName, q: WorkloadName, min: number) => {
    const what = `${label(a)} ≥ ${min}× ${b} on ${SHORT[q]} at c=${TARGET_C}`
    if (!available(a) || !available(b) || !s.concurrency.includes(TARGET_C) || !s.workloads.includes(q)) {
      targets.push(`- ${what}: not checked (not measured in this run)`)
      return
    }
    const p = paired(a, b, q, TARGET_C)
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
    for (const q of s.workloads) {
      for (const c of s.concurrency) {
        const where = `${SHORT[q]} c=${c}`
        const p = paired(a, 'pg-pool', q, c)
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
  targets.push(`\n"Slower" above: ${slowerRule(s.runs)}.`)
  parts.push(`### Targets\n\n${targets.join('\n')}`)

  const connRows = measured.map((lib) => [
    lib.name,
    ...s.workloads.flatMap((q) =>
      s.concurrency.map((c) => {
        const n = cellSamples(lib.name, q, c).map((x) => x.conns)
        return n.length === 0 ? '–' : String(Math.max(...n))
      }),
    ),
  ])
  const connCols = s.workloads.flatMap((q) => s.concurrency.map((c) => `${q} c=${c}`))
  parts.push(
    `Server connections open at the end of the timed phase (most over the runs; the pool max is ${s.size}):\n\n${markdownTable(['', ...connCols], connRows)}`,
  )
  const spreadRows = s.workloads.flatMap((q) =>
    measured.map((lib) => [
      `${SHORT[q]}: ${lib.name}`,
      ...s.concurrency.map((c) => formatPercent(spread(cellSamples(lib.name, q, c).map((x) => x.qps)))),
    ]),
  )
  parts.push(
    `Run-to-run spread of queries/s, (max − min) / median per cell:\n\n${markdownTable(['', ...cols], spreadRows)}`,
  )
  if (r.problems.length > 0) parts.push(`Problems:\n\n${r.problems.map((p) => `- ${p}`).join('\n')}`)
  return parts.join('\n\n')
}

/** A latency for the tables: `62 µs`, `3.26 ms`, `34.4 ms`, `234 ms`. */
function formatLatency(ms: number): string {
  if (!Number.isFinite(ms)) return '–'
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`
  if (ms < 10) return `${ms.toFixed(2)} ms`
  if (ms < 100) return `${ms.toFixed(1)} ms`
  return `${ms.toFixed(0)} ms`
}
