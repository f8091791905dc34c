/**
 * Where a resource is. Each state but `new` (just made) and `destroying` (on its way out) is one
 * collection of the pool, so every count is a collection's size.
 */
export type EntryState = 'new' | 'idle' | 'leased' | 'shared' | 'validating' | 'destroying'

/** Why a resource was destroyed; each reason has its own counter in the stats. */
export type DestroyReason = 'lifetime' | 'idle' | 'health' | 'error' | 'close'

/** The pool's record of one live resource. */
export class PoolEntry<T> {
  readonly resource: T
  readonly createdAt: number
  /** When the resource retires: created + maxLifetime + jitter. */
  readonly expiresAt: number
  /** Shared leases it carries at once. */
  readonly capacity: number
  state: EntryState = 'new'
  /** When it last became idle; idle reaping counts from here. */
  idleSince: number
  /** When it was last known good: created, released, or validated. Validate-on-acquire counts from here. */
  checkedAt: number
  /** Shared leases in flight. */
  sharedLeases = 0
  /** Set when it must be destroyed as soon as its holders give it back. */
  retire: DestroyReason | undefined
  /** Set while it takes no new shared leases so that an exclusive waiter can have it. */
  draining = false

  constructor(resource: T, now: number, expiresAt: number, capacity: number) {
    this.resource = resource
    this.createdAt = now
    this.expiresAt = expiresAt
    this.capacity = capacity
    this.idleSince = now
    this.checkedAt = now
  }
}
