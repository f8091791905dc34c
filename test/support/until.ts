/**
 * The one polling helper of the test suite: waits, bounded in time, for something that happens in the
 * background (a pool's maintenance, a server noticing a fault, a load loop getting going).
 */
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'

export interface UntilOptions {
  /** What is awaited, for the default failure message. Default `condition`. */
  what?: string
  /**
   * The whole failure message instead of `timed out after <timeoutMs> ms waiting for <what>`. A
   * function is called at the deadline, so it can show the last state seen.
   */
  message?: string | (() => string)
  /** Pause between two checks, in ms. Default 5: most predicates are cheap reads of in-memory state. */
  intervalMs?: number
}

/**
 * Checks `predicate` until it holds and resolves to the ms that took; fails the test with an
 * `AssertionError` once `timeoutMs` (default 5000) has passed. `what` names what is awaited, or is
 * the options.
 */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what: string | UntilOptions = 'condition',
): Promise<number> {
  const options = typeof what === 'string' ? { what } : what
  const intervalMs = options.intervalMs ?? 5
  const start = performance.now()
  for (;;) {
    if (await predicate()) return performance.now() - start
    if (performance.now() - start > timeoutMs) {
      const { message } = options
      assert.fail(
        typeof message === 'function'
          ? message()
          : (message ?? `timed out after ${timeoutMs} ms waiting for ${options.what ?? 'condition'}`),
      )
    }
    // Not unref'ed: what is awaited often runs on unref'ed timers, which alone would let the test
    // process exit mid-wait.
    await sleep(intervalMs)
  }
}
