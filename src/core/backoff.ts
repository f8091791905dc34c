/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter"):
 * the delay is uniform in [0, min(max, initial * 2^(attempt-1))]. Full jitter spreads the retries of
 * many clients of one dead server, instead of having them all knock again at the same instant.
 *
 * @param attempt 1 for the delay after the first failure
 */
export function fullJitterBackoff(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 52))
  return random() * ceiling
}
