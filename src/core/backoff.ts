import { InvalidOptionError } from './errors.js'

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter"):
 * the delay is uniform in [0, min(max, initial * 2^(attempt-1))]. Full jitter spreads the retries of
 * many clients of one dead server, instead of having them all knock again at the same instant.
 *
 * @param attempt 1 for the delay after the first failure
 * @param initialMs the ceiling after the first failure, ms > 0
 * @param maxMs the largest ceiling, ms >= `initialMs` (`Infinity` for none)
 * @param random a source of numbers in [0, 1), such as `Math.random`
 * @throws InvalidOptionError naming the argument at fault
 */
export function fullJitterBackoff(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number,
): number {
  // Once per failed attempt, so checking every argument costs nothing that matters.
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1) {
    throw new InvalidOptionError('attempt', attempt, 'an integer >= 1')
  }
  if (typeof initialMs !== 'number' || !Number.isFinite(initialMs) || initialMs <= 0) {
    throw new InvalidOptionError('initialMs', initialMs, 'a finite number of milliseconds > 0')
  }
  if (typeof maxMs !== 'number' || Number.isNaN(maxMs) || maxMs < initialMs) {
    throw new InvalidOptionError('maxMs', maxMs, `a number of milliseconds >= initialMs (${initialMs})`)
  }
  if (typeof random !== 'function')
    throw new InvalidOptionError('random', random, 'a function returning [0, 1)')
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 52))
  return random() * ceiling
}
