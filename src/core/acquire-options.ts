import { InvalidOptionError } from './errors.js'

/** Options of one `acquire()` call. */
export interface AcquireOptions {
  /** Gives up waiting when it aborts (`AcquireAbortedError`, with the signal's reason as cause). */
  signal?: AbortSignal
  /** Overrides the pool's `acquireTimeoutMs` for this call; `Infinity` waits without limit. */
  timeoutMs?: number
  /** Take a shared (multiplexed) lease instead of the whole resource. Default false. */
  shared?: boolean
}

/** Returns the error for malformed per-call options, or undefined when they are fine. */
export function checkAcquireOptions(o: AcquireOptions): InvalidOptionError | undefined {
  if (typeof o !== 'object' || o === null) return new InvalidOptionError('acquire options', o, 'an object')
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    return new InvalidOptionError('signal', o.signal, 'an AbortSignal')
  }
  if (o.shared !== undefined && typeof o.shared !== 'boolean')
    return new InvalidOptionError('shared', o.shared, 'a boolean')
  const t = o.timeoutMs
  if (t !== undefined && (typeof t !== 'number' || Number.isNaN(t) || t <= 0)) {
    return new InvalidOptionError('timeoutMs', t, 'a duration in milliseconds > 0, or Infinity')
  }
  return undefined
}

/**
 * Whether `tryAcquire()` options ask for a shared lease. On a hot path (one call per gRPC call):
 * two typeof checks, the rest only for bad input.
 * @throws InvalidOptionError for malformed options
 */
export function tryAcquireShared(o: { shared?: boolean }): boolean {
  if (typeof o !== 'object' || o === null) {
    throw new InvalidOptionError('tryAcquire options', o, 'an object')
  }
  const shared = o.shared === true
  if (!shared && o.shared !== undefined && o.shared !== false) {
    throw new InvalidOptionError('shared', o.shared, 'a boolean')
  }
  return shared
}
