/**
 * Shared channel pools, one per target and channel options: the seed's `map[addr]*grpc.ClientConn`
 * with reference counts. Code that needs a channel acquires a handle and releases it when done; a
 * pool nobody holds is closed `idleCloseMs` later unless someone acquires it again first.
 *
 * ```ts
 * const registry = new ChannelRegistry({ idleCloseMs: 60_000 })
 * const billing = registry.acquire('dns:///billing:50051')
 * const client = billing.client(BillingClient)
 * // ...
 * billing.release()
 * ```
 *
 * Two acquires share a pool when their targets and their options, merged over `defaults`, are
 * the same (channel-registry-keys.ts says what counts). The first acquirer's `name` is the pool's name.
 */
import type { Client, Interceptor } from '@grpc/grpc-js'
import { BerthError, InternalError, InvalidOptionError, LeaseReleasedError } from '../core/errors.js'
import { Lifecycle, type LifecycleState } from '../core/lifecycle.js'
import { duration, func, object, option, readOptions, string } from '../core/option-table.js'
import type { ChannelPoolOptions } from './channel-pool-options.js'
import { type ChannelPool, type ClientConstructor, createChannelPool } from './channel-pool.js'
import { type PoolKey, RegistryKeys } from './channel-registry-keys.js'

/** Options of `new ChannelRegistry()`. Durations are ms. */
export interface ChannelRegistryOptions {
  /** Name in errors. Default `'channel-registry'`. */
  name?: string
  /** A pool nobody holds is closed after this long, in ms; `Infinity` keeps it until `close()`. Default 60000. */
  idleCloseMs?: number
  /**
   * How long the close of an idle pool waits for calls still in flight (clients outlive the
   * handles they came from) before closing channels under them, in ms. Default 30000.
   */
  closeTimeoutMs?: number
  /** Options every pool gets; those given to `acquire()` win. Default none. */
  defaults?: ChannelPoolOptions
  /** Makes a pool. Default `createChannelPool`. */
  create?: (target: string | readonly string[], options: ChannelPoolOptions) => ChannelPool
  /** The clock for `idleSince`, in ms since the epoch. Default `Date.now`. */
  now?: () => number
}

/** `ChannelRegistryOptions`, one row each. */
const REGISTRY_OPTIONS = {
  name: option(string({ nonEmpty: true }), 'channel-registry'),
  idleCloseMs: option(duration({ zero: true }), 60_000),
  closeTimeoutMs: option(duration({ zero: true }), 30_000),
  defaults: option(object<ChannelPoolOptions>('an object of channel pool options'), {}),
  create: option(func<NonNullable<ChannelRegistryOptions['create']>>(), createChannelPool),
  now: option(func<() => number>(), Date.now),
} as const

/** active: held (or pinned by `get()`); idle: nobody holds it, its close timer runs; closing: closing. */
export type RegistryEntryState = 'active' | 'idle' | 'closing' | 'closed'

/** One pool of the registry, in `stats().entries`. */
export interface RegistryEntryStats {
  /** Distinct per pool made: a pool that replaced a closing one has a new id. */
  readonly id: number
  readonly target: string
  /** The pool's name. */
  readonly pool: string
  readonly state: RegistryEntryState
  /** Handles not yet released. */
  readonly refs: number
  /** Held by `get()`: never idle until the registry closes. */
  readonly pinned: boolean
  /** When the last handle was released (ms since the epoch), while idle. */
  readonly idleSince: number | undefined
}

/** `ChannelRegistry.stats()`: a frozen snapshot; `created` and `idleClosed` count since the registry was made. */
export interface ChannelRegistryStats {
  /** The registry's name (`options.name`). */
  readonly name: string
  /** The registry's lifecycle state: `'open'`, `'closing'`, `'destroying'` or `'closed'`. */
  readonly state: LifecycleState
  /** Every pool not yet closed: active, idle and closing ones. */
  readonly entries: readonly RegistryEntryStats[]
  /** Pools held (or pinned by `get()`) now. */
  readonly active: number
  /** Pools nobody holds now, waiting out `idleCloseMs`. */
  readonly idle: number
  /** Pools closing now. */
  readonly closing: number
  /** Pools made since the registry was. */
  readonly created: number
  /** Pools closed because nobody held them for `idleCloseMs`. */
  readonly idleClosed: number
}

