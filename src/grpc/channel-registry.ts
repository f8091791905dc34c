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
 * Two acquires share a pool when their targets are the same string (a list is joined with commas)
 * and their options, merged over `defaults`, are equal. Every option except `name` and `onWarning`
 * counts, since each changes the pool the caller gets (interceptors and deadlines included): plain
 * data compares by value, credentials with grpc-js' own equality (two `createInsecure()` match, TLS
 * credentials with the same certificates match), functions and other objects (interceptors,
 * loggers) by identity. The first acquirer's `name` is the pool's name.
 */
import { type ChannelCredentials, type Client, type Interceptor, credentials } from '@grpc/grpc-js'
import { BerthError, InternalError, InvalidOptionError, LeaseReleasedError } from '../core/errors.js'
import { Lifecycle, type LifecycleState } from '../core/lifecycle.js'
import type { ChannelPoolOptions } from './channel-pool-options.js'
import { type ChannelPool, type ClientConstructor, createChannelPool } from './channel-pool.js'

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

/** active: held (or pinned by `get()`); idle: nobody holds it, its close timer runs; closing: closing. */
export type RegistryEntryState = 'active' | 'idle' | 'closing' | 'closed'

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

export interface ChannelRegistryStats {
  readonly name: string
  /** The registry's lifecycle state. */
  readonly state: LifecycleState
  /** Every pool not yet closed: active, idle and closing ones. */
  readonly entries: readonly RegistryEntryStats[]
  readonly active: number
  readonly idle: number
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

interface Entry {
  readonly id: number
  readonly key: string
  readonly target: string
  readonly pool: ChannelPool
  readonly credentials: ChannelCredentials
  readonly credentialsId: string
  refs: number
  pinned: boolean
  state: RegistryEntryState
  idleSince: number | undefined
  timer: NodeJS.Timeout | undefined
  closed: Promise<void> | undefined
}

/** Options that do not change the pool a caller gets; `credentials` is keyed on its own. */
const NOT_IN_KEY = new Set(['name', 'onWarning', 'credentials'])
let defaultCredentials: ChannelCredentials | undefined
/** setTimeout fires at once for longer delays. */
const MAX_TIMER_MS = 2 ** 31 - 1

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
  readonly #identities = new WeakMap<object, number>()
  #nextIdentity = 0
  #nextId = 0
  #idleClosed = 0

  /** @throws InvalidOptionError */
  constructor(options: ChannelRegistryOptions = {}) {
    super()
    if (options === null || typeof options !== 'object')
      throw new InvalidOptionError('options', options, 'an object')
    this.name = options.name ?? 'channel-registry'
    if (typeof this.name !== 'string' || this.name === '')
      throw new InvalidOptionError('name', options.name, 'a non-empty string')
    this.#idleCloseMs = duration('idleCloseMs', options.idleCloseMs, 60_000)
    this.#closeTimeoutMs = duration('closeTimeoutMs', options.closeTimeoutMs, 30_000)
    const defaults = options.defaults ?? {}
    if (defaults === null || typeof defaults !== 'object')
      throw new InvalidOptionError('defaults', defaults, 'channel pool options')
    this.#defaults = { ...defaults }
    if (options.create !== undefined && typeof options.create !== 'function')
      throw new InvalidOptionError('create', options.create, 'a function')
    this.#create = options.create ?? createChannelPool
    if (options.now !== undefined && typeof options.now !== 'function')
      throw new InvalidOptionError('now', options.now, 'a function')
    this.#now = options.now ?? Date.now
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
    // No deadline of their own: the base's deadline destroys what is left.
    for (const e of [...this.#entries.values()]) this.#move(e, 'closing', Number.POSITIVE_INFINITY)
    return this.#allClosed()
  }

  /** Forced: closes every pool now, failing calls in flight. */
  protected override onDestroy(reason: unknown): Promise<void> {
    for (const e of [...this.#entries.values()]) this.#move(e, 'closing', Number.POSITIVE_INFINITY)
    for (const e of this.#closing) e.pool.destroy(reason).catch(noop)
    return this.#allClosed()
  }

  async #allClosed(): Promise<void> {
    await Promise.all([...this.#closing].map((e) => e.closed))
  }

  #entryFor(target: string | readonly string[], options: ChannelPoolOptions): Entry {
    if (this.state !== 'open') throw new RegistryClosedError(this.name)
    if (options === null || typeof options !== 'object')
      throw new InvalidOptionError('options', options, 'channel pool options')
    const merged: ChannelPoolOptions = { ...this.#defaults, ...options }
    const targetKey = Array.isArray(target) ? target.join(',') : String(target)
    defaultCredentials ??= credentials.createInsecure()
    const creds = merged.credentials ?? defaultCredentials
    const credentialsId = this.#credentialsId(creds)
    const key = `${targetKey}\n${credentialsId}\n${this.#fingerprint(merged)}`
    const found = this.#entries.get(key)
    // Someone closed the pool itself rather than releasing it: hand out a fresh one.
    if (found !== undefined && found.pool.state !== 'open') this.#move(found, 'closing')
    else if (found !== undefined) return found
    const e: Entry = {
      id: ++this.#nextId,
      key,
      target: targetKey,
      pool: this.#create(target, merged),
      credentials: creds,
      credentialsId,
      refs: 0,
      pinned: false,
      state: 'active',
      idleSince: undefined,
      timer: undefined,
      closed: undefined,
    }
    this.#entries.set(key, e)
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

  /** Equal credentials (by grpc-js' `_equals`, which its own subchannel pool keys on) share an id. */
  #credentialsId(creds: ChannelCredentials): string {
    for (const e of this.#entries.values()) {
      if (e.credentials === creds || sameCredentials(e.credentials, creds)) return e.credentialsId
    }
    return `creds#${this.#identity(creds)}`
  }

  #fingerprint(options: ChannelPoolOptions): string {
    const o = options as Record<string, unknown>
    const parts: string[] = []
    for (const k of Object.keys(o).sort()) {
      if (!NOT_IN_KEY.has(k) && o[k] !== undefined) parts.push(`${k}=${this.#encode(o[k])}`)
    }
    return parts.join(';')
  }

  /** Plain data by value, everything else (functions, class instances) by identity. */
  #encode(v: unknown): string {
    if (typeof v === 'string') return JSON.stringify(v)
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return String(v)
    if (Array.isArray(v)) return `[${v.map((x) => this.#encode(x)).join(',')}]`
    const proto = Object.getPrototypeOf(v)
    if (typeof v === 'object' && (proto === Object.prototype || proto === null)) {
      const rec = v as Record<string, unknown>
      const fields = Object.keys(rec)
        .filter((k) => rec[k] !== undefined)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${this.#encode(rec[k])}`)
      return `{${fields.join(',')}}`
    }
    return `#${this.#identity(v)}`
  }

  #identity(v: object): number {
    let id = this.#identities.get(v)
    if (id === undefined) {
      id = ++this.#nextIdentity
      this.#identities.set(v, id)
    }
    return id
  }
}

function sameCredentials(a: ChannelCredentials, b: ChannelCredentials): boolean {
  try {
    return typeof a._equals === 'function' && a._equals(b)
  } catch {
    // Not grpc-js credentials: the pool's constructor reports that, not the key.
    return false
  }
}

function duration(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0)
    throw new InvalidOptionError(field, value, 'a duration in ms, at least 0 (Infinity allowed)')
  return value
}

function noop(): void {}
