/** The public types of the fault proxy; the implementation is in `fault-proxy-server.ts`. */

import { BerthError } from '../core/errors.js'

export type FaultProxyErrorCode = 'BERTH_FAULT_PROXY_CLOSED' | 'BERTH_FAULT_PROXY_LISTEN'

/**
 * A fault proxy could not listen (`BERTH_FAULT_PROXY_LISTEN`: the port is taken, the host is not
 * an address of this machine), or was used after `close()` (`BERTH_FAULT_PROXY_CLOSED`). What to
 * do: listen on port 0 (the default) or a free port; start a new proxy instead of reusing a closed
 * one.
 */
export class FaultProxyError extends BerthError {
  declare readonly code: FaultProxyErrorCode
}

/** Which directions a latency or bandwidth setting applies to. Default `'both'`. */
export type FaultDirectionOption = 'both' | 'upstream' | 'downstream'

/**
 * How `refuseNew(true)` turns clients away:
 * - `'refuse'`: stop listening, so a connect fails with ECONNREFUSED (a server that is down).
 * - `'reset'`: accept, then reset at once, so the connect succeeds and the first read or write fails
 *   with ECONNRESET (a server that is up but overloaded or crashing).
 */
export type RefuseMode = 'refuse' | 'reset'

/** Where a proxy forwards to. */
export interface FaultProxyEndpoint {
  readonly host: string
  readonly port: number
}

export interface StartFaultProxyOptions {
  /** Where to forward. Can be changed later with `setTarget()`. */
  target: FaultProxyEndpoint
  /** Where to listen. Default `{ host: '127.0.0.1', port: 0 }` (a free port). */
  listen?: { host?: string; port?: number }
  /** Allow a `listen.host` outside 127.0.0.0/8 and ::1. Default false: a test proxy stays local. */
  allowNonLoopback?: boolean
  /** Random source in [0, 1) for latency jitter. Default `Math.random`. */
  random?: () => number
}

export interface LatencyOptions {
  /** Each chunk's delay is `ms ± jitterMs` (uniform, at least 0). Default 0. */
  jitterMs?: number
  /** Default `'both'`: a round trip then costs `2 * ms`. */
  direction?: FaultDirectionOption
}

export interface BandwidthOptions {
  /** Default `'both'`. */
  direction?: FaultDirectionOption
}

export interface RefuseNewOptions {
  /** Default `'refuse'` (ECONNREFUSED); see {@link RefuseMode}. */
  mode?: RefuseMode
}

/** The faults of one direction, as set. */
export interface FaultProxyDirectionStats {
  readonly latencyMs: number
  readonly jitterMs: number
  readonly bytesPerSecond: number
}

/** A frozen snapshot; see {@link FaultProxy.stats}. Byte counts are totals since start. */
export interface FaultProxyStats {
  /** Open client/target connection pairs. */
  readonly connections: number
  /** Client connections accepted, including those reset at once by `refuseNew(true, { mode: 'reset' })`. */
  readonly accepted: number
  /** Client connections reset on accept by `refuseNew(true, { mode: 'reset' })`. */
  readonly refused: number
  /** Connections aborted by `resetAll()`. */
  readonly reset: number
  /** Connections whose target could not be reached (the client got a FIN). */
  readonly connectErrors: number
  readonly bytesUpstream: number
  readonly bytesDownstream: number
  /** Bytes read and thrown away: blackholed, or with nowhere left to go. */
  readonly bytesDropped: number
  /** Bytes read and waiting for their latency or bandwidth slot (or for a half-open to heal). */
  readonly bytesQueued: number
  /** False while `refuseNew(true)` (mode `'refuse'`) holds the port closed, and after `close()`. */
  readonly listening: boolean
  readonly upstream: FaultProxyDirectionStats
  readonly downstream: FaultProxyDirectionStats
  readonly blackhole: boolean
  readonly halfOpen: boolean
  readonly refusingNew: false | RefuseMode
}

/**
 * A TCP proxy between a client and a target with switchable network faults, for testing how a
 * service behaves when its database or backend misbehaves. Pure Node, no external binaries.
 *
 * Latency, bandwidth, blackhole and half-open apply to open connections as well as new ones (latency
 * to bytes that arrive after the call); `refuseNew` affects only new connections; `setTarget` only
 * connections opened after it. Every method except `stats()` and `close()` throws
 * {@link FaultProxyError} `BERTH_FAULT_PROXY_CLOSED` once the proxy is closed.
 */
export interface FaultProxy {
  /** The address the proxy listens on, e.g. `'127.0.0.1'`. */
  readonly host: string
  readonly port: number
  /** `host:port` (`[host]:port` for IPv6), ready for a connection string. */
  readonly address: string
  /** Open client/target connection pairs. */
  readonly connections: number
  readonly target: FaultProxyEndpoint
  stats(): FaultProxyStats
  /** Delays every chunk by `ms` (per direction), keeping byte order. `setLatency(0)` turns it off. */
  setLatency(ms: number, options?: LatencyOptions): void
  /**
   * Limits each connection, per direction, to `bytesPerSecond` with a token bucket that holds
   * 100 ms worth of bytes (`BANDWIDTH_BURST_SECONDS`). `Infinity` (the default) is no limit.
   */
  setBandwidth(bytesPerSecond: number, options?: BandwidthOptions): void
  /**
   * Turns new clients away (see {@link RefuseMode}) while open connections keep working. Resolves once
   * the listener is in the wanted state; rejects with `BERTH_FAULT_PROXY_LISTEN` if the port was taken
   * in the meantime.
   */
  refuseNew(on: boolean, options?: RefuseNewOptions): Promise<void>
  /** Aborts every open connection with a TCP RST on both sides: clients see ECONNRESET. */
  resetAll(): void
  /**
   * While on, reads and drops all bytes in both directions, on open connections too: nothing is
   * buffered, so a connection that lived through a blackhole has lost data. A FIN is held, not lost.
   * Connections accepted while on never reach the target (nor after it is off: their bytes are gone);
   * they close when the client ends. Default `on = true`.
   */
  blackhole(on?: boolean): void
  /**
   * While on, stops reading from and writing to both sides of every connection, open and new, but
   * keeps every socket open: a peer that vanished without a FIN. Nothing is lost: turning it off
   * resumes the flow, like a network partition that heals. Default `on = true`.
   */
  halfOpen(on?: boolean): void
  /** Turns every fault off (latency, bandwidth, blackhole, half-open, refuseNew). */
  heal(): Promise<void>
  /** Forwards connections opened from now on to `target`. */
  setTarget(target: FaultProxyEndpoint): void
  /** Stops listening and closes every connection. Idempotent; resolves when all sockets are closed. */
  close(): Promise<void>
}
