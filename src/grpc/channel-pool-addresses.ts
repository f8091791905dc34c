/**
 * Where a channel pool's calls go, for every target but xds (grpc-js resolves those itself): the
 * AddressBook its channels resolve through, registered with berth's resolver; the DNS lookups that
 * fill it for a name target (again every `reresolveEveryMs`, and when grpc-js asks after a
 * failure); and the grpc.health.v1 Watch that takes backends out of rotation. Apart from the pool
 * so that its lifecycle has one thing to stop and one to release.
 */
import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js'
import { AddressBook } from './address-book.js'
import { DnsRefresh } from './dns-refresh.js'
import { type BackendHealth, HealthWatch } from './health-watch.js'
import { registerBook, unregisterBook } from './resolver.js'
import type { HostPort, ParsedTarget } from './target.js'

/** How the health Watch connects to each backend (the pool's credentials and channel options). */
export interface AddressHealthCheck {
  readonly credentials: ChannelCredentials
  readonly channelOptions: ChannelOptions
  readonly service: string
  readonly retryMs: number
}

let nextBookId = 0

export class ChannelPoolAddresses {
  readonly book: AddressBook
  /** The `berth:///<id>` target every channel of the pool dials. */
  readonly channelTarget: string
  /** Settles after the first DNS lookup of a name target (at once for a fixed list). */
  readonly resolved: Promise<void>
  #dns: DnsRefresh | undefined
  readonly #health: HealthWatch | undefined

  constructor(
    target: Exclude<ParsedTarget, { kind: 'xds' }>,
    reresolveEveryMs: number,
    healthCheck: AddressHealthCheck | undefined,
  ) {
    const book = new AddressBook(`pool-${++nextBookId}`, target.authority)
    this.book = book
    this.channelTarget = registerBook(book)
    if (target.kind === 'static') {
      book.set(target.addresses)
      this.resolved = Promise.resolve()
    } else {
      const dns = new DnsRefresh(target.names, book, reresolveEveryMs)
      this.#dns = dns
      book.onRefreshRequest = () => void this.#dns?.refresh()
      this.resolved = dns.start()
    }
    if (healthCheck !== undefined) {
      const health = new HealthWatch(
        book,
        healthCheck.credentials,
        { ...healthCheck.channelOptions, 'grpc.default_authority': target.authority },
        healthCheck.service,
        healthCheck.retryMs,
      )
      this.#health = health
      book.attach({ update: () => health.sync() })
      health.sync()
    }
  }

  /** DNS lookups done so far, and how many failed (0 for a fixed list). */
  get dnsLookups(): number {
    return this.#dns?.lookups ?? 0
  }

  get dnsErrors(): number {
    return this.#dns?.lookupErrors ?? 0
  }

  /** Health of every watched address (empty without a health check). */
  health(): Record<string, BackendHealth> {
    return this.#health?.snapshot() ?? {}
  }

  /** Replaces the addresses by hand; DNS re-resolution stops for good. */
  set(addresses: readonly HostPort[]): void {
    this.#dns?.stop()
    this.#dns = undefined
    this.book.set(addresses)
  }

  /** Stops DNS lookups and health Watches (the pool is closing); the channels still resolve. */
  stop(): void {
    this.#dns?.stop()
    this.#health?.stop()
  }

  /** Unregisters the book from berth's resolver, once no channel of the pool is left to ask. */
  release(): void {
    unregisterBook(this.book)
  }
}
