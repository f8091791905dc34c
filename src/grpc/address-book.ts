/**
 * The addresses one channel pool sends calls to: the seed's manual resolver. Every channel of the
 * pool resolves its `berth:///<id>` target through berth's resolver (resolver.ts), which reads
 * the book; when the book changes (`setAddresses`, a DNS refresh, a backend turning NOT_SERVING)
 * every attached resolver pushes the new list and grpc-js' load balancer moves new calls, while
 * calls already on a removed backend finish on their connection.
 */
import type { HostPort } from './target.js'
import { formatHostPort } from './target.js'

/** What a resolver attached to a book is told. */
export interface AddressBookListener {
  /** The addresses calls may go to now (never empty), or an error to report to calls. */
  update(addresses: readonly HostPort[] | { readonly error: string }): void
}

export class AddressBook {
  readonly id: string
  /** The authority (`:authority` header, TLS server name) the pool's channels use. */
  readonly authority: string
  #addresses: HostPort[] = []
  #error: string | undefined = 'no addresses resolved yet'
  readonly #unhealthy = new Set<string>()
  readonly #listeners = new Set<AddressBookListener>()
  /** Bumped on every change published to listeners. */
  version = 0
  /** Asked when grpc-js wants fresh addresses (a connection failed): re-resolve DNS, say. */
  onRefreshRequest: (() => void) | undefined

  constructor(id: string, authority: string) {
    this.id = id
    this.authority = authority
  }

  /** All addresses, healthy or not, as `host:port`. */
  get addresses(): readonly string[] {
    return this.#addresses.map(formatHostPort)
  }

  /** The addresses calls go to: the healthy ones, or all of them when none is healthy (fail open). */
  get routable(): readonly HostPort[] {
    const healthy = this.#addresses.filter((a) => !this.#unhealthy.has(formatHostPort(a)))
    return healthy.length > 0 ? healthy : this.#addresses
  }

  /** Addresses currently out of rotation because their health check says NOT_SERVING. */
  get unhealthy(): readonly string[] {
    return [...this.#unhealthy]
  }

  get error(): string | undefined {
    return this.#error
  }

  /** Replaces the address list; a no-op when nothing changed. */
  set(addresses: readonly HostPort[]): void {
    const next = dedupe(addresses)
    const changed = this.#error !== undefined || !sameList(next, this.#addresses)
    this.#addresses = next
    this.#error = next.length === 0 ? 'the address list is empty' : undefined
    const live = new Set(next.map(formatHostPort))
    for (const a of this.#unhealthy) if (!live.has(a)) this.#unhealthy.delete(a)
    if (changed) this.#publish()
  }

  /** Reports a resolution failure; kept addresses stay in use (a DNS blip does not drop backends). */
  fail(error: string): void {
    if (this.#addresses.length > 0) return
    this.#error = error
    this.#publish()
  }

  /** Takes an address out of rotation (`false`) or puts it back (`true`). */
  setHealthy(address: string, healthy: boolean): void {
    const had = this.#unhealthy.has(address)
    if (healthy === !had) return
    if (healthy) this.#unhealthy.delete(address)
    else this.#unhealthy.add(address)
    this.#publish()
  }

  attach(listener: AddressBookListener): void {
    this.#listeners.add(listener)
  }

  detach(listener: AddressBookListener): void {
    this.#listeners.delete(listener)
  }

  /** What a newly attached (or refreshing) resolver should report. */
  current(): readonly HostPort[] | { readonly error: string } {
    return this.#error !== undefined ? { error: this.#error } : this.routable
  }

  #publish(): void {
    this.version++
    const now = this.current()
    for (const l of this.#listeners) l.update(now)
  }
}

function dedupe(list: readonly HostPort[]): HostPort[] {
  const seen = new Set<string>()
  const out: HostPort[] = []
  for (const a of list) {
    const key = formatHostPort(a)
    if (!seen.has(key)) {
      seen.add(key)
      out.push({ host: a.host, port: a.port })
    }
  }
  return out
}

function sameList(a: readonly HostPort[], b: readonly HostPort[]): boolean {
  if (a.length !== b.length) return false
  const keys = new Set(a.map(formatHostPort))
  return b.every((x) => keys.has(formatHostPort(x)))
}
