/**
 * The lifecycle of an owner built over one core {@link Pool} (a PgPool, the pg.Pool drop-in, a
 * ChannelPool): closing it drains that pool, destroying it destroys that pool, and what it has in
 * use is what that pool has lent out. The owner only names its pool; the deadline, the signal and
 * the states stay with the Lifecycle base, so the inner pool's close is given no deadline of its own.
 */
import { Lifecycle } from './lifecycle.js'
import type { Pool } from './pool.js'

export abstract class PoolOwner<
  /** What the core pool lends (a pg.Client, a channel). */
  T,
  // biome-ignore lint/suspicious/noExplicitAny: the same event-map bound as Lifecycle's
  E extends Record<keyof E, any[]> | [never] = [never],
> extends Lifecycle<E> {
  /** The one core pool this owner lends from. */
  protected abstract corePool(): Pool<T>

  /** Drain: the core pool's close, without a deadline of its own (the base owns it). */
  protected override onClose(): Promise<void> {
    return this.corePool().close({ timeoutMs: Number.POSITIVE_INFINITY })
  }

  /** Forced: the core pool's destroy, with the same reason. */
  protected override onDestroy(reason: unknown): Promise<void> {
    return this.corePool().destroy(reason)
  }

  /** What the core pool has lent out (exclusive and shared leases), for a close that timed out. */
  protected override inUse(): number {
    const s = this.corePool().stats()
    return s.leased + s.shared
  }
}
