/**
 * Shared helpers for berth's benchmarks: bounded run loops, medians, markdown tables, the machine
 * line, and writing a section of bench/RESULTS.md. Benchmarks (pool, pg, grpc, ...) import from here
 * so that every figure in RESULTS.md is measured and reported the same way. The run loop, medians,
 * paired ratios and the rate and ratio formats are the CLI's (src/cli), re-exported here.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ParseArgsConfig } from 'node:util'

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>
import {
  type PairedRatio,
  TYPOGRAPHIC,
  formatPaired as formatPairedIn,
  formatRate as formatRateIn,
  formatRatio as formatRatioIn,
  median,
  pairedRatio,
} from '../src/cli/cli-stats.js'

// The run loop and the rounds' helpers are the CLI's (src/cli/bench-loop.ts), so that `berth
// bench` and every benchmark here measure the same way; bench/ is not shipped, so the code lives there.
export {
  type PhaseBound,
  type RunOptions,
  type RunResult,
  RunControl,
  collectGarbage,
  rotate,
  runOps,
  runWorkers,
  settlesWithin,
} from '../src/cli/bench-loop.js'

// ---------------------------------------------------------------------------------------------
// Statistics and formatting
// ---------------------------------------------------------------------------------------------

/** (max - min) / median: how far apart the repeats of one cell were. NaN when empty. */
export function spread(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  return (Math.max(...values) - Math.min(...values)) / median(values)
}

/** Operations per second with three significant figures and a k/M suffix: `1.23M`, `845k`. */
export function formatRate(perSecond: number): string {
  return formatRateIn(perSecond, TYPOGRAPHIC)
}

/** A count with a k/M suffix and no needless digits: `2000000` -> `2M`, `250000` -> `250k`. */
export function formatCount(n: number): string {
  if (n >= 1e6 && n % 1e4 === 0) return `${n / 1e6}M`
  if (n >= 1e3 && n % 10 === 0) return `${n / 1e3}k`
  return String(n)
}

/** A ratio as `3.12×`. */
export function formatRatio(ratio: number): string {
  return formatRatioIn(ratio, TYPOGRAPHIC)
}

