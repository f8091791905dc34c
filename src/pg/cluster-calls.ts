/**
 * How a PgCluster reads a failed call: was the statement never sent (a connect failed, so waiting
 * for the next primary and sending it there is safe), or was it lost in flight (it may have run:
 * fail it, typed, and never re-send it)?
 */
import { CreateFailedError, CreateTimeoutError } from '../core/errors.js'
import { ConnectionBrokenError } from './errors.js'
import { PgConnectionError, PgError } from './pg-error.js'

/** SQLSTATEs of a server going away or refusing writes: shutdown, crash, connection loss, read-only. */
function serverGone(sqlState: string): boolean {
  return sqlState.startsWith('08') || sqlState === '57P01' || sqlState === '57P02' || sqlState === '57P03'
}

/**
 * The pool could not open a connection to the server for a reason a failover explains (refused,
 * reset, timed out, shutting down), so the statement never left: safe to send to the next primary.
 * A wrong password or database is not: that fails the call at once.
 */
export function notSent(err: unknown): boolean {
  if (!(err instanceof CreateFailedError)) return false
  const cause = err.cause
  if (cause instanceof PgError) return serverGone(cause.sqlState)
  return cause instanceof PgConnectionError || cause instanceof CreateTimeoutError
}

/** The statement was on the wire when the server went away or refused it as read-only (25006). */
export function lostInFlight(err: unknown): boolean {
  if (err instanceof PgError) return serverGone(err.sqlState) || err.sqlState === '25006'
  return err instanceof PgConnectionError || err instanceof ConnectionBrokenError
}
