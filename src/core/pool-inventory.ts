import { InternalError } from './errors.js'
import type { EntryState, PoolEntry } from './pool-entry.js'

/**
 * The pool's resources, by state. `move()` is the single place an entry changes state, and it
 * keeps every gauge. Idle entries are a stack (most recently used last, reused first); the other
 * states are counts plus one set of every live entry: the acquire/release hot path then touches
 * an array end and two integers rather than two hash sets, which is a third of the pool's cost.
 */
export class PoolInventory<T> {
  /** Idle entries; the most recently used at the end (reused first). */
  readonly idle: PoolEntry<T>[] = []
  /** Every live entry (not destroying), in creation order. */
  readonly entries = new Set<PoolEntry<T>>()
  /** Entries held by an exclusive lease. */
  leased = 0
  /** Entries carrying one or more shared leases. */
  shared = 0
  validating = 0
  /** Creates in progress; they count against `max`. */
  creating = 0
  /** Shared leases in flight over all entries. */
  sharedLeases = 0
  readonly #name: string

  constructor(name: string) {
    this.#name = name
  }

  /** Entries that exist (not counting creates in progress). */
  get live(): number {
    return this.entries.size
  }

  /** What counts against `max`. */
  get total(): number {
    return this.entries.size + this.creating
  }

  /** Every live entry in a state, for sweeps; a copy, so callers may move entries while iterating. */
  inState(state: EntryState): PoolEntry<T>[] {
    const out: PoolEntry<T>[] = []
    for (const e of this.entries) if (e.state === state) out.push(e)
    return out
  }

  move(e: PoolEntry<T>, to: EntryState): void {
    switch (e.state) {
      case 'idle': {
        const last = this.idle.length - 1
        if (this.idle[last] === e) this.idle.pop()
        else {
          const i = this.idle.indexOf(e)
          if (i < 0) throw new InternalError(`idle entry missing from the idle list (pool '${this.#name}')`)
          this.idle.splice(i, 1)
        }
        break
      }
      case 'leased':
        this.leased--
        break
      case 'shared':
        this.shared--
        break
      case 'validating':
        this.validating--
        break
      case 'destroying':
        throw new InternalError(`a destroyed resource cannot become ${to} (pool '${this.#name}')`)
      case 'new':
        this.entries.add(e)
        break
    }
    e.state = to
    switch (to) {
      case 'idle':
        this.idle.push(e)
        break
      case 'leased':
        this.leased++
        break
      case 'shared':
        this.shared++
        break
      case 'validating':
        this.validating++
        break
      case 'destroying':
        this.entries.delete(e)
        break
      case 'new':
        throw new InternalError(`an entry cannot become new again (pool '${this.#name}')`)
    }
  }

  /**
   * The shared entry with the fewest leases below its capacity, skipping retiring and draining ones
   * and those `canShare` turns down.
   */
  pickShared(canShare?: (resource: T) => boolean): PoolEntry<T> | undefined {
    if (this.shared === 0) return undefined
    let best: PoolEntry<T> | undefined
    for (const e of this.entries) {
      if (e.state === 'shared' && e.sharedLeases < e.capacity && !e.draining && e.retire === undefined) {
        if (
          (best === undefined || e.sharedLeases < best.sharedLeases) &&
          (canShare === undefined || canShare(e.resource))
        ) {
          best = e
        }
      }
    }
    return best
  }

  /** Stops new shared leases on the least busy shared entry so an exclusive caller can have it. */
  drainOneShared(): void {
    let victim: PoolEntry<T> | undefined
    for (const e of this.entries) {
      if (e.state !== 'shared') continue
      if (e.draining) return
      if (victim === undefined || e.sharedLeases < victim.sharedLeases) victim = e
    }
    if (victim !== undefined) victim.draining = true
  }

  undrain(): void {
    for (const e of this.entries) e.draining = false
  }

  /** Ages of the live entries, in ms. */
  ages(now: number): { readonly min: number; readonly max: number; readonly mean: number } {
    let min = Number.POSITIVE_INFINITY
    let max = 0
    let sum = 0
    for (const e of this.entries) {
      const age = now - e.createdAt
      if (age < min) min = age
      if (age > max) max = age
      sum += age
    }
    const n = this.entries.size
    return Object.freeze({ min: n ? min : 0, max, mean: n ? sum / n : 0 })
  }
}
