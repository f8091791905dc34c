/**
 * Shared helpers of the gRPC reliability tests (issue 6): a load driver that accounts for every
 * call it starts (so a test can assert that none is left pending), a classifier for the errors
 * calls end with, a watch on process-level errors, and the resources a test starts, closed after
 * the file. Figures (time to detect, time to recover, failed calls) are measured here in wall-clock
 * milliseconds and reported with `t.diagnostic`, never asserted tightly: the machine is shared.
 */
import net from 'node:net'
import { after } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { BerthError } from '../../src/core/errors.js'
import type { ChannelPool } from '../../src/grpc/index.js'
import { type FaultProxy, startFaultProxy } from '../../src/testing/index.js'
import {
  type EchoClient,
  type EchoRequest,
  type EchoServer,
  type EchoServerOptions,
  echo,
  startEchoServer,
} from '../support/grpc.js'

const STATUS_CODES = new Set(Object.values(grpc.status).filter((v): v is number => typeof v === 'number'))

/** How one failed call ended. */
export interface CallFailure {
  /** ms since the load started. */
  readonly at: number
  readonly code: number | undefined
  readonly details: string
  readonly berthCode: string | undefined
  /** A gRPC status error (and, when berth made it, a BerthError as `cause`). */
  readonly typed: boolean
}

/** True for what a grpc-js caller may see: a status error, with a BerthError `cause` if berth set one. */
export function isTypedCallError(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const e = err as grpc.ServiceError & { berthCode?: unknown; cause?: unknown }
  if (typeof e.code !== 'number' || !STATUS_CODES.has(e.code)) return false
  if (e.code === grpc.status.OK) return false
  if (e.berthCode !== undefined) return e.cause instanceof BerthError && e.cause.code === e.berthCode
  return true
}

export interface TrackedLoadOptions {
  /** Concurrent callers. Default 8. */
  workers?: number
  /** Stop starting calls after this many. Default 20000. */
  maxCalls?: number
  /** Stop starting calls after this long, ms. Default 30000. */
  maxMs?: number
  request?: EchoRequest
  callOptions?: () => grpc.CallOptions
  /** A caller whose call failed waits this long before the next, so an outage is not a busy loop. Default 20. */
  pauseAfterFailureMs?: number
  /** Calls that take longer than this are kept in `slow`, with their times. Default 400. */
  slowMs?: number
}

/** A call that took longer than `slowMs`: stuck behind a fault, most likely. Times are ms since start. */
export interface SlowCall {
  readonly start: number
  readonly end: number
  readonly ok: boolean
}

/**
 * A bounded load whose every call is accounted for: `started === ok + failures.length + pending`.
 * Replies are recorded with their time and server id, so a test can tell when traffic left a
 * backend and when it came back.
 */
export class TrackedLoad {
  readonly t0 = Date.now()
  started = 0
  ok = 0
  pending = 0
  readonly failures: CallFailure[] = []
  readonly byServer = new Map<string, number>()
  /** Time (ms since start) of each reply, per server id. */
  readonly replies = new Map<string, number[]>()
  readonly slow: SlowCall[] = []
  /** Start times of the calls running now, by call number. */
  readonly #startTimes = new Map<number, number>()
  #stopped = false
  readonly #running: Promise<void>

  constructor(
    readonly client: EchoClient,
    readonly options: TrackedLoadOptions = {},
  ) {
    const { workers = 8 } = options
    this.#running = Promise.all(Array.from({ length: workers }, () => this.#worker())).then(() => {})
  }

  now(): number {
    return Date.now() - this.t0
  }

  count(id: string): number {
    return this.byServer.get(id) ?? 0
  }

  /** First reply from `id` at or after `since` (ms since start), or undefined. */
  firstReplyAfter(id: string, since: number): number | undefined {
    return this.replies.get(id)?.find((at) => at >= since)
  }

