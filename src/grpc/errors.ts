/**
 * Typed errors of berth/grpc. Calls that fail inside berth (pool closed, no address, connect
 * timeout) still reach grpc-js callers as a gRPC status, because that is what a grpc-js client
 * reports; the berth error rides along as the status error's `cause` and its code as `berthCode`,
 * so `err.code === status.UNAVAILABLE` and `err.cause instanceof PoolClosedError` both hold.
 */
import { BerthError } from '../core/errors.js'

/** A target string berth cannot parse, or a scheme it cannot serve. */
export class InvalidTargetError extends BerthError {
  readonly target: unknown

  constructor(target: unknown, why: string) {
    super('BERTH_INVALID_TARGET', `Invalid gRPC target ${JSON.stringify(target)}: ${why}`)
    this.target = target
  }
}

/** The operation needs something the target kind does not have (setAddresses on an xds target, say). */
export class UnsupportedOperationError extends BerthError {
  constructor(message: string) {
    super('BERTH_UNSUPPORTED', message)
  }
}

/** An HTTP/2 connection attempt did not complete its handshake within `connectTimeoutMs`. */
export class ConnectTimeoutError extends BerthError {
  readonly address: string
  readonly timeoutMs: number

  constructor(address: string, timeoutMs: number) {
    super(
      'BERTH_CONNECT_TIMEOUT',
      `Connecting to ${address} did not complete within ${timeoutMs} ms (connectTimeoutMs)`,
    )
    this.address = address
    this.timeoutMs = timeoutMs
  }
}

/** `waitForReady()` ended before any channel of the pool was READY. */
export class NotReadyError extends BerthError {
  readonly pool: string

  constructor(pool: string, why: string, options?: { cause?: unknown }) {
    super('BERTH_NOT_READY', `Channel pool '${pool}' is not ready: ${why}`, options)
    this.pool = pool
  }
}
