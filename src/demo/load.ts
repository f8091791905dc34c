/**
 * The demo's client load: a steady, bounded rate of billing calls (mostly FindInvoice, some
 * Transfer) through one berth/grpc client, with per-second throughput and latency and failures
 * counted by gRPC status, in total and for reads (FindInvoice) and writes (Transfer) apart. Open-loop: calls are issued on a schedule, not when the last one ends, so
 * a slow backend shows as latency and calls in flight instead of quietly lowering the rate; a cap
 * on calls in flight keeps a stalled system from piling up without bound.
 */
import { randomUUID } from 'node:crypto'
import * as grpc from '@grpc/grpc-js'
import { InvalidOptionError } from '../core/errors.js'
import { LatencyHistogram } from '../core/latency-histogram.js'
import { unrefInterval } from '../core/timers.js'
import type { BillingClient } from './billing-proto.js'
import { SEED_ACCOUNTS, SEED_INVOICES } from './schema.js'

/** Options of {@link BillingLoad}. */
export interface BillingLoadOptions {
  /** Calls started per second. Default 200. */
  ratePerSecond?: number
  /** Share of calls that are Transfer (the rest are FindInvoice), 0..1. Default 0.1. */
  transferShare?: number
  /** Most calls in flight; calls due beyond it are skipped (and counted). Default 1000. */
  maxInFlight?: number
  /** How often calls are issued, ms. Default 50. */
  tickMs?: number
}

/** The calls of one kind: reads (FindInvoice) or writes (Transfer). */
export interface LoadKindSnapshot {
  /** Calls finished (succeeded or failed) since start. */
  readonly calls: number
  /** Calls that failed, since start. */
  readonly errors: number
  /** Calls finished per second, over the last full second. */
  readonly qps: number
}

/** A snapshot of the load. */
export interface LoadSnapshot {
  /** Calls finished (succeeded or failed) since start. */
  readonly calls: number
  /** Calls that failed, since start. */
  readonly errors: number
  /** Failed calls by gRPC status name. */
  readonly errorsByStatus: Readonly<Record<string, number>>
  /** Calls finished per second, over the last full second. */
  readonly qps: number
  /** Latency of the calls finished in the last full second, ms. */
  readonly latencyP50Ms: number
  readonly latencyP99Ms: number
  readonly inFlight: number
  /** Calls not issued because `maxInFlight` were in flight. */
  readonly skipped: number
  /** FindInvoice calls: reads, served by the standby when there is one in rotation. */
  readonly reads: LoadKindSnapshot
  /** Transfer calls: writes, on the primary. */
  readonly writes: LoadKindSnapshot
}

type Kind = 'reads' | 'writes'
interface KindCounts {
  calls: number
  errors: number
  windowCalls: number
  qps: number
}

const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(grpc.status)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v, k]),
)

/** The name of a gRPC status code (`'UNAVAILABLE'`), or `'UNKNOWN'` for an error without one. */
export function statusName(code: number | undefined): string {
  return (code !== undefined && STATUS_NAMES[code]) || 'UNKNOWN'
}

