/**
 * The manager's close of one resource: graceful first, forced at the deadline (or by the
 * manager's destroy(), or when the graceful close failed), and reported abandoned when even the
 * forced close does not finish within a grace period.
 */
import type { Managed } from './connection-manager-resource.js'
import type { ManagerEvent, ResourceCloseReport } from './connection-manager-types.js'
import { CloseTimeoutError, messageOf } from './errors.js'
import { unrefTimeout } from './timers.js'

/** How long a forced close may take before it is reported abandoned, ms. */
export const DESTROY_GRACE_MS = 5000

interface Forced {
  readonly reason: unknown
  readonly inFlight: number | undefined
}

/** What closeOne needs from its manager. */
export interface CloseHost {
  readonly log: (event: ManagerEvent) => void
  /** Registers the function the manager's destroy() calls to force this close. */
  onForce(force: (reason: unknown) => void): void
}

/** Closes `m` within `timeoutMs` and reports how; never rejects. */
export async function closeOne(m: Managed, timeoutMs: number, host: CloseHost): Promise<ResourceCloseReport> {
  const started = performance.now()
  let force!: (why: Forced) => void
  const forced = new Promise<Forced>((resolve) => {
    force = resolve
  })
  host.onForce((reason) => force({ reason, inFlight: m.inFlight() }))
  // Set before the owner's own close deadline, so it fires first and sees the work still running.
  const timer = unrefTimeout(() => {
    const inFlight = m.inFlight()
    force({ reason: new CloseTimeoutError(m.name, timeoutMs, inFlight ?? 0), inFlight })
  }, timeoutMs)
  const closing = settle(() => m.owner.close({ timeoutMs }))
  const first = await Promise.race([closing.then((c) => ({ c })), forced.then((f) => ({ f }))])
  clearTimeout(timer)
  const report = (outcome: ResourceCloseReport['outcome'], why: Forced | undefined) =>
    Object.freeze({
      kind: m.owner.health().kind,
      outcome,
      durationMs: performance.now() - started,
      inFlightWhenForced: why?.inFlight,
      reason: why?.reason,
    })
  let why: Forced
  if ('f' in first) why = first.f
  else {
    // A plain resource whose close() failed was destroyed by its adapter: report it as forced.
    const failure = first.c.ok ? m.closeFailure() : first.c
    if (failure === undefined) return report('closed', undefined)
    why = { reason: failure.error, inFlight: m.inFlight() }
  }
  host.log({
    event: 'escalate',
    message: `destroying ${m.name}: ${messageOf(why.reason)}`,
    resource: m.name,
  })
  const destroying = settle(() => m.owner.destroy(why.reason))
  let grace: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    grace = unrefTimeout(() => resolve('late'), DESTROY_GRACE_MS)
  })
  const end = await Promise.race([Promise.all([closing, destroying]), late])
  clearTimeout(grace)
  return report(end === 'late' ? 'abandoned' : 'destroyed', why)
}

/** Runs fn and reports how it ended; never rejects. */
async function settle(fn: () => unknown): Promise<{ ok: true } | { ok: false; error: unknown }> {
  try {
    await fn()
    return { ok: true }
  } catch (error) {
    return { ok: false, error }
  }
}