/** A fraction as a percentage: `0.043` -> `4.3%`. */
export function formatPercent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)}%` : '–'
}

// ---------------------------------------------------------------------------------------------
// Paired comparisons
// ---------------------------------------------------------------------------------------------

/**
 * Paired ratios: round i of `a` over round i of `b`, both measured back to back in the same round
 * (see {@link rotate}). On a shared machine the load moves both figures of a round alike, so
 * `a_i / b_i` is much steadier than `median(a) / median(b)`. The same code serves `berth bench`.
 */
export { median, type PairedRatio as PairedRatios, pairedRatio as pairedRatios }

/** Rounds in which the paired ratio was at least `min`. */
export function roundsAtLeast(p: PairedRatio, min: number): number {
  return p.ratios.filter((r) => r >= min).length
}

/**
 * A paired ratio for a table cell: `median (min–max) ahead/rounds`, e.g. `2.95× (2.61–3.40) 8/9`,
 * where `8/9` is the number of rounds in which the first contender was ahead.
 */
export function formatPaired(p: PairedRatio): string {
  return formatPairedIn(p, TYPOGRAPHIC)
}

/** How a table of {@link formatPaired} cells reads, for the caption. */
export const PAIRED_LEGEND =
  'median over the rounds of the per-round ratio (both measured back to back in the same round), ' +
  'then (min–max) of those ratios and the number of rounds in which berth was ahead'

/**
 * Rounds a contender must be behind in, out of `rounds`, for a cell to count as slower: 3/4 of
 * them, rounded up (3 of 3, 4 of 5, 6 of 7, 7 of 9; every round when there are fewer than 3).
 */
export function slowerNeeds(rounds: number): number {
  return Math.ceil((3 * rounds) / 4)
}

/**
 * Whether a paired comparison says the first contender is slower: its median paired ratio is
 * below 1.00× **and** it was behind in at least {@link slowerNeeds} of the rounds. A contender that
 * is consistently behind, even by a few percent, fails; a cell at parity, which lands either side
 * of 1.00× by noise, rarely does (see {@link parityFailChance}).
 */
export function clearlySlower(p: PairedRatio): boolean {
  const n = p.ratios.length
  return n > 0 && p.median < 1 && p.behind >= slowerNeeds(n)
}

/**
 * The chance that a cell at true parity (each round a coin flip) is judged slower by
 * {@link clearlySlower}: P(at least `slowerNeeds(n)` of `n` rounds behind).
 */
export function parityFailChance(rounds: number): number {
  let sum = 0
  let choose = 1 // C(n, k), built up from k = 0
  for (let k = 0; k <= rounds; k++) {
    if (k > 0) choose = (choose * (rounds - k + 1)) / k
    if (k >= slowerNeeds(rounds)) sum += choose
  }
  return sum / 2 ** rounds
}

/** The {@link clearlySlower} rule in words, for reports, with the figures for `rounds` rounds. */
export function slowerRule(rounds: number): string {
  return [
    'a cell counts as slower only if its median paired ratio is below 1.00× **and** berth was behind',
    `in at least 3/4 of the rounds (here ${slowerNeeds(rounds)} of ${rounds}). A consistent regression,`,
    'even of a few percent, fails; a cell at parity, which lands either side of 1.00× by noise, fails',
    `by chance with probability ${formatPercent(parityFailChance(rounds))} per cell at ${rounds} runs`,
  ].join(' ')
}

export type Align = 'left' | 'right'

/**
 * A GitHub-flavoured markdown table. Columns are padded so the table also reads well in a terminal.
 * `align` defaults to left for the first column and right for the others.
 */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly Align[],
): string {
  const aligns = headers.map((_, i) => align?.[i] ?? (i === 0 ? 'left' : 'right'))
  const widths = headers.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const cell = (text: string, i: number) =>
    aligns[i] === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!)
  const line = (cells: readonly string[]) =>
    `| ${headers.map((_, i) => cell(cells[i] ?? '', i)).join(' | ')} |`
  const rule = `| ${widths.map((w, i) => (aligns[i] === 'right' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`
  return [line(headers), rule, ...rows.map(line)].join('\n')
}

// ---------------------------------------------------------------------------------------------
// Machine and command
// ---------------------------------------------------------------------------------------------

export interface MachineInfo {
  readonly cpu: string
  readonly cores: number
  readonly node: string
  readonly platform: string
  readonly memoryGiB: number
  readonly loadAverage: number
  readonly date: string
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU',
    cores: os.availableParallelism?.() ?? cpus.length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg()[0] ?? 0,
    date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  }
}

/**
 * One line describing where (and, unless `withDate` is false, when) a result was measured, e.g.
 * `Intel(R) Xeon(R) ... @ 2.50GHz, 2 cores, 24 GiB, linux x64, node v20.20.2, load 0.08, 2026-...Z`.
 */
export function machineLine(info: MachineInfo = machineInfo(), withDate = true): string {
  return (
    `${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, ${info.platform}, node ${info.node}, ` +
    `load ${info.loadAverage.toFixed(2)} at start${withDate ? `, ${info.date}` : ''}`
  )
}

/**
 * The command that reproduces this run: `npm run <script> -- <args>` when started through npm,
 * otherwise `tsx <script file> <args>`.
 */
export function commandLine(scriptFile: string, args: readonly string[] = process.argv.slice(2)): string {
  const quoted = args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
  const script = process.env['npm_lifecycle_event']
  if (script?.startsWith('bench')) {
    return ['npm run', script, ...(quoted.length > 0 ? ['--', ...quoted] : [])].join(' ')
  }
  return ['tsx', scriptFile, ...quoted].join(' ')
}

// ---------------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------------

/** Parse a comma-separated flag value: `'4,64,1024'` -> `['4', '64', '1024']`. */
export function parseList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

/** Parse a positive integer flag, accepting `_` separators and a k/M suffix (`2M`, `200k`). */
export function parseCount(value: string, flag: string): number {
  const m = /^(\d[\d_]*(?:\.\d+)?)([kKmM]?)$/.exec(value.trim())
  const scale = m?.[2] === '' ? 1 : m?.[2]?.toLowerCase() === 'k' ? 1e3 : 1e6
  const n = m ? Math.round(Number(m[1]!.replace(/_/g, '')) * scale) : Number.NaN
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag}: expected a positive number, got '${value}'`)
  return n
}

/** Reports a usage or setup error without a stack trace and exits with status 2. */
/** The flags every bench takes besides its own. */
export const COMMON_FLAGS = {
  quick: { type: 'boolean', default: false },
  write: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const satisfies ParseArgsOptionsConfig

/**
 * A bench's command line: `parse` reads it (`parseArgs` with the bench's own options and
 * {@link COMMON_FLAGS}); `--help` prints `help` and exits 0, a bad flag exits 2 with the message
 * and `help`.
 */
export function readBenchFlags<V extends { help?: boolean }>(bench: string, help: string, parse: () => V): V {
  let values: V
  try {
    values = parse()
  } catch (err) {
    return failUsage(bench, `${(err as Error).message}\n\n${help}`)
  }
  if (values.help === true) {
    process.stdout.write(help)
    process.exit(0)
  }
  return values
}

export function failUsage(bench: string, message: string): never {
  process.stderr.write(`bench:${bench}: ${message}\n`)
  process.exit(2)
}

/** {@link parseCount}, exiting with a usage error instead of throwing. */
export function countFlag(bench: string, value: string, flag: string): number {
  try {
    return parseCount(value, flag)
  } catch (err) {
    return failUsage(bench, (err as Error).message)
  }
}

/** The names picked by a comma-separated `--libs` list, in `all`'s order; an unknown name is a usage error. */
export function selectLibs<N extends string>(
  bench: string,
  all: readonly N[],
  list: string | undefined,
): N[] {
  const names = parseList(list ?? all.join(','))
  for (const name of names) {
    if (!(all as readonly string[]).includes(name)) {
      failUsage(bench, `--libs: unknown library '${name}' (known: ${all.join(', ')})`)
    }
  }
  return all.filter((name) => names.includes(name))
}

// ---------------------------------------------------------------------------------------------
// bench/RESULTS.md
// ---------------------------------------------------------------------------------------------

export const RESULTS_FILE = join(dirname(fileURLToPath(import.meta.url)), 'RESULTS.md')

const RESULTS_HEADER = '# Benchmark results\n'

/**
 * Replace the section for benchmark `key` in RESULTS.md (or append it if it is not there yet).
 * Sections are delimited by `<!-- bench:key -->` and `<!-- /bench:key -->` markers; everything
 * outside the markers (the file's header, other benchmarks) is left as it is.
 */
export function writeResultsSection(key: string, body: string, file: string = RESULTS_FILE): void {
  const open = `<!-- bench:${key} -->`
  const close = `<!-- /bench:${key} -->`
  const section = `${open}\n\n${body.trim()}\n\n${close}`
  const text = existsSync(file) ? readFileSync(file, 'utf8') : RESULTS_HEADER
  const start = text.indexOf(open)
  const end = start === -1 ? -1 : text.indexOf(close, start)
  const next =
    start !== -1 && end !== -1
      ? text.slice(0, start) + section + text.slice(end + close.length)
      : `${text.trimEnd()}\n\n${section}\n`
  writeFileSync(file, next)
}
