/**
 * The rounds of `berth bench` and `npm run bench:pg`: every round measures every (workload,
 * callers, library) cell once, the libraries of a cell back to back, and the library order rotates
 * between rounds, so that slow phases of a shared machine hit all libraries alike and round i of
 * two libraries can be compared as a pair. Each run gets a fresh pool, which is closed afterwards;
 * the next run starts only once the server has none of the bench's sessions left.
 */
import type { PgPool } from '../pg/pg-pool.js'
import type { BenchClient, BenchLibrary, LibraryName } from './bench-clients.js'
import { collectGarbage, rotate, settlesWithin } from './bench-loop.js'
import { type Phases, type Sample, measure } from './bench-measure.js'
import type { Workload, WorkloadName } from './bench-workloads.js'
import { formatMs, formatRate } from './cli-stats.js'
import { type PgTarget, openPool } from './pg-target.js'

/** One run of a cell, with the server connections the pool had open at the end of its timed phase. */
export interface CellSample extends Sample {
  readonly conns: number
}

/** Samples by {@link cellKey}, one per round; null for a run that failed. */
export type SampleTable = Map<string, (CellSample | null)[]>

/** The key of one (library, workload, callers) cell in a {@link SampleTable}. */
export function cellKey(library: LibraryName, workload: WorkloadName, concurrency: number): string {
  return `${library}|${workload}|${concurrency}`
}

export interface RoundsPlan {
  /** The libraries to measure (none unavailable). */
  readonly libraries: readonly BenchLibrary[]
  readonly workloads: readonly Workload[]
  readonly concurrency: readonly number[]
  readonly runs: number
  readonly phases: Phases
  /** Most connections a pool may open: more is a problem. */
  readonly size: number
}

export interface RoundsContext {
  /** The bench's admin pool, which counts the sessions of the libraries' pools. */
  readonly admin: PgPool
  /** application_name of the libraries' sessions (ClientSettings.applicationName). */
  readonly applicationName: string
  /** Progress, one line per run. */
  readonly log: (line: string) => void
  /** Stops the current run; the rounds then reject with the reason. */
  readonly signal?: AbortSignal
}

export interface RoundsResult {
  readonly samples: SampleTable
  /** Runs that failed, pools that opened too many connections or left some open. */
  readonly problems: readonly string[]
}

/** How long a closed pool's sessions may take to go away before that counts as a problem, ms. */
const CLOSE_WAIT_MS = 5_000
/** How long a graceful close may take before the pool is destroyed, ms. */
const CLOSE_MS = 10_000

/**
 * Measures every cell of `plan` in `plan.runs` interleaved rounds.
 *
 * @throws the signal's reason when it aborts (the pool of the current run is closed first)
 */
export async function runRounds(plan: RoundsPlan, ctx: RoundsContext): Promise<RoundsResult> {
  const samples: SampleTable = new Map()
  const problems: string[] = []
  for (let round = 0; round < plan.runs; round++) {
    ctx.log(`round ${round + 1}/${plan.runs}`)
    for (const workload of plan.workloads) {
      for (const concurrency of plan.concurrency) {
        for (const lib of rotate(plan.libraries, round)) {
          const where = `${lib.name} ${workload.name} c=${concurrency} run ${round + 1}`
          const sample = await runCell(plan, ctx, lib, workload, concurrency, where, problems)
          const key = cellKey(lib.name, workload.name, concurrency)
          samples.set(key, [...(samples.get(key) ?? []), sample])
        }
      }
    }
  }
  return { samples, problems }
}

async function runCell(
  plan: RoundsPlan,
  ctx: RoundsContext,
  lib: BenchLibrary,
  workload: Workload,
  concurrency: number,
  where: string,
  problems: string[],
): Promise<CellSample | null> {
  collectGarbage()
  let client: BenchClient
  try {
    client = await lib.make()
  } catch (err) {
    problems.push(`${where}: cannot create the pool: ${firstLine(err)}`)
    return null
  }
  let sample: CellSample | null = null
  try {
    const s = await measure(client, workload, concurrency, plan.phases, ctx.signal)
    sample = Object.freeze({ ...s, conns: await countSessions(ctx.admin, ctx.applicationName) })
    ctx.log(
      `  ${where.padEnd(36)} ${formatRate(s.qps).padStart(6)}/s  p50 ${formatMs(s.p50Ms).padStart(8)}` +
        `  p99 ${formatMs(s.p99Ms).padStart(8)}  (${s.queries} queries in ${s.ms.toFixed(0)} ms, ${sample.conns} conns)`,
    )
    if (sample.conns > plan.size) {
      problems.push(`${where}: ${sample.conns} connections open on the server (max ${plan.size})`)
    }
  } catch (err) {
    if (ctx.signal?.aborted) {
      await settlesWithin(
        client.destroy().catch(() => {}),
        CLOSE_MS,
      )
      throw ctx.signal.reason
    }
    problems.push(`${where}: ${firstLine(err)}`)
    ctx.log(`  ${where.padEnd(36)} FAILED: ${firstLine(err)}`)
  }
  await closeClient(client, where, problems)
  const left = await sessionsGone(ctx)
  if (left > 0)
    problems.push(`${where}: ${left} connections still open ${CLOSE_WAIT_MS / 1000} s after close`)
  return sample
}

/** Closes gracefully, and destroys the pool when that takes longer than {@link CLOSE_MS}. */
async function closeClient(client: BenchClient, where: string, problems: string[]): Promise<void> {
  let closed = false
  try {
    closed = await settlesWithin(client.close(), CLOSE_MS)
  } catch (err) {
    problems.push(`${where}: close failed: ${firstLine(err)}`)
  }
  if (!closed) {
    problems.push(`${where}: close had not finished after ${CLOSE_MS / 1000} s; destroyed`)
    await settlesWithin(
      client.destroy().catch(() => {}),
      5_000,
    )
  }
}

/** Sessions on the server whose application_name is `applicationName`. */
export async function countSessions(admin: PgPool, applicationName: string): Promise<number> {
  const row = await admin.queryRow<{ n: number }>(
    'select count(*)::int as n from pg_stat_activity where application_name = $1',
    [applicationName],
  )
  return row?.n ?? 0
}

/** Waits (bounded) until the bench's own sessions are gone, so one library's teardown does not overlap the next run. */
async function sessionsGone(ctx: RoundsContext): Promise<number> {
  const deadline = performance.now() + CLOSE_WAIT_MS
  for (;;) {
    const n = await countSessions(ctx.admin, ctx.applicationName)
    if (n === 0 || performance.now() > deadline || ctx.signal?.aborted) return n
    await new Promise((resolve) => setTimeout(resolve, 20).unref())
  }
}

/**
 * The bench's own connection to the server: one, not pipelined, named `<applicationName> admin`
 * so that it does not count among the libraries' sessions.
 */
export function openBenchAdmin(
  target: PgTarget,
  applicationName: string,
  connectTimeoutMs?: number,
): Promise<PgPool> {
  return openPool(target, {
    name: 'bench-admin',
    maxConns: 1,
    minConns: 0,
    minIdleConns: 0,
    pipeline: false,
    budgetCheck: false,
    applicationName: `${applicationName} admin`,
    ...(connectTimeoutMs === undefined
      ? {}
      : { connectTimeout: connectTimeoutMs, acquireTimeout: connectTimeoutMs + 5_000 }),
  })
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!
}
