/**
 * How a failure inside berth reaches a grpc-js caller: as a gRPC status (that is all a grpc-js
 * client can report), with the berth error attached. grpc-js builds the caller's error with
 * `Object.assign(new Error(...), status)`, so `cause` and `berthCode` end up on the error it hands
 * to the callback or stream: `err.code` stays a gRPC status code for code that branches on it.
 */
import { Metadata, type StatusObject, status } from '@grpc/grpc-js'
import { AcquireTimeoutError, BerthError } from '../core/errors.js'

/**
 * What berth adds to the status of a call it failed (no channel in time, pool closed): grpc-js copies
 * both fields onto the `ServiceError` the caller gets, so `err.cause` is the berth error.
 */
export interface BerthStatusObject extends StatusObject {
  /** The berth error behind the status. */
  readonly cause: unknown
  /** Its code, e.g. `'BERTH_POOL_CLOSED'`. */
  readonly berthCode: string | undefined
}

/** The status a call fails with when berth could not give it a channel. */
export function statusFromError(err: unknown, deadlinePassed: boolean): BerthStatusObject {
  let code: status = status.UNAVAILABLE
  if (err instanceof AcquireTimeoutError && deadlinePassed) code = status.DEADLINE_EXCEEDED
  const message = err instanceof Error ? err.message : String(err)
  return {
    code,
    details: `berth: ${message}`,
    metadata: new Metadata(),
    cause: err,
    berthCode: err instanceof BerthError ? err.code : undefined,
  }
}

/** The status of a call cancelled before it had a channel. */
export function cancelledStatus(code: status, details: string): StatusObject {
  return { code, details, metadata: new Metadata() }
}
