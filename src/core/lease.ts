import { LeaseReleasedError } from './errors.js'
import type { PoolEntry } from './pool-entry.js'

/** The pool side of a lease; a symbol keeps it off the public surface. */
export const kGiveBack = Symbol('berth.giveBack')

export interface LeaseOwner<T> {
  readonly name: string
  [kGiveBack](lease: Lease<T>, entry: PoolEntry<T>, destroy: boolean, cause: unknown): void
}

/**
 * A resource lent by a pool. Give it back exactly once, with `release()` (healthy) or `destroy()`
 * (broken); `await using lease = await pool.acquire()` releases it at the end of the block.
 */
export class Lease<T> {
  /** The lent resource. Do not use it after the lease is given back. */
  readonly resource: T
  /** True for a shared (multiplexed) lease: others may use the same resource at once. */
  readonly shared: boolean
  /** When the lease was granted, on the pool's clock (ms). */
  readonly acquiredAt: number
  #owner: LeaseOwner<T>
  #entry: PoolEntry<T>
  #trace: { stack?: string } | undefined
  #returned = false

  /** @internal Leases are made by pools. */
  constructor(
    owner: LeaseOwner<T>,
    entry: PoolEntry<T>,
    shared: boolean,
    acquiredAt: number,
    trace: { stack?: string } | undefined,
  ) {
    this.resource = entry.resource
    this.shared = shared
    this.acquiredAt = acquiredAt
    this.#trace = trace
    this.#owner = owner
    this.#entry = entry
  }

  /** Where it was acquired (a stack trace), when the pool has leak detection on. */
  get acquireStack(): string | undefined {
    return this.#trace?.stack
  }

  /** True once `release()` or `destroy()` was called. */
  get released(): boolean {
    return this.#returned
  }

  /**
   * Gives the resource back for reuse.
   * @throws LeaseReleasedError when the lease was already given back
   */
  release(): void {
    this.#giveBack(false, undefined)
  }

  /**
   * Gives the resource back as broken: the pool destroys it (once no other shared lease uses it)
   * and makes a replacement if needed.
   * @throws LeaseReleasedError when the lease was already given back
   */
  destroy(cause?: unknown): void {
    this.#giveBack(true, cause)
  }

  /** Releases the lease unless it was already given back, so `await using` composes with an explicit release. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#returned) this.#giveBack(false, undefined)
  }

  #giveBack(destroy: boolean, cause: unknown): void {
    if (this.#returned) throw new LeaseReleasedError(this.#owner.name)
    this.#returned = true
    this.#owner[kGiveBack](this, this.#entry, destroy, cause)
  }
}

/**
 * Resolving a promise with an object looks up its `then` (is it a thenable?), and a miss walks the
 * whole prototype chain to Object.prototype. An own, non-callable `then` on the prototype ends the
 * walk one step earlier: about 5 ns off every acquire that waited (bench:pool). It changes nothing
 * else: a lease is still not a thenable, and `then` is not enumerable.
 */
Object.defineProperty(Lease.prototype, 'then', { value: undefined, writable: false, enumerable: false })