export class BillingLoad {
  readonly #client: BillingClient
  readonly #rate: number
  readonly #transferShare: number
  readonly #maxInFlight: number
  readonly #tickMs: number
  readonly #window = new LatencyHistogram()
  readonly #errorsByStatus: Record<string, number> = {}
  readonly #idle = new Set<() => void>()
  #timer: NodeJS.Timeout | undefined
  #lastTick = 0
  #due = 0
  #windowStart = 0
  #windowCalls = 0
  #calls = 0
  #errors = 0
  #inFlight = 0
  #skipped = 0
  #last = { qps: 0, p50: 0, p99: 0 }
  readonly #kinds: Record<Kind, KindCounts> = {
    reads: { calls: 0, errors: 0, windowCalls: 0, qps: 0 },
    writes: { calls: 0, errors: 0, windowCalls: 0, qps: 0 },
  }

  /** @throws InvalidOptionError */
  constructor(client: BillingClient, options: BillingLoadOptions = {}) {
    this.#client = client
    this.#rate = positive('ratePerSecond', options.ratePerSecond ?? 200)
    this.#maxInFlight = positive('maxInFlight', options.maxInFlight ?? 1000)
    this.#tickMs = positive('tickMs', options.tickMs ?? 50)
    const share = options.transferShare ?? 0.1
    if (typeof share !== 'number' || !(share >= 0 && share <= 1))
      throw new InvalidOptionError('transferShare', share, 'a number from 0 to 1')
    this.#transferShare = share
  }

  /** Starts issuing calls. Idempotent. */
  start(): void {
    if (this.#timer !== undefined) return
    this.#lastTick = this.#windowStart = performance.now()
    this.#timer = unrefInterval(() => this.#tick(), this.#tickMs)
  }

  /** Stops issuing calls and waits (at most `timeoutMs`) for those in flight to finish. */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#inFlight === 0) return
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve) => {
      this.#idle.add(resolve)
      timer = setTimeout(resolve, options.timeoutMs ?? 5000)
      timer.unref()
    })
    clearTimeout(timer)
  }

  snapshot(): LoadSnapshot {
    return Object.freeze({
      calls: this.#calls,
      errors: this.#errors,
      errorsByStatus: Object.freeze({ ...this.#errorsByStatus }),
      qps: this.#last.qps,
      latencyP50Ms: this.#last.p50,
      latencyP99Ms: this.#last.p99,
      inFlight: this.#inFlight,
      skipped: this.#skipped,
      reads: this.#kind('reads'),
      writes: this.#kind('writes'),
    })
  }

  #kind(kind: Kind): LoadKindSnapshot {
    const k = this.#kinds[kind]
    return Object.freeze({ calls: k.calls, errors: k.errors, qps: k.qps })
  }

  #tick(): void {
    const now = performance.now()
    // A late tick (a busy event loop) issues what was due, but never more than a second's worth.
    this.#due = Math.min(this.#due + ((now - this.#lastTick) * this.#rate) / 1000, this.#rate)
    this.#lastTick = now
    while (this.#due >= 1) {
      this.#due--
      if (this.#inFlight >= this.#maxInFlight) this.#skipped++
      else this.#call()
    }
    if (now - this.#windowStart >= 1000) {
      const s = this.#window.summary()
      const elapsed = now - this.#windowStart
      this.#last = { qps: (this.#windowCalls * 1000) / elapsed, p50: s.p50, p99: s.p99 }
      for (const k of Object.values(this.#kinds)) {
        k.qps = (k.windowCalls * 1000) / elapsed
        k.windowCalls = 0
      }
      this.#window.reset()
      this.#windowCalls = 0
      this.#windowStart = now
    }
  }

  #call(): void {
    this.#inFlight++
    const started = performance.now()
    const write = Math.random() < this.#transferShare
    const kind = this.#kinds[write ? 'writes' : 'reads']
    const done = (err: grpc.ServiceError | null) => {
      this.#inFlight--
      this.#calls++
      this.#windowCalls++
      kind.calls++
      kind.windowCalls++
      this.#window.record(performance.now() - started)
      if (err) {
        this.#errors++
        kind.errors++
        const name = statusName(err.code)
        this.#errorsByStatus[name] = (this.#errorsByStatus[name] ?? 0) + 1
      }
      if (this.#inFlight === 0) {
        for (const resolve of this.#idle) resolve()
        this.#idle.clear()
      }
    }
    const metadata = new grpc.Metadata()
    if (write) {
      const from = randomInt(SEED_ACCOUNTS)
      const to = 1 + (from % SEED_ACCOUNTS) // a neighbour: never the same account
      const request = { transferId: randomUUID(), fromAccount: from, toAccount: to, cents: randomInt(500) }
      this.#client.transfer(request, metadata, {}, done)
    } else {
      this.#client.findInvoice({ id: randomInt(SEED_INVOICES) }, metadata, {}, done)
    }
  }
}

/** 1..n */
function randomInt(n: number): number {
  return 1 + Math.floor(Math.random() * n)
}

function positive(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new InvalidOptionError(option, value, 'a finite number > 0')
  return value
}
