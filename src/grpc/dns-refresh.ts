/**
 * Resolves a target's DNS names itself and again every `everyMs`, because grpc-js re-resolves
 * only after a connection fails: pods added behind a Kubernetes headless service would otherwise
 * get no traffic until something breaks. Results go into the pool's AddressBook; a failed lookup
 * keeps the addresses already known.
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { AddressBook } from './address-book.js'
import type { HostPort } from './target.js'

/** Lookups closer together than this are merged, however often grpc-js asks. */
const MIN_INTERVAL_MS = 1_000

export type LookupAll = (host: string) => Promise<string[]>

const defaultLookup: LookupAll = async (host) => (await lookup(host, { all: true })).map((a) => a.address)

export class DnsRefresh {
  readonly #names: readonly HostPort[]
  readonly #book: AddressBook
  readonly #everyMs: number
  readonly #lookup: LookupAll
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #lastAt = 0
  #stopped = false
  /** Lookups done, and how many failed. */
  lookups = 0
  lookupErrors = 0
  lastError: string | undefined

  constructor(
    names: readonly HostPort[],
    book: AddressBook,
    everyMs: number,
    lookupAll: LookupAll = defaultLookup,
  ) {
    this.#names = names
    this.#book = book
    this.#everyMs = everyMs
    this.#lookup = lookupAll
  }

  /** Resolves once now; then every `everyMs` (when above 0). */
  start(): Promise<void> {
    const first = this.refresh()
    if (this.#everyMs > 0) {
      this.#timer = setInterval(() => void this.refresh(), this.#everyMs)
      this.#timer.unref()
    }
    return first
  }

  /** Resolves now unless a lookup ran within the last second. */
  refresh(): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    if (this.#running) return this.#running
    if (Date.now() - this.#lastAt < MIN_INTERVAL_MS) return Promise.resolve()
    this.#running = this.#resolve().finally(() => {
      this.#running = undefined
      this.#lastAt = Date.now()
    })
    return this.#running
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#timer)
  }

  async #resolve(): Promise<void> {
    this.lookups++
    const found: HostPort[] = []
    const errors: string[] = []
    await Promise.all(
      this.#names.map(async (n) => {
        if (isIP(n.host) !== 0) {
          found.push(n)
          return
        }
        try {
          for (const ip of await this.#lookup(n.host)) found.push({ host: ip, port: n.port })
        } catch (err) {
          errors.push(`${n.host}: ${(err as Error).message}`)
        }
      }),
    )
    if (this.#stopped) return
    if (errors.length > 0) {
      this.lookupErrors++
      this.lastError = errors.join('; ')
    }
    if (found.length > 0) this.#book.set(found)
    else this.#book.fail(`DNS lookup failed: ${this.lastError ?? 'no addresses'}`)
  }
}
