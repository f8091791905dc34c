import { fullJitterBackoff } from './backoff.js'

/**
 * The pool's memory of failed creates. While creation keeps failing, attempts are spaced by
 * exponential backoff with full jitter and made one at a time, so a dead server is probed, not
 * stampeded; the first success forgets it all.
 */
export class CreateBackoff {
  /** Creates that failed in a row. */
  failures = 0
  lastError: unknown = undefined
  /** No attempt before this time (pool clock). */
  until = 0
  readonly #initialMs: number
  readonly #maxMs: number
  readonly #random: () => number

  constructor(initialMs: number, maxMs: number, random: () => number) {
    this.#initialMs = initialMs
    this.#maxMs = maxMs
    this.#random = random
  }

  /** Records a failure; returns the delay before the next attempt. */
  failed(err: unknown, now: number): number {
    this.failures++
    this.lastError = err
    const delay = fullJitterBackoff(this.failures, this.#initialMs, this.#maxMs, this.#random)
    this.until = now + delay
    return delay
  }

  succeeded(): void {
    this.failures = 0
    this.until = 0
  }

  /** The retry timer fired: the delay is over, whatever the clock says. */
  expire(): void {
    this.until = 0
  }

  /** May a create start now, with `creating` already in progress? */
  allows(now: number, creating: number): boolean {
    return this.failures === 0 || (creating === 0 && now >= this.until)
  }
}
