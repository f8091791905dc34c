/**
 * The workloads of `berth bench`, the same three as `npm run bench:pg`: `select 1`, a primary-key
 * select and a ten-row range select on a table of accounts. The table lives in a schema of its own
 * that the bench creates on the target server and drops at the end.
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

const RANGE = 10

/** A schema name no one else uses: `berth_bench_<pid>_<random>`. */
export function benchSchemaName(): string {
  return `berth_bench_${process.pid}_${randomBytes(4).toString('hex')}`
}

export function createWorkloads(schema: string, rows: number): Record<WorkloadName, Workload> {
  const table = `${schema}.accounts`
  const randomId = (hi: number) => 1 + Math.floor(Math.random() * hi)
  return {
    select1: {
      name: 'select1',
      title: 'select 1',
      needsTable: false,
      text: 'select 1',
      params: () => undefined,
      check(result, params) {
        if (result.length !== 1 || result[0]!['?column?'] !== 1)
          throw new WrongResultError('select1', params, result)
      },
    },
    pk: {
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
    },
    range: {
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
    },
  }
}

/**
 * Creates the schema and its table of `rows` accounts. The table is unlogged: it writes no WAL to
 * ship to replicas, and nothing of it needs to survive a crash.
 */
export function seedStatements(schema: string, rows: number): string[] {
  return [
    `create schema ${schema}`,
    `create unlogged table ${schema}.accounts (${ACCOUNT_COLUMNS})`,
    `insert into ${schema}.accounts (id, name, balance) select i, 'account ' || i, ` +
      `round((random() * 100000)::numeric, 2) from generate_series(1, ${rows}) i`,
    `analyze ${schema}.accounts`,
  ]
}

const ACCOUNT_COLUMNS =
  'id integer primary key, name text not null, balance numeric(12, 2) not null, created_at timestamptz not null default now()'

export function dropStatement(schema: string): string {
  return `drop schema if exists ${schema} cascade`
}
