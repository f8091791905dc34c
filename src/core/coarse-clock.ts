/**
 * A monotonic millisecond clock that is cheap on hot paths.
 *
 * Reading the time costs ~130 ns on some virtual machines (no vDSO clock source): two reads per
 * acquire/release cycle would cost more than the rest of the pool's bookkeeping. This clock reads
 * `performance.now()` at most once per 64 calls, and forgets the cached reading when the current
 * job ends (a microtask queued at the reading runs after the jobs already queued). So a reading is
 * never carried into a later timer, I/O callback or event-loop turn; within one burst of promise
 * continuations it is at most 63 calls old, microseconds in practice. A long synchronous block
 * between two pool calls in the same job is the one case it cannot see.
 */
const REFRESH_EVERY = 64
const resolved = Promise.resolve()

let cached = 0
let uses = REFRESH_EVERY
let pending = false

function invalidate(): void {
  pending = false
  uses = REFRESH_EVERY
}

export function coarseNow(): number {
  if (++uses < REFRESH_EVERY) return cached
  uses = 0
  cached = performance.now()
  if (!pending) {
    pending = true
    // A bare promise reaction: queueMicrotask would also make an async-hooks resource per call.
    void resolved.then(invalidate)
  }
  return cached
}