  /** Last reply from `id`, or undefined. */
  lastReply(id: string): number | undefined {
    const list = this.replies.get(id)
    return list === undefined ? undefined : list[list.length - 1]
  }

  failuresAfter(since: number): CallFailure[] {
    return this.failures.filter((f) => f.at >= since)
  }

  /** Start time (ms since start) of the oldest call still running; `Infinity` when none is. */
  oldestPendingStart(): number {
    let oldest = Number.POSITIVE_INFINITY
    for (const start of this.#startTimes.values()) if (start < oldest) oldest = start
    return oldest
  }

  /** Stops starting calls and waits (at most `drainMs`) for those running; then `pending` tells the rest. */
  async stop(drainMs = 20_000): Promise<this> {
    this.#stopped = true
    await Promise.race([this.#running, sleep(drainMs, undefined, { ref: false })])
    return this
  }

  async #worker(): Promise<void> {
    const {
      maxCalls = 20_000,
      maxMs = 30_000,
      request = { message: 'load' },
      pauseAfterFailureMs = 20,
      slowMs = 400,
    } = this.options
    while (!this.#stopped && this.started < maxCalls && this.now() < maxMs) {
      const n = ++this.started
      this.pending++
      const start = this.now()
      this.#startTimes.set(n, start)
      let ok = false
      try {
        const reply = await echo(this.client, request, this.options.callOptions?.() ?? {})
        this.ok++
        ok = true
        this.byServer.set(reply.serverId, this.count(reply.serverId) + 1)
        const list = this.replies.get(reply.serverId)
        if (list === undefined) this.replies.set(reply.serverId, [this.now()])
        else list.push(this.now())
      } catch (err) {
        const e = err as grpc.ServiceError & { berthCode?: string }
        this.failures.push({
          at: this.now(),
          code: e?.code,
          details: e?.details ?? String(err),
          berthCode: e?.berthCode,
          typed: isTypedCallError(err),
        })
      } finally {
        this.pending--
        this.#startTimes.delete(n)
        const end = this.now()
        if (end - start > slowMs) this.slow.push({ start, end, ok })
      }
      if (!ok && pauseAfterFailureMs > 0) await sleep(pauseAfterFailureMs)
    }
  }
}

/** A short, stable summary of failures for assertion messages: `{ UNAVAILABLE: 3 }`. */
export function failureCounts(failures: readonly CallFailure[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const f of failures) {
    const name = f.code === undefined ? 'untyped' : (grpc.status[f.code] ?? String(f.code))
    out[name] = (out[name] ?? 0) + 1
  }
  return out
}

/** Process-level errors seen while a test ran; install in the test, assert `errors` is empty at the end. */
export function watchProcessErrors(): { readonly errors: unknown[]; dispose(): void } {
  const errors: unknown[] = []
  const onError = (err: unknown) => errors.push(err)
  process.on('unhandledRejection', onError)
  process.on('uncaughtException', onError)
  return {
    errors,
    dispose() {
      process.off('unhandledRejection', onError)
      process.off('uncaughtException', onError)
    },
  }
}

/** Polls `predicate` every 10 ms; resolves with the time it took, rejects after `timeoutMs`. */
export async function timeUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
  return Date.now() - start
}

// --- resources, closed after the file ---------------------------------------------------------

const servers: EchoServer[] = []
const proxies: FaultProxy[] = []
const pools: ChannelPool[] = []
const rawServers: net.Server[] = []

after(async () => {
  await Promise.all(pools.map((p) => p.destroy().catch(() => {})))
  await Promise.all(proxies.map((p) => p.close().catch(() => {})))
  await Promise.all(servers.map((s) => s.stop(1000)))
  await Promise.all(rawServers.map((s) => new Promise((resolve) => s.close(resolve))))
})

/** An Echo server on loopback, stopped after the file. Retries a busy port (a restart where it was). */
export async function echoServer(options: EchoServerOptions = {}): Promise<EchoServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      const s = await startEchoServer(options)
      servers.push(s)
      return s
    } catch (err) {
      if (options.port === undefined || attempt >= 20) throw err
      await sleep(100)
    }
  }
}

