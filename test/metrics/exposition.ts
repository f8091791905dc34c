/** A small parser of the Prometheus text format, for asserting on scraped series. */

export interface Series {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Every sample line; throws on a line that is neither a sample, a comment nor empty. */
export function parseExposition(text: string): Series[] {
  const out: Series[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = LINE.exec(line)
    if (m === null) throw new Error(`not a Prometheus sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (m[2] ?? '').matchAll(LABEL)) labels[key!] = value!.replace(/\\(.)/g, '$1')
    out.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return out
}

/** The series named `name` whose labels include `labels`. */
export function find(series: readonly Series[], name: string, labels: Record<string, string> = {}): Series[] {
  return series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
}

/** The value of the one series named `name` with `labels`; throws when there is none or several. */
export function value(series: readonly Series[], name: string, labels: Record<string, string> = {}): number {
  const found = find(series, name, labels)
  if (found.length !== 1)
    throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}`)
  return found[0]!.value
}
