/**
 * The run loop of every berth benchmark (`berth bench`, and bench/ through bench/harness.ts):
 * `concurrency` workers loop one operation each through a warm-up and a timed phase, each bounded
 * by a count and a time, and a run that stops making progress fails instead of hanging. Also the
 * small pieces every benchmark's rounds need: the rotation of the contenders, a bounded wait and a
 * full GC between runs.
 */
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { BerthError } from '../core/errors.js'

/** A phase ends at whichever comes first: `maxOps` operations or `maxMs` milliseconds. */
export interface PhaseBound {
  readonly maxOps: number
  readonly maxMs: number
}

export interface RunOptions {
  /** Number of concurrent workers. */
  readonly concurrency: number
  /** Warm-up phase; its operations are not counted. */
  readonly warmup: PhaseBound
  /** Timed phase. */
  readonly measure: PhaseBound
  /**
   * The clock is read once every `checkEvery` operations (rounded up to a power of two). Keep it
   * high for sub-microsecond operations (the default, 256) and use 1 for slow ones (network I/O).
   */
  readonly checkEvery?: number
  /**
   * Fail the run if it has not finished after this many milliseconds (a stuck pool would otherwise
   * hang the benchmark). Defaults to 5 × (warm-up + measure) + 10 s.
   */
  readonly stallMs?: number
  /** Stops the workers after their current operation; the run then rejects with the reason. */
  readonly signal?: AbortSignal
}

export interface RunResult {
  /** Operations completed during the timed phase. */
  readonly ops: number
  /** Length of the timed phase in milliseconds. */
  readonly ms: number
  readonly opsPerSec: number
}

/**
 * A `berth bench` run (or an `npm run bench:*` run) made no progress for its `stallMs`: a pool or
 * a server stopped answering. What to do: check the server (connections, locks) and the library
 * of that cell; the cell fails instead of being measured.
 */
export class BenchStallError extends BerthError {
  constructor(ops: number, stallMs: number) {
    super('BERTH_BENCH_STALLED', `run stalled: ${ops} operations after ${stallMs} ms`)
  }
}

/**
 * Shared by the workers of one run. A worker loops `while (!ctl.stopped) { ...one op...; ctl.tick() }`.
 * The switch from warm-up to the timed phase happens in place, so workers are never restarted and
 * the pipeline is already full when timing begins.
 */
export class RunControl {
  /** True once the timed phase has ended; workers should finish their current operation and return. */
  stopped = false
  /** Operations since the start of the run (warm-up included). */
  ops = 0

  // Plain (TypeScript-private) fields, not #private: tick() is the hot path of bench:pool, whose
  // recorded figures were taken with exactly this code.
  private readonly mask: number
  private measuring = false
  private opsLimit: number
  private deadline: number
  private startOps = 0
  private startTime = 0
  private endOps = 0
  private endTime = 0

  constructor(private readonly options: RunOptions) {
    this.mask = nextPowerOfTwo(Math.max(1, options.checkEvery ?? 256)) - 1
    this.opsLimit = options.warmup.maxOps
    this.deadline = performance.now() + options.warmup.maxMs
    if (options.warmup.maxOps <= 0 || options.warmup.maxMs <= 0) this.startMeasuring(performance.now())
  }

  /** Count one completed operation. */
  tick(): void {
    if ((++this.ops & this.mask) === 0 && !this.stopped) this.check()
  }

  private check(): void {
    const now = performance.now()
    if (this.ops < this.opsLimit && now < this.deadline) return
    if (!this.measuring) {
      this.startMeasuring(now)
      return
    }
    this.stopped = true
    this.endOps = this.ops
    this.endTime = now
  }

  private startMeasuring(now: number): void {
    this.measuring = true
    this.startOps = this.ops
    this.startTime = now
    this.opsLimit = this.ops + this.options.measure.maxOps
    this.deadline = now + this.options.measure.maxMs
  }

  result(): RunResult {
    const ops = this.endOps - this.startOps
    const ms = this.endTime - this.startTime
    return { ops, ms, opsPerSec: ms > 0 ? (ops * 1000) / ms : Number.NaN }
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

/**
 * Runs `concurrency` copies of `worker` until the timed phase ends and reports the throughput of
 * the timed phase.
 *
 * @throws the first error a worker throws; {@link BenchStallError} when the run stalls; the
 *   signal's reason when `options.signal` aborts
 */
export async function runWorkers(
  options: RunOptions,
  worker: (ctl: RunControl) => Promise<void>,
): Promise<RunResult> {
  const { signal } = options
  signal?.throwIfAborted()
  const ctl = new RunControl(options)
  const stallMs = options.stallMs ?? 5 * (options.warmup.maxMs + options.measure.maxMs) + 10_000
  let timer: NodeJS.Timeout | undefined
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ctl.stopped = true
      reject(new BenchStallError(ctl.ops, stallMs))
    }, stallMs)
    // Not unref()ed: a pool stuck on a promise that nothing will settle holds no handle, and
    // this timer is then what keeps the process alive long enough to report the stall.
  })
  const stop = () => {
    ctl.stopped = true
  }
  signal?.addEventListener('abort', stop, { once: true })
  try {
    const workers: Promise<void>[] = []
    for (let i = 0; i < options.concurrency; i++) workers.push(worker(ctl))
    await Promise.race([Promise.all(workers), stalled])
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', stop)
  }
  signal?.throwIfAborted()
  return ctl.result()
}

/** {@link runWorkers} for the common case where one operation is one awaited call. */
export function runOps(options: RunOptions, op: () => Promise<unknown>): Promise<RunResult> {
  return runWorkers(options, async (ctl) => {
    while (!ctl.stopped) {
      await op()
      ctl.tick()
    }
  })
}

/**
 * Waits for `promise`, but at most `ms` milliseconds. Resolves true if it settled in time (a
 * rejection is rethrown), false if the time ran out.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    // Not unref()ed, for the same reason as the stall timer of runWorkers.
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([promise.then(() => true as const), timeout])
  } finally {
    clearTimeout(timer)
  }
}

let gcFunction: (() => void) | undefined

/**
 * Runs a full garbage collection, so that one measurement does not pay for the garbage of the
 * previous one. Uses `globalThis.gc` when node runs with --expose-gc, and otherwise enables the
 * flag at run time.
 */
export function collectGarbage(): void {
  if (gcFunction === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc
    if (exposed !== undefined) {
      gcFunction = exposed
    } else {
      v8.setFlagsFromString('--expose-gc')
      gcFunction = runInNewContext('gc') as () => void
    }
  }
  gcFunction()
}

/**
 * The order to visit `items` in on repeat `round`: rotated by one each round, so that no item is
 * always measured first (or always right after the same neighbour) on a noisy machine.
 */
export function rotate<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return []
  const k = round % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}
