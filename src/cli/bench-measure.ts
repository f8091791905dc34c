/**
 * The run loop of `berth bench`: `concurrency` callers each loop one awaited query, checking every
 * result, through a warm-up and a timed phase, each bounded in time. A run that stops making
 * progress fails instead of hanging.
 */
import type { BenchClient } from './bench-clients.js'
import type { Workload } from './bench-workloads.js'
import { CliError } from './cli-error.js'
import { percentile } from './cli-stats.js'
import { ExitCode } from './exit-codes.js'

export interface Sample {
  readonly qps: number
  /** Per-call latency of the timed phase, ms. */
  readonly p50Ms: number
  readonly p99Ms: number
  readonly queries: number
}

export interface Phases {
  readonly warmupMs: number
  readonly durationMs: number
}

/** Warm-up (opens the connections, checks results), then the timed phase on the same pool. */
export async function measure(
  client: BenchClient,
  workload: Workload,
  concurrency: number,
  phases: Phases,
  signal: AbortSignal,
): Promise<Sample> {
  if (phases.warmupMs > 0) await phase(client, workload, concurrency, phases.warmupMs, signal)
  const timed = await phase(client, workload, concurrency, phases.durationMs, signal)
  return Object.freeze({
    qps: (timed.latencies.length / timed.ms) * 1000,
    p50Ms: percentile(timed.latencies, 50),
    p99Ms: percentile(timed.latencies, 99),
    queries: timed.latencies.length,
  })
}

interface PhaseResult {
  /** Latencies of the calls that completed within the phase, ms. */
  readonly latencies: number[]
  readonly ms: number
}

async function phase(
  client: BenchClient,
  workload: Workload,
  concurrency: number,
  ms: number,
  signal: AbortSignal,
): Promise<PhaseResult> {
  signal.throwIfAborted()
  const latencies: number[] = []
  const started = performance.now()
  let stoppedAt = Number.NaN
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    stoppedAt = performance.now()
  }
  const timer = setTimeout(stop, ms)
  timer.unref()
  signal.addEventListener('abort', stop, { once: true })
  const stallMs = 5 * ms + 15_000
  let stallTimer: NodeJS.Timeout | undefined
  const stalled = new Promise<never>((_, reject) => {
    stallTimer = setTimeout(() => {
      stop()
      reject(
        new CliError(ExitCode.unreachable, `a run stalled: ${latencies.length} queries in ${stallMs} ms`),
      )
    }, stallMs)
    stallTimer.unref()
  })
  const caller = async (): Promise<void> => {
    try {
      while (!stopped) {
        const params = workload.params()
        const t = performance.now()
        const rows = await client.run(workload.text, params)
        const elapsed = performance.now() - t
        workload.check(rows, params)
        if (!stopped) latencies.push(elapsed)
      }
    } catch (err) {
      stop() // the run has failed: the others stop too
      throw err
    }
  }
  try {
    const callers: Promise<void>[] = []
    for (let i = 0; i < concurrency; i++) callers.push(caller())
    await Promise.race([Promise.all(callers), stalled])
  } finally {
    clearTimeout(timer)
    clearTimeout(stallTimer)
    signal.removeEventListener('abort', stop)
  }
  signal.throwIfAborted()
  return { latencies, ms: stoppedAt - started }
}
