/**
 * One run of one library on one workload: `concurrency` callers each loop one awaited query,
 * checking every result, through a warm-up and then a timed phase on the same pool, on the shared
 * run loop (bench-loop.ts). Every call of the timed phase is timed with `performance.now()` and
 * recorded, in µs, in a `node:perf_hooks` histogram.
 */
import { type RecordableHistogram, createHistogram } from 'node:perf_hooks'
import type { BenchClient } from './bench-clients.js'
import { type PhaseBound, type RunControl, type RunOptions, runWorkers } from './bench-loop.js'
import type { Workload } from './bench-workloads.js'

export interface Sample {
  readonly qps: number
  /** Per-call latency of the timed phase, ms. */
  readonly p50Ms: number
  readonly p99Ms: number
  /** Queries completed in the timed phase. */
  readonly queries: number
  /** Length of the timed phase, ms. */
  readonly ms: number
}

/** Each phase ends at its count or its time bound, whichever comes first (`Infinity`: no count bound). */
export interface Phases {
  /** A bound of 0 skips the warm-up. */
  readonly warmup: PhaseBound
  readonly timed: PhaseBound
}

/** Neither phase of a run has a warm-up of its own: the warm-up is a run before the timed one. */
const NO_PHASE: PhaseBound = { maxOps: 0, maxMs: 0 }

/**
 * Warm-up (opens the connections, and for postgres.js prepares the statement on each, checking
 * every result before anything is timed), then the timed phase with fresh callers.
 *
 * @throws WrongResultError when a library returns rows that do not answer the query; the run
 *   loop's errors (a stall, the signal's reason)
 */
export async function measure(
  client: BenchClient,
  workload: Workload,
  concurrency: number,
  phases: Phases,
  signal?: AbortSignal,
): Promise<Sample> {
  const options = (bound: PhaseBound): RunOptions => ({
    concurrency,
    warmup: NO_PHASE,
    measure: bound,
    checkEvery: 1,
    ...(signal === undefined ? {} : { signal }),
  })
  if (phases.warmup.maxMs > 0 && phases.warmup.maxOps > 0) {
    await runWorkers(options(phases.warmup), caller(client, workload, undefined))
  }
  const hist = createHistogram()
  const timed = await runWorkers(options(phases.timed), caller(client, workload, hist))
  return Object.freeze({
    qps: timed.opsPerSec,
    p50Ms: hist.percentile(50) / 1000,
    p99Ms: hist.percentile(99) / 1000,
    queries: timed.ops,
    ms: timed.ms,
  })
}

/**
 * A caller loops one query at a time and checks every result; the latency of a call is recorded
 * only while `hist` is given and the phase is still running.
 */
function caller(
  client: BenchClient,
  workload: Workload,
  hist: RecordableHistogram | undefined,
): (ctl: RunControl) => Promise<void> {
  return async (ctl) => {
    try {
      while (!ctl.stopped) {
        const params = workload.params()
        const start = performance.now()
        const rows = await client.run(workload, params)
        const us = (performance.now() - start) * 1000
        workload.check(rows, params)
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
