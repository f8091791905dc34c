/**
 * The wait after a CancelRequest: an aborted query's connection may go back to the pool only once
 * the query has really ended, or a late cancel could hit the next holder's statement.
 */
import type pg from 'pg'
import { unrefTimeout } from '../core/timers.js'
import { type CancelTarget, backendKeyOf, sendCancelRequest } from './cancel-request.js'

/** How long an aborted query may take to stop after its CancelRequest before its connection is destroyed, ms. */
export const CANCEL_SETTLE_MS = 5000

/**
 * Stops a query whose caller aborted: a CancelRequest to the server, then wait (bounded by
 * {@link CANCEL_SETTLE_MS}) for the query to end. True if it ended, so the connection can be
 * reused; false means destroy it.
 */
export async function cancelRunningQuery(
  target: CancelTarget,
  client: pg.Client,
  settled: Promise<unknown>,
): Promise<boolean> {
  const key = backendKeyOf(client)
  if (key === undefined) return false
  try {
    await sendCancelRequest(target, key, { timeoutMs: CANCEL_SETTLE_MS })
  } catch {
    return false
  }
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => {
    timer = unrefTimeout(() => resolve(false), CANCEL_SETTLE_MS)
  })
  const ended = settled.then(
    () => true,
    () => true,
  )
  try {
    return await Promise.race([ended, late])
  } finally {
    clearTimeout(timer)
  }
}
