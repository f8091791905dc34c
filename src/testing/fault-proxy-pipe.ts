import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { unrefTimeout } from '../core/timers.js'

/** `upstream` is client → target, `downstream` is target → client. */
export type FaultDirection = 'upstream' | 'downstream'

/** The faults of one direction; read live on every chunk, so changes reach open connections at once. */
export interface DirectionFaults {
  latencyMs: number
  jitterMs: number
  bytesPerSecond: number
}

/** The proxy's current faults. One object per proxy, shared by all its pipes and mutated in place. */
export interface FaultState {
  readonly upstream: DirectionFaults
  readonly downstream: DirectionFaults
  blackhole: boolean
  halfOpen: boolean
}

/** Proxy-wide byte counters the pipes add to. */
export interface ByteCounters {
  upstream: number
  downstream: number
  dropped: number
}

/** A token bucket holds this many seconds' worth of bytes: the largest burst after an idle spell. */
export const BANDWIDTH_BURST_SECONDS = 0.1
/** Bandwidth-limited bytes go out in slices of at least this many milliseconds' worth (fewer timers). */
const BANDWIDTH_TICK_MS = 10
/** A pipe stops reading from its source while this many bytes wait in its queue (the "bytes in flight"). */
export const PIPE_HIGH_WATER_BYTES = 1024 * 1024

interface Item {
  /** `null` is the FIN: the source ended its side, pass that on once everything before it is out. */
  chunk: Buffer | null
  dueAt: number
}

/**
 * Token bucket for one pipe. The rate is passed on every call rather than stored, so a new
 * `setBandwidth()` applies to bytes already waiting. Starts full; an infinite rate leaves it full.
 */
class TokenBucket {
  #tokens = Number.POSITIVE_INFINITY
  #refilledAt = 0

  /** How many of `want` bytes may go now (0 when fewer than a tick's worth of tokens are there). */
  take(want: number, rate: number, now: number): number {
    if (rate === Number.POSITIVE_INFINITY) {
      this.#tokens = Number.POSITIVE_INFINITY
      return want
    }
    const capacity = Math.max(1, rate * BANDWIDTH_BURST_SECONDS)
    this.#tokens = Math.min(capacity, this.#tokens + ((now - this.#refilledAt) * rate) / 1000)
    this.#refilledAt = now
    if (this.#tokens < this.#slice(want, rate)) return 0
    const n = Math.min(want, Math.floor(this.#tokens))
    this.#tokens -= n
    return n
  }

  /** Milliseconds until {@link take} can hand out a slice of `want`. */
  waitMs(want: number, rate: number): number {
    return Math.max(1, ((this.#slice(want, rate) - this.#tokens) * 1000) / rate)
  }

  #slice(want: number, rate: number): number {
    const capacity = Math.max(1, rate * BANDWIDTH_BURST_SECONDS)
    return Math.min(want, Math.floor(capacity), Math.max(1, Math.floor((rate * BANDWIDTH_TICK_MS) / 1000)))
  }
}

/**
 * One direction of a proxied connection: reads `from`, queues each chunk with its due time (latency
 * and jitter are drawn per chunk), and writes the queue head to `to` when it is due and the token
 * bucket allows. Only the head is ever written, so bytes keep their order whatever the delays.
 * `to` is undefined for a connection accepted during a blackhole: it has no target and drops all.
 */
export class Pipe {
  readonly #from: Socket
  readonly #to: Socket | undefined
  readonly #direction: FaultDirection
  readonly #faults: FaultState
  readonly #counters: ByteCounters
  readonly #random: () => number
  readonly #bucket = new TokenBucket()
  readonly #queue: Item[] = []
  #queuedBytes = 0
  #timer: NodeJS.Timeout | undefined
  #waitingForDrain = false
  #stopped = false

  constructor(
    from: Socket,
    to: Socket | undefined,
    direction: FaultDirection,
    faults: FaultState,
    counters: ByteCounters,
    random: () => number,
  ) {
    this.#from = from
    this.#to = to
    this.#direction = direction
    this.#faults = faults
    this.#counters = counters
    this.#random = random
    from.on('data', (chunk: Buffer) => this.#onData(chunk))
    from.on('end', () => this.#enqueue(null))
    to?.on('drain', () => {
      this.#waitingForDrain = false
      this.refresh()
    })
  }

  /** Bytes read but not yet written on (or dropped). */
  get queuedBytes(): number {
    return this.#queuedBytes
  }

  /** Re-reads the faults: delivers what is due, pauses or resumes reading. Call after any change. */
  refresh(): void {
    this.#pump()
    this.#updateFlow()
  }

  /** Drops everything queued and stops for good (the connection is going away). */
  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#queue.length = 0
    this.#queuedBytes = 0
  }

  #onData(chunk: Buffer): void {
    if (this.#stopped || this.#faults.blackhole || this.#to === undefined || this.#to.destroyed) {
      this.#counters.dropped += chunk.length
      return
    }
    this.#enqueue(chunk)
  }

  /** Delays are drawn when a chunk (or the FIN, which is a packet too) arrives, not when it is sent. */
  #enqueue(chunk: Buffer | null): void {
    if (this.#stopped) return
    const { latencyMs, jitterMs } = this.#faults[this.#direction]
    const jitter = jitterMs === 0 ? 0 : (this.#random() * 2 - 1) * jitterMs
    this.#queue.push({ chunk, dueAt: performance.now() + Math.max(0, latencyMs + jitter) })
    this.#queuedBytes += chunk?.length ?? 0
    this.refresh()
  }

  #pump(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const to = this.#to
    while (!this.#stopped && this.#queue.length > 0) {
      if (to === undefined || to.destroyed) {
        this.stop()
        return
      }
      if (this.#faults.halfOpen || this.#waitingForDrain) return
      const head = this.#queue[0]!
      const now = performance.now()
      if (head.dueAt > now) {
        this.#wake(head.dueAt - now)
        return
      }
      if (head.chunk === null) {
        // A FIN is held, not dropped, during a blackhole: it corrupts nothing when it arrives late,
        // and dropping it would leave the target holding the connection until the proxy closes.
        if (this.#faults.blackhole) return
        this.#queue.shift()
        to.end()
        continue
      }
      if (this.#faults.blackhole) {
        this.#queue.shift()
        this.#queuedBytes -= head.chunk.length
        this.#counters.dropped += head.chunk.length
        continue
      }
      const rate = this.#faults[this.#direction].bytesPerSecond
      const n = this.#bucket.take(head.chunk.length, rate, now)
      if (n === 0) {
        this.#wake(this.#bucket.waitMs(head.chunk.length, rate))
        return
      }
      const slice = n === head.chunk.length ? head.chunk : head.chunk.subarray(0, n)
      if (n === head.chunk.length) this.#queue.shift()
      else head.chunk = head.chunk.subarray(n)
      this.#queuedBytes -= n
      this.#counters[this.#direction] += n
      if (!to.write(slice)) this.#waitingForDrain = true
    }
  }

  #wake(ms: number): void {
    this.#timer = unrefTimeout(() => this.refresh(), ms)
  }

  #updateFlow(): void {
    if (this.#from.destroyed || this.#from.readableEnded) return
    const hold = this.#faults.halfOpen || this.#queuedBytes >= PIPE_HIGH_WATER_BYTES
    if (hold) this.#from.pause()
    else this.#from.resume()
  }
}
