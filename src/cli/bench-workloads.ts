/**
 * The workloads of `berth bench` and `npm run bench:pg`: `select 1`, a primary-key select and a
 * ten-row range select on a table of accounts. `berth bench` puts the table in a schema of its own
 * that it creates on the target server and drops at the end; bench:pg uses a plain `accounts` on
 * its throwaway server.
 */
import { randomBytes } from 'node:crypto'
import { BerthError } from '../core/errors.js'

export const WORKLOAD_NAMES = ['select1', 'pk', 'range'] as const
export type WorkloadName = (typeof WORKLOAD_NAMES)[number]

export type Row = Record<string, unknown>

export interface Workload {
  readonly name: WorkloadName
  readonly title: string
  /** Whether it reads the bench's table (and so needs the schema to be created). */
  readonly needsTable: boolean
  /** The SQL with `$n` parameters, as every library sends it. */
  readonly text: string
  /** `text` as a tagged template, for postgres.js (see {@link SqlTemplate}). */
  readonly template: SqlTemplate
  /** Parameters of one call. */
  params(): unknown[] | undefined
  /** Throws WrongResultError unless `rows` answer `params`. */
  check(rows: readonly Row[], params: unknown[] | undefined): void
}

/**
 * In `berth bench`, a library returned rows that do not answer the query: that cell fails instead
 * of being measured. What to do: report it; a library (or its adapter in the bench) is broken.
 */
export class WrongResultError extends BerthError {
  constructor(workload: WorkloadName, params: unknown[] | undefined, rows: readonly Row[]) {
    const shown = JSON.stringify(rows.slice(0, 2)).slice(0, 160)
    super(
      'BERTH_BENCH_WRONG_RESULT',
      `${workload}(${(params ?? []).join(', ')}): wrong result, ${rows.length} row(s): ${shown}`,
    )
  }
}

/**
 * A statement in the form a tagged template call hands to its tag: the literal parts, and for each
 * gap the index of the parameter that fills it (`$1` is 0). `strings` is one frozen array with a
 * `raw` property, made once per workload, as a literal template at one call site is, so that a
 * library that caches by the array (postgres.js keeps a stack per template) treats every call as
 * the same template.
 */
export interface SqlTemplate {
  readonly strings: TemplateStringsArray
  readonly slots: readonly number[]
}

/**
 * Splits `$n` placeholders out of `text`. A parameter used twice fills two gaps, as a tagged
 * template would have to write it. (`$n` inside a quoted literal would be split too: the
 * workloads here have none.)
 */
export function sqlTemplate(text: string): SqlTemplate {
  const parts = text.split(/\$(\d+)/)
  const strings = parts.filter((_, i) => i % 2 === 0)
  const slots = parts.filter((_, i) => i % 2 === 1).map((n) => Number(n) - 1)
  Object.defineProperty(strings, 'raw', { value: Object.freeze([...strings]) })
  return { strings: Object.freeze(strings) as unknown as TemplateStringsArray, slots: Object.freeze(slots) }
}

const RANGE = 10

/** A schema name no one else uses: `berth_bench_<pid>_<random>`. */
export function benchSchemaName(): string {
  return `berth_bench_${process.pid}_${randomBytes(4).toString('hex')}`
}

/** The three workloads on `table` (e.g. `accounts`, `my_schema.accounts`) of `rows` accounts. */
export function createWorkloads(table: string, rows: number): Record<WorkloadName, Workload> {
  const randomId = (hi: number) => 1 + Math.floor(Math.random() * hi)
  const withTemplate = (w: Omit<Workload, 'template'>): Workload => ({ ...w, template: sqlTemplate(w.text) })
  return {
    select1: withTemplate({
      name: 'select1',
      title: 'select 1',
      needsTable: false,
      text: 'select 1',
      params: () => undefined,
      check(result, params) {
        if (result.length !== 1 || result[0]!['?column?'] !== 1)
          throw new WrongResultError('select1', params, result)
      },
    }),
    pk: withTemplate({
      name: 'pk',
      title: 'primary-key select',
      needsTable: true,
      text: `select id, name, balance from ${table} where id = $1`,
      params: () => [randomId(rows)],
      check(result, params) {
        const id = params![0]
        if (result.length !== 1 || result[0]!['id'] !== id || result[0]!['name'] !== `account ${id}`) {
          throw new WrongResultError('pk', params, result)
        }
      },
    }),
    range: withTemplate({
      name: 'range',
      title: `${RANGE}-row select`,
      needsTable: true,
      text: `select * from ${table} where id between $1 and $1 + ${RANGE - 1}`,
      params: () => [randomId(rows - RANGE + 1)],
      check(result, params) {
        const lo = params![0] as number
        const inRange = result.every((r) => (r['id'] as number) >= lo && (r['id'] as number) < lo + RANGE)
        if (result.length !== RANGE || !inRange) throw new WrongResultError('range', params, result)
      },
    }),
  }
}

/**
 * `berth bench`'s table: a schema of its own and in it `accounts`, unlogged (it writes no WAL to
 * ship to replicas, and nothing of it needs to survive a crash).
 */
export function seedStatements(schema: string, rows: number): string[] {
  const table = `${schema}.accounts`
  return [`create schema ${schema}`, ...accountsTable(table, rows, 'unlogged'), `analyze ${table}`]
}

/** Creates `table` and fills it with accounts 1..`rows`; the caller adds what goes around it. */
export function accountsTable(table: string, rows: number, persistence: 'logged' | 'unlogged'): string[] {
  return [
    `create ${persistence === 'unlogged' ? 'unlogged ' : ''}table ${table} (${ACCOUNT_COLUMNS})`,
    `insert into ${table} (id, name, balance) select i, 'account ' || i, ` +
      `round((random() * 100000)::numeric, 2) from generate_series(1, ${rows}) i`,
  ]
}

const ACCOUNT_COLUMNS =
  'id integer primary key, name text not null, balance numeric(12, 2) not null, created_at timestamptz not null default now()'

/** Drops `berth bench`'s schema and its table. */
export function dropStatement(schema: string): string {
  return `drop schema if exists ${schema} cascade`
}