/**
 * The registry is closing or closed: `acquire()` hands out no more pools. What to do: stop asking
 * for channels once shutdown has begun.
 */
export class RegistryClosedError extends BerthError {
  constructor(registry: string) {
    super('BERTH_REGISTRY_CLOSED', `Channel registry '${registry}' is closed: it hands out no more pools`)
  }
}

/**
 * A counted reference to a registry pool. Release it exactly once (or let `using` do it); clients
 * made from it keep working after release, until the pool is closed for being idle.
 */
export class RegistryHandle {
  readonly pool: ChannelPool
  readonly #onRelease: () => void
  #released = false

  /** @internal made by `ChannelRegistry.acquire()` */
  constructor(pool: ChannelPool, onRelease: () => void) {
    this.pool = pool
    this.#onRelease = onRelease
  }

  get released(): boolean {
    return this.#released
  }

  /**
   * A client of the pool (see `ChannelPool.client`).
   * @throws LeaseReleasedError after `release()`, PoolClosedError when the pool was closed
   */
  client<C extends Client>(ctor: ClientConstructor<C>, options?: { interceptors?: Interceptor[] }): C {
    if (this.#released) throw new LeaseReleasedError(this.pool.name)
    return this.pool.client(ctor, options)
  }

  /** Gives the reference back. @throws LeaseReleasedError when already released */
  release(): void {
    if (this.#released) throw new LeaseReleasedError(this.pool.name)
    this.#released = true
    this.#onRelease()
  }

  [Symbol.dispose](): void {
    if (!this.#released) this.release()
  }
}

interface Entry extends PoolKey {
  readonly id: number
  readonly pool: ChannelPool
  refs: number
  pinned: boolean
  state: RegistryEntryState
  idleSince: number | undefined
  timer: NodeJS.Timeout | undefined
  closed: Promise<void> | undefined
}

/** setTimeout fires at once for longer delays. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Shared channel pools, one per target and options, reference counted (see the top of this file).
 * Its lifecycle is every owner's: `close({ timeoutMs, signal })` closes every pool and, at the
 * deadline, destroys those still closing; `destroy(reason)`; `state`; `await using`.
 */
export class ChannelRegistry extends Lifecycle {
  readonly name: string
  readonly #idleCloseMs: number
  readonly #closeTimeoutMs: number
  readonly #defaults: ChannelPoolOptions
  readonly #create: (target: string | readonly string[], options: ChannelPoolOptions) => ChannelPool
  readonly #now: () => number
  /** Active and idle entries by key; a closing entry has left it, so its key gets a fresh pool. */
  readonly #entries = new Map<string, Entry>()
  readonly #closing = new Set<Entry>()
  readonly #keys = new RegistryKeys()
  #nextId = 0
  #idleClosed = 0

  /** @throws InvalidOptionError */
  constructor(options: ChannelRegistryOptions = {}) {
    super()
    const o = readOptions(REGISTRY_OPTIONS, options, { of: 'ChannelRegistry' })
    this.name = o.name
    this.#idleCloseMs = o.idleCloseMs
    this.#closeTimeoutMs = o.closeTimeoutMs
    this.#defaults = { ...o.defaults }
    this.#create = o.create
    this.#now = o.now
  }

  /**
   * A counted reference to the pool for this target and options, made on first use. Synchronous,
   * so concurrent callers can never make two pools for one key.
   * @throws RegistryClosedError after close; InvalidOptionError, InvalidTargetError from the pool
   */
  acquire(target: string | readonly string[], options: ChannelPoolOptions = {}): RegistryHandle {
    const e = this.#entryFor(target, options)
    e.refs++
    this.#move(e, 'active')
    let released = false
    return new RegistryHandle(e.pool, () => {
      if (released) throw new InternalError('registry handle released twice')
      released = true
      e.refs--
      if (e.refs === 0 && !e.pinned && e.state === 'active') this.#move(e, 'idle')
    })
  }

  /**
   * The pool for this target and options, kept until the registry closes (the seed's
   * `GetClientConn`): for long-lived clients that never give their channel back.
   * @throws RegistryClosedError after close; InvalidOptionError, InvalidTargetError from the pool
   */
  get(target: string | readonly string[], options: ChannelPoolOptions = {}): ChannelPool {
    const e = this.#entryFor(target, options)
    e.pinned = true
    this.#move(e, 'active')
    return e.pool
  }

  /** A frozen snapshot of every pool not yet closed. */
  stats(): ChannelRegistryStats {
    const entries = [...this.#entries.values(), ...this.#closing].map((e) =>
      Object.freeze({
        id: e.id,
        target: e.target,
        pool: e.pool.name,
        state: e.state,
        refs: e.refs,
        pinned: e.pinned,
        idleSince: e.idleSince,
      }),
    )
    const count = (s: RegistryEntryState) => entries.filter((e) => e.state === s).length
    return Object.freeze({
      name: this.name,
      state: this.state,
      entries: Object.freeze(entries),
      active: count('active'),
      idle: count('idle'),
      closing: this.#closing.size,
      created: this.#nextId,
      idleClosed: this.#idleClosed,
    })
  }

  /**
   * Graceful (`close()` from the Lifecycle base): closes every pool (see `ChannelPool.close`), held
   * ones included; `acquire()` fails at once from now on. At the base's deadline (`timeoutMs`,
   * default 30000) the pools still closing are destroyed.
   */
  protected override onClose(): Promise<void> {
    return this.#allClosed()
  }

  /** Forced: destroys every pool now (those closing too), failing calls in flight. */
  protected override onDestroy(reason: unknown): Promise<void> {
    for (const e of this.#closing) void e.pool.destroy(reason)
    return this.#allClosed()
  }

  protected override onTransition(_from: LifecycleState, to: LifecycleState): void {
    // Closing either way: every pool starts closing, with no deadline of its own, since the
    // registry's deadline (or destroy) ends what is left.
    if (to === 'closing' || to === 'destroying') {
      for (const e of [...this.#entries.values()]) this.#move(e, 'closing', Number.POSITIVE_INFINITY)
    }
  }

  /** Calls in flight on the pools still closing, for the message of a close that timed out. */
  protected override inUse(): number {
    let n = 0
    for (const e of this.#closing) n += e.pool.health().inUse
    return n
  }

  async #allClosed(): Promise<void> {
    await Promise.all([...this.#closing].map((e) => e.closed))
  }

  #entryFor(target: string | readonly string[], options: ChannelPoolOptions): Entry {
    if (this.state !== 'open') throw new RegistryClosedError(this.name)
    if (options === null || typeof options !== 'object')
      throw new InvalidOptionError('options', options, 'channel pool options')
    const merged: ChannelPoolOptions = { ...this.#defaults, ...options }
    const k = this.#keys.keyOf(target, merged, this.#entries.values())
    const found = this.#entries.get(k.key)
    // Someone closed the pool itself rather than releasing it: hand out a fresh one.
    if (found !== undefined && found.pool.state !== 'open') this.#move(found, 'closing')
    else if (found !== undefined) return found
    const e: Entry = {
      ...k,
      id: ++this.#nextId,
      pool: this.#create(target, merged),
      refs: 0,
      pinned: false,
      state: 'active',
      idleSince: undefined,
      timer: undefined,
      closed: undefined,
    }
    this.#entries.set(k.key, e)
    return e
  }

  /** The one place an entry changes state, with every side effect of the change. */
  #move(e: Entry, to: RegistryEntryState, closeTimeoutMs = this.#closeTimeoutMs): void {
    const from = e.state
    if (from === to) return
    if (from === 'closed' || (from === 'closing' && to !== 'closed'))
      throw new InternalError(`registry entry ${e.id} moved from ${from} to ${to}`)
    e.state = to
    clearTimeout(e.timer)
    e.timer = undefined
    e.idleSince = undefined
    if (to === 'idle') {
      e.idleSince = this.#now()
      if (Number.isFinite(this.#idleCloseMs)) {
        e.timer = setTimeout(
          () => {
            if (e.state !== 'idle') return
            this.#idleClosed++
            this.#move(e, 'closing')
          },
          Math.min(this.#idleCloseMs, MAX_TIMER_MS),
        )
        e.timer.unref()
      }
    } else if (to === 'closing') {
      if (this.#entries.get(e.key) === e) this.#entries.delete(e.key)
      this.#closing.add(e)
      e.closed = e.pool
        .close({ timeoutMs: closeTimeoutMs })
        .catch(noop)
        .finally(() => this.#move(e, 'closed'))
    } else if (to === 'closed') {
      this.#closing.delete(e)
    }
  }
}

function noop(): void {}