/** A fault proxy to `s`, closed after the file. */
export async function proxyTo(s: { port: number }): Promise<FaultProxy> {
  const p = await startFaultProxy({ target: { host: '127.0.0.1', port: s.port } })
  proxies.push(p)
  return p
}

/** Registers a pool to be destroyed after the file (a test that fails midway leaks nothing). */
export function track(pool: ChannelPool): ChannelPool {
  pools.push(pool)
  return pool
}

/**
 * A TCP server that accepts connections and reads them but never writes a byte: the HTTP/2 (or
 * TLS) handshake never completes. `sockets` counts the connections it accepted.
 */
export async function startStallServer(port = 0): Promise<{
  readonly port: number
  readonly address: string
  readonly accepted: () => number
  close(): Promise<void>
}> {
  const open = new Set<net.Socket>()
  let accepted = 0
  const server = net.createServer((socket) => {
    accepted++
    open.add(socket)
    socket.on('data', () => {})
    socket.on('error', () => {})
    socket.on('close', () => open.delete(socket))
  })
  rawServers.push(server)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const bound = (server.address() as net.AddressInfo).port
  return {
    port: bound,
    address: `127.0.0.1:${bound}`,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Options every reliability pool uses unless a test says otherwise: fast reconnects, warnings kept quiet. */
export const FAST_RECONNECT = {
  reconnectBackoff: { initialMs: 100, maxMs: 500 },
  onWarning: () => {},
} as const

// --- bad input ---------------------------------------------------------------------------------

/** A bad-input case: what to run, and the field the error must name. */
export type BadInput = readonly [name: string, run: () => unknown, field: string]

/**
 * Runs `run` (which may throw, or return a promise that rejects) and checks the error: a
 * `BerthError` whose message names `field` (and whose `option`/`field` property is it, when it has
 * one). Fails if `run` returns or resolves, or throws anything else (a TypeError, say).
 */
export async function expectTypedError(run: () => unknown, field: string): Promise<BerthError> {
  let error: unknown
  let settled = false
  try {
    const result = run()
    if (result !== null && typeof (result as Promise<unknown>)?.then === 'function') {
      await (result as Promise<unknown>)
    }
    settled = true
  } catch (err) {
    error = err
  }
  if (settled) throw new Error(`expected a BerthError naming ${field}, but the call succeeded`)
  if (!(error instanceof BerthError)) {
    const e = error as Error
    throw new Error(
      `expected a BerthError naming ${field}, got ${e?.constructor?.name}: ${e?.message ?? e}`,
      {
        cause: error,
      },
    )
  }
  if (!error.message.includes(field)) {
    throw new Error(`the ${error.name} does not name ${field}: ${error.message}`)
  }
  const named =
    (error as { option?: unknown; field?: unknown }).option ?? (error as { field?: unknown }).field
  if (typeof named === 'string' && named !== field) {
    throw new Error(`the ${error.name} names ${JSON.stringify(named)}, not ${field}`)
  }
  return error
}

/**
 * Waits until backend `id` answers again after `since` (a restart, a heal) and then until every
 * channel of the pool is READY. `firstReplyMs` is the time to that first reply.
 */
export async function recovered(
  load: TrackedLoad,
  pool: ChannelPool,
  id: string,
  since: number,
  what: string,
): Promise<{ firstReplyMs: number; allReadyAt: number }> {
  const firstReplyMs = await timeUntil(() => load.firstReplyAfter(id, since) !== undefined, 15_000, what)
  await timeUntil(
    () => pool.connectivity().channels.every((c) => c.state === 'READY'),
    15_000,
    'every channel READY',
  )
  return { firstReplyMs, allReadyAt: load.now() }
}
