/**
 * The lender's choices over the inventory: which free resource a caller arriving now may take,
 * and what to create (or drain) for the callers waiting. Plain functions on the hot path, given
 * what they read, so the calls from pool-lender.ts stay monomorphic and allocate nothing.
 */
import type { PoolEntry } from './pool-entry.js'
import type { PoolInventory } from './pool-inventory.js'
import type { ResolvedPoolOptions } from './pool-options.js'
import type { PoolSupply } from './pool-supply.js'
import { needsValidation } from './pool-validation.js'
import type { WaitList } from './wait-list.js'

/**
 * What a caller arriving now can have without waiting: for a shared caller the least busy shared
 * entry with room (or, with `spreadShared`, an idle entry before a busy one); else the most
 * recently used idle entry, unless it must be validated first. Expired idle entries met on the way
 * are retired.
 */
export function takeFree<T>(
  o: ResolvedPoolOptions<T>,
  inv: PoolInventory<T>,
  supply: PoolSupply<T>,
  shared: boolean,
  now: number,
): PoolEntry<T> | undefined {
  const busy = shared ? inv.pickShared(o.canShare) : undefined
  if (busy !== undefined && (busy.sharedLeases === 0 || !o.spreadShared)) return busy
  let lost = false
  let found: PoolEntry<T> | undefined
  while (inv.idle.length > 0) {
    const idle = inv.idle[inv.idle.length - 1]!
    if (now >= idle.expiresAt) {
      supply.retire(idle, 'lifetime')
      lost = true
      continue
    }
    if (!needsValidation(o, idle, now)) found = idle
    break
  }
  if (lost) supply.replenish()
  return found ?? busy
}

/** Starts the creates that waiting callers need, and drains a shared entry when the budget is spent. */
export function demand<T>(
  o: ResolvedPoolOptions<T>,
  inv: PoolInventory<T>,
  supply: PoolSupply<T>,
  waiters: WaitList<T>,
  now: number,
): void {
  if (inv.total < o.max) {
    const cap = typeof o.capacity === 'number' ? o.capacity : 1
    const toCreate = waiters.exclusive.size + Math.ceil(waiters.shared.size / cap) - inv.creating
    supply.grow(toCreate, now)
  }
  if (inv.shared === 0) return
  if (waiters.exclusive.size === 0) inv.undrain()
  else if (inv.total >= o.max) inv.drainOneShared()
}
