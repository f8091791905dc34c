/**
 * Small statistics for the CLI's measurements and for bench/ (through bench/harness.ts): medians,
 * percentiles, paired ratios, and the formatting of rates and ratios.
 */

/** Latency samples summarised, in ms. */
export interface LatencySummaryMs {
  readonly samples: number
  readonly min: number
  readonly median: number
  readonly p99: number
  readonly max: number
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Nearest-rank percentile (`p` in 0..100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1]!
}

export function summarize(valuesMs: readonly number[]): LatencySummaryMs {
  return Object.freeze({
    samples: valuesMs.length,
    min: valuesMs.length === 0 ? Number.NaN : Math.min(...valuesMs),
    median: median(valuesMs),
    p99: percentile(valuesMs, 99),
    max: valuesMs.length === 0 ? Number.NaN : Math.max(...valuesMs),
  })
}

/**
 * Ratios of two contenders measured back to back in the same rounds: round i of `a` over round i
 * of `b`. Pairing cancels the slow phases of a shared machine that hit both alike.
 */
export interface PairedRatio {
  readonly ratios: readonly number[]
  readonly median: number
  readonly min: number
  readonly max: number
  /** Rounds in which `a` was ahead (`a_i > b_i`) and behind (`a_i < b_i`). */
  readonly ahead: number
  readonly behind: number
}

export function pairedRatio(a: readonly number[], b: readonly number[]): PairedRatio {
  const ratios: number[] = []
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const r = a[i]! / b[i]!
    if (b[i]! > 0 && Number.isFinite(r)) ratios.push(r)
  }
  return Object.freeze({
    ratios,
    median: median(ratios),
    min: ratios.length === 0 ? Number.NaN : Math.min(...ratios),
    max: ratios.length === 0 ? Number.NaN : Math.max(...ratios),
    ahead: ratios.filter((r) => r > 1).length,
    behind: ratios.filter((r) => r < 1).length,
  })
}

/**
 * The characters a figure is written with: plain ASCII for the CLI's terminal output, typographic
 * for the markdown of bench/RESULTS.md. Both spell the same figures the same way otherwise.
 */
export interface Glyphs {
  /** After a ratio: `2.95x`. */
  readonly times: string
  /** Between a low and a high: `2.61-3.40`. */
  readonly dash: string
  /** In place of a figure that is missing (NaN, no runs). */
  readonly none: string
}

export const ASCII: Glyphs = Object.freeze({ times: 'x', dash: '-', none: '-' })
export const TYPOGRAPHIC: Glyphs = Object.freeze({ times: '×', dash: '–', none: '–' })

/** Operations per second with three significant figures and a k/M suffix: `1.23M`, `845k`, `950`. */
export function formatRate(perSecond: number, g: Glyphs = ASCII): string {
  if (!Number.isFinite(perSecond)) return g.none
  const abs = Math.abs(perSecond)
  if (abs >= 1e6) return `${(perSecond / 1e6).toPrecision(3)}M`
  if (abs >= 1e3) return `${(perSecond / 1e3).toPrecision(3)}k`
  return perSecond.toPrecision(3)
}

/** A ratio as `3.12x` (`3.12×`). */
export function formatRatio(ratio: number, g: Glyphs = ASCII): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}${g.times}` : g.none
}

/** Milliseconds for people: `0.21 ms`, `12.4 ms`, `1.20 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-'
  if (ms < 10) return `${ms.toFixed(2)} ms`
  if (ms < 1000) return `${ms.toFixed(1)} ms`
  return `${(ms / 1000).toFixed(2)} s`
}

/**
 * A paired ratio for a table cell: `median (min-max) ahead/rounds`, e.g. `2.95x (2.61-3.40) 8/9`,
 * where `8/9` is the number of rounds in which the first contender was ahead.
 */
export function formatPaired(p: PairedRatio, g: Glyphs = ASCII): string {
  if (p.ratios.length === 0) return g.none
  return `${formatRatio(p.median, g)} (${p.min.toFixed(2)}${g.dash}${p.max.toFixed(2)}) ${p.ahead}/${p.ratios.length}`
}

/** A plain-text table with aligned columns; the first column left-aligned, the others right. */
export function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  indent = '  ',
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    indent +
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}
