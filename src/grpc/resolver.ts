/**
 * berth's grpc-js name resolver for the `berth:` scheme. grpc-js registers resolvers globally by
 * scheme, so the registration happens once per process and the resolver finds the pool's
 * AddressBook by the id in the target path (`berth:///<id>`); books register themselves here
 * while their pool is open.
 */
import { experimental, status } from '@grpc/grpc-js'
import type { ChannelOptions } from '@grpc/grpc-js'
import type { AddressBook, AddressBookListener } from './address-book.js'
import type { HostPort } from './target.js'

export const BERTH_SCHEME = 'berth'

const books = new Map<string, AddressBook>()
let registered = false

class BerthResolver implements experimental.Resolver, AddressBookListener {
  readonly #id: string
  readonly #listener: experimental.ResolverListener
  #book: AddressBook | undefined
  #scheduled = false
  #destroyed = false
  /** The book version last reported; -1 before the first report. */
  #reported = -1

  constructor(
    target: experimental.GrpcUri,
    listener: experimental.ResolverListener,
    _options: ChannelOptions,
  ) {
    this.#id = target.path
    this.#listener = listener
    this.#book = books.get(this.#id)
    this.#book?.attach(this)
  }

  /**
   * grpc-js asks again whenever a backend fails. An unchanged book is not reported again: each
   * report resets grpc-js' re-resolution backoff, so answering every request at once would spin
   * (report, subchannel still failing, request, report...) and starve the event loop.
   */
  updateResolution(): void {
    this.#destroyed = false
    if (this.#book === undefined) {
      this.#book = books.get(this.#id)
      this.#book?.attach(this)
    }
    this.#book?.onRefreshRequest?.()
    this.#schedule()
  }

  destroy(): void {
    this.#destroyed = true
    this.#book?.detach(this)
    this.#book = undefined
    this.#reported = -1
  }

  update(_addresses: readonly HostPort[] | { readonly error: string }): void {
    this.#schedule()
  }

  /** grpc-js forbids calling the listener synchronously from the constructor or updateResolution. */
  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    process.nextTick(() => {
      this.#scheduled = false
      if (this.#destroyed) return
      const version = this.#book?.version ?? -2
      if (version === this.#reported) return
      this.#reported = version
      const now = this.#book?.current() ?? { error: `channel pool ${this.#id} is closed` }
      if ('error' in now) {
        this.#listener(
          experimental.statusOrFromError({ code: status.UNAVAILABLE, details: `berth: ${now.error}` }),
          {},
          null,
          now.error,
        )
      } else {
        const endpoints = now.map((a) => ({ addresses: [{ host: a.host, port: a.port }] }))
        this.#listener(experimental.statusOrFromValue(endpoints), {}, null, '')
      }
    })
  }

  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return books.get(target.path)?.authority ?? target.path
  }
}

/** Makes `berth:///<book.id>` resolve to the book's addresses until `unregisterBook`. */
export function registerBook(book: AddressBook): string {
  if (!registered) {
    experimental.registerResolver(BERTH_SCHEME, BerthResolver)
    registered = true
  }
  books.set(book.id, book)
  return `${BERTH_SCHEME}:///${book.id}`
}

export function unregisterBook(book: AddressBook): void {
  if (books.get(book.id) === book) books.delete(book.id)
}
