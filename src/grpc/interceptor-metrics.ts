/**
 * Client call metrics: a grpc-js interceptor that counts calls per method (started, finished, in
 * flight, by status) and records their durations in a latency histogram, read as a frozen snapshot.
 *
 * It sits on every call, so the hot path is kept to what cannot be avoided: one Map lookup by the
 * method's path (a string grpc-js already holds, never one built per call), two `performance.now()`
 * readings, a few integer increments and one histogram record. The call wrapper (`ObservingCall`)
 * forwards straight to the next call and is its own listener, so it makes no closures per call.
 */
import { type Interceptor, type NextCall, status as Status, type StatusObject } from '@grpc/grpc-js'
import { InvalidOptionError } from '../core/errors.js'
import { LatencyHistogram, type LatencySummary } from '../core/latency-histogram.js'
import { ObservingCall } from './interceptors.js'

/** The metrics of one method (or of all of them, at the top of a snapshot). */
export interface CallCounts {
  /** Calls started (their metadata was sent). */
  readonly started: number
  /** Calls that ended with a status, whatever it was. */
  readonly finished: number
  /** Calls started and not finished yet: `started - finished`. */
  readonly inFlight: number
  /** Finished calls by status name (`'OK'`, `'UNAVAILABLE'`, ...); only statuses seen appear. */
  readonly byStatus: Readonly<Record<string, number>>
}

/** The metrics of one method. */
export interface MethodCallMetrics extends CallCounts {
  /**
   * Durations of finished calls in milliseconds, from the call's start to its status (for streams:
   * the whole stream), failed calls included.
   */
  readonly latency: LatencySummary
}

/** A frozen point-in-time copy of a `CallMetrics`. */
export interface CallMetricsSnapshot extends CallCounts {
  /** Per method, keyed by full path (`'/pkg.Service/Method'`). */
  readonly methods: Readonly<Record<string, MethodCallMetrics>>
}

/** Status codes 0..16 are counted in an array; any other code (never sent by a conforming peer) in a map. */
const KNOWN_CODES = 17

function statusName(code: number): string {
  return Status[code] ?? `CODE_${code}`
}

/** The live counters of one method. Mutable on purpose: it is written on every call. */
class MethodRecord {
  started = 0
  finished = 0
  readonly latency = new LatencyHistogram()
  readonly codes = new Array<number>(KNOWN_CODES).fill(0)
  otherCodes: Map<number, number> | undefined

  finish(code: number, ms: number): void {
    this.finished++
    this.latency.record(ms)
    if (code >= 0 && code < KNOWN_CODES) {
      this.codes[code]!++
    } else {
      this.otherCodes ??= new Map()
      this.otherCodes.set(code, (this.otherCodes.get(code) ?? 0) + 1)
    }
  }

  addStatuses(into: Record<string, number>): void {
    const codes = this.codes
    for (let code = 0; code < KNOWN_CODES; code++) {
      const n = codes[code]!
      if (n > 0) into[statusName(code)] = (into[statusName(code)] ?? 0) + n
    }
    if (this.otherCodes) {
      for (const [code, n] of this.otherCodes) into[statusName(code)] = (into[statusName(code)] ?? 0) + n
    }
  }
}

/** One call, timed from its start to its status. */
class MeteredCall extends ObservingCall {
  readonly #record: MethodRecord
  #startedAt = -1

  constructor(next: ReturnType<NextCall>, record: MethodRecord) {
    super(next)
    this.#record = record
  }

  protected began(): void {
    this.#record.started++
    this.#startedAt = performance.now()
  }

  protected ended(status: StatusObject): void {
    // grpc-js reports one status per call; the guard keeps the counts right if it ever did not.
    if (this.#startedAt < 0) return
    this.#record.finish(status.code, performance.now() - this.#startedAt)
    this.#startedAt = -1
  }
}

/**
 * Metrics of the calls made through `metricsInterceptor(metrics)`: per method, calls started,
 * finished and in flight, finished calls by status, and a latency histogram (1 µs resolution). One
 * `CallMetrics` can serve many clients and channels; counts only grow (there is no reset, so
 * exporters can treat them as counters).
 */
export class CallMetrics {
  readonly #methods = new Map<string, MethodRecord>()

  /** The interceptor that records into this object; the same function every time. */
  readonly interceptor: Interceptor = (options, nextCall) => {
    const path = options.method_definition.path
    let record = this.#methods.get(path)
    if (record === undefined) {
      record = new MethodRecord()
      this.#methods.set(path, record)
    }
    return new MeteredCall(nextCall(options), record)
  }

  /** Calls running now, over all methods. */
  get inFlight(): number {
    let n = 0
    for (const r of this.#methods.values()) n += r.started - r.finished
    return n
  }

  /** Durations of finished calls over all methods, in ms: the methods' histograms merged, exactly. */
  latency(): LatencySummary {
    return LatencyHistogram.merged(Array.from(this.#methods.values(), (r) => r.latency)).summary()
  }

  /** A frozen copy of every count and latency summary, with totals over all methods. */
  snapshot(): CallMetricsSnapshot {
    let started = 0
    let finished = 0
    const byStatus: Record<string, number> = {}
    const methods: Record<string, MethodCallMetrics> = {}
    for (const [path, r] of this.#methods) {
      started += r.started
      finished += r.finished
      r.addStatuses(byStatus)
      const own: Record<string, number> = {}
      r.addStatuses(own)
      methods[path] = Object.freeze({
        started: r.started,
        finished: r.finished,
        inFlight: r.started - r.finished,
        byStatus: Object.freeze(own),
        latency: r.latency.summary(),
      })
    }
    return Object.freeze({
      started,
      finished,
      inFlight: started - finished,
      byStatus: Object.freeze(byStatus),
      methods: Object.freeze(methods),
    })
  }
}

/**
 * A grpc-js client interceptor that records every call into `metrics`; read them with
 * `metrics.snapshot()`. Same as `metrics.interceptor`.
 *
 * A call counts as started when its metadata is sent and as finished when its status arrives
 * (including `CANCELLED` when the caller cancels, and `DEADLINE_EXCEEDED`); its duration is the
 * time between the two, in milliseconds.
 */
export function metricsInterceptor(metrics: CallMetrics): Interceptor {
  if (!(metrics instanceof CallMetrics)) {
    throw new InvalidOptionError('metrics', metrics, 'a CallMetrics (new CallMetrics())')
  }
  return metrics.interceptor
}
