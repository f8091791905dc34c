/** Longest delay Node's timers accept; larger values would fire at once with a warning. */
const MAX_DELAY = 2 ** 31 - 1

/**
 * `setTimeout` that never keeps the process alive, clamps huge delays, and treats `Infinity` as
 * "never" (no timer at all). Pools are background machinery: an idle pool must let a process exit.
 */
export function unrefTimeout(fn: () => void, ms: number): NodeJS.Timeout | undefined {
  if (!Number.isFinite(ms)) return undefined
  const t = setTimeout(fn, Math.min(Math.max(0, Math.ceil(ms)), MAX_DELAY))
  t.unref()
  return t
}

/** `setInterval` counterpart of {@link unrefTimeout}. */
export function unrefInterval(fn: () => void, ms: number): NodeJS.Timeout | undefined {
  if (!Number.isFinite(ms)) return undefined
  const t = setInterval(fn, Math.min(Math.max(1, Math.ceil(ms)), MAX_DELAY))
  t.unref()
  return t
}

/**
 * Settles with `work`, or rejects with `onTimeout()` after `ms` — whichever comes first. Used to
 * bound user callbacks (validate, destroy) that might ignore their signal and hang.
 */
export function withDeadline<R>(work: Promise<R>, ms: number, onTimeout: () => unknown): Promise<R> {
  if (!Number.isFinite(ms)) return work
  return new Promise<R>((resolve, reject) => {
    const t = unrefTimeout(() => reject(onTimeout()), ms)
    work.then(
      (v) => {
        clearTimeout(t)
        resolve(v)
      },
      (e) => {
        clearTimeout(t)
        reject(e)
      },
    )
  })
}
