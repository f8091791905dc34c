/**
 * When two acquires of a ChannelRegistry share a pool: their targets are the same string (a list
 * is joined with commas) and their options, merged over the registry's `defaults`, are equal.
 * Every option except `name` and `onWarning` counts, since each changes the pool the caller gets
 * (interceptors and deadlines included): plain data compares by value, credentials with grpc-js'
 * own equality (two `createInsecure()` match, TLS credentials with the same certificates match),
 * functions and other objects (interceptors, loggers) by identity.
 */
import { type ChannelCredentials, credentials } from '@grpc/grpc-js'
import type { ChannelPoolOptions } from './channel-pool-options.js'

/** What a registry pool is found by. */
export interface PoolKey {
  /** Equal for two acquires that share a pool, and only then. */
  readonly key: string
  /** The target as a string (a list joined with commas). */
  readonly target: string
  readonly credentials: ChannelCredentials
  /** The same for equal credentials, so that the key can hold it. */
  readonly credentialsId: string
}

/** Options that do not change the pool a caller gets; `credentials` is keyed on its own. */
const NOT_IN_KEY = new Set(['name', 'onWarning', 'credentials'])
let defaultCredentials: ChannelCredentials | undefined

export class RegistryKeys {
  readonly #identities = new WeakMap<object, number>()
  #nextIdentity = 0

  /**
   * The key of one acquire, for options already merged over the defaults. `known` are the keys of
   * the pools in use: credentials equal to one of theirs get its id.
   */
  keyOf(
    target: string | readonly string[],
    options: ChannelPoolOptions,
    known: Iterable<Pick<PoolKey, 'credentials' | 'credentialsId'>>,
  ): PoolKey {
    const targetKey = Array.isArray(target) ? target.join(',') : String(target)
    defaultCredentials ??= credentials.createInsecure()
    const creds = options.credentials ?? defaultCredentials
    const credentialsId = this.#credentialsId(creds, known)
    return {
      key: `${targetKey}\n${credentialsId}\n${this.#fingerprint(options)}`,
      target: targetKey,
      credentials: creds,
      credentialsId,
    }
  }

  /** Equal credentials (by grpc-js' `_equals`, which its own subchannel pool keys on) share an id. */
  #credentialsId(
    creds: ChannelCredentials,
    known: Iterable<Pick<PoolKey, 'credentials' | 'credentialsId'>>,
  ): string {
    for (const k of known) {
      if (k.credentials === creds || sameCredentials(k.credentials, creds)) return k.credentialsId
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
