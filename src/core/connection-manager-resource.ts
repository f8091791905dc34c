/**
 * How the ConnectionManager holds what it manages: a `ManagedOwner` as it is, a plain
 * `ManagedResource` through one adapter on the Lifecycle base. Which of the two is told by the
 * methods it has, never by what it connects to.
 */
import type { ManagedResource } from './connection-manager-types.js'
import { InvalidOptionError } from './errors.js'
import { type CloseOptions, DEFAULT_CLOSE_TIMEOUT_MS, Lifecycle, checkCloseOptions } from './lifecycle.js'
import type { ManagedOwner, OwnerHealth } from './owner.js'

/** One resource of a manager. */
export interface Managed {
  readonly name: string
  readonly owner: ManagedOwner
  /** Work in flight, for the close report; undefined when the owner cannot tell. */
  inFlight(): number | undefined
  /** Why the graceful close failed, when it did and the owner can say (a plain resource can). */
  closeFailure(): { readonly error: unknown } | undefined
}

/** Has the whole owner contract: lifecycle, probe and health. */
export function isManagedOwner(value: unknown): value is ManagedOwner {
  if (typeof value !== 'object' || value === null) return false
  const o = value as Partial<Record<keyof ManagedOwner, unknown>>
  return (
    typeof o.probe === 'function' &&
    typeof o.health === 'function' &&
    typeof o.close === 'function' &&
    typeof o.destroy === 'function' &&
    typeof o.state === 'string'
  )
}

/**
 * Wraps what `add()` was given.
 * @throws InvalidOptionError (option `resource`) when it has no `close()`
 */
export function managed(name: string, resource: ManagedOwner | ManagedResource): Managed {
  if (isManagedOwner(resource)) {
    return { name, owner: resource, inFlight: () => resource.health().inUse, closeFailure: () => undefined }
  }
  if (typeof (resource as ManagedResource | null | undefined)?.close !== 'function')
    throw new InvalidOptionError('resource', resource, 'an object with close()')
  const owner = new ResourceOwner(name, resource)
  return { name, owner, inFlight: () => undefined, closeFailure: () => owner.closeFailure }
}

const NO_DETAIL: Readonly<Record<string, unknown>> = Object.freeze({})

/**
 * A plain resource as a ManagedOwner: its `ready()` is the probe, `isReady()` (or a probe that
 * succeeded) the health, kind `'other'`. The base owns the state, so the resource needs none.
 */
class ResourceOwner extends Lifecycle implements ManagedOwner {
  readonly name: string
  readonly #r: ManagedResource
  #probed = false
  #timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS
  #closing: Promise<unknown> | undefined
  #failure: { readonly error: unknown } | undefined

  constructor(name: string, resource: ManagedResource) {
    super()
    this.name = name
    this.#r = resource
  }

  /** The resource's close failed (the base then destroyed it). */
  get closeFailure(): { readonly error: unknown } | undefined {
    return this.#failure
  }

  /** The resource's own `close()` is handed the same deadline, as ManagedResource promises. */
  override close(options?: CloseOptions): Promise<void> {
    if (this.state === 'open' && checkCloseOptions(options) === undefined)
      this.#timeoutMs = options?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS
    return super.close(options)
  }

  async probe(options?: { signal?: AbortSignal }): Promise<void> {
    await this.#r.ready?.({ signal: options?.signal })
    this.#probed = true
  }

  health(): OwnerHealth {
    const ready = this.state === 'open' && (this.#r.isReady?.() ?? this.#probed)
    // Nothing tells what a plain resource has in flight.
    return Object.freeze({ kind: 'other', ready, inUse: 0, detail: NO_DETAIL })
  }

  protected override onClose(): Promise<void> {
    const r = this.#r
    const timeoutMs = this.#timeoutMs
    // async, so that a close() that throws at once fails like one that rejects
    this.#closing = (async () => r.close({ timeoutMs }))()
    return this.#closing.then(noop, (error: unknown) => {
      this.#failure = { error }
      throw error
    })
  }

  /** Without destroy(), only the close itself can finish; with it, the close still must end too. */
  protected override async onDestroy(reason: unknown): Promise<void> {
    const r = this.#r
    try {
      if (r.destroy !== undefined) await r.destroy(reason)
      else this.#closing ??= (async () => r.close({ timeoutMs: 0 }))()
      await this.#closing
    } catch {
      // Forced anyway: the manager reports why; a failing destroy or close adds nothing to act on.
    }
  }
}

function noop(): void {}
