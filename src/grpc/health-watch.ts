import { isIP } from 'node:net'
import {
  type ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  status,
} from '@grpc/grpc-js'
import type { AddressBook } from './address-book.js'
import { type HealthCheckResponse, type HealthClient, healthClientConstructor } from './server-health.js'
import { parseHostPort } from './target.js'

/**
 * A backend's health as its grpc.health.v1 Watch last said: `'UNKNOWN'` before the first answer,
 * while a broken Watch is retried, or without a health check; `'UNIMPLEMENTED'` when the server has
 * no health service (counted healthy). NOT_SERVING and SERVICE_UNKNOWN take it out of rotation.
 */
export type BackendHealth = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' | 'UNKNOWN' | 'UNIMPLEMENTED'

type HealthResponse = HealthCheckResponse

const MAX_RETRY_MS = 10_000

class BackendWatcher {
  readonly address: string
  health: BackendHealth = 'UNKNOWN'
  readonly #client: HealthClient
  readonly #service: string
  readonly #retryMs: number
  readonly #onChange: (address: string, health: BackendHealth) => void
  #call: ClientReadableStream<HealthResponse> | undefined
  #timer: NodeJS.Timeout | undefined
  #delay: number
  #stopped = false

  constructor(
    address: string,
    credentials: ChannelCredentials,
    options: ChannelOptions,
    service: string,
    retryMs: number,
    onChange: (address: string, health: BackendHealth) => void,
  ) {
    this.address = address
    const hp = parseHostPort(address)
    const target = isIP(hp.host) === 4 ? `ipv4:${address}` : isIP(hp.host) === 6 ? `ipv6:${address}` : address
    const HealthClientCtor = healthClientConstructor()
    this.#client = new HealthClientCtor(target, credentials, options)
    this.#service = service
    this.#retryMs = retryMs
    this.#delay = retryMs
    this.#onChange = onChange
    this.#open()
  }

  #set(health: BackendHealth): void {
    if (this.health === health) return
    this.health = health
    this.#onChange(this.address, health)
  }

  #open(): void {
    if (this.#stopped) return
    const call = this.#client.watch({ service: this.#service })
    this.#call = call
    call.on('data', (r: HealthResponse) => {
      this.#delay = this.#retryMs
      this.#set(r.status)
    })
    call.on('error', (err: { code?: number }) => {
      if (this.#stopped || this.#call !== call) return
      if (err.code === status.UNIMPLEMENTED) {
        this.#set('UNIMPLEMENTED')
        return
      }
      this.#set('UNKNOWN')
      this.#retry()
    })
    call.on('end', () => {
      if (!this.#stopped && this.#call === call) this.#retry()
    })
  }

  #retry(): void {
    if (this.#stopped || this.#timer !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#open()
    }, this.#delay)
    this.#timer.unref()
    this.#delay = Math.min(this.#delay * 2, MAX_RETRY_MS)
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#call?.cancel()
    this.#client.close()
  }
}

/** Keeps one watcher per address of the book, and the book's health in step with them. */
export class HealthWatch {
  readonly #book: AddressBook
  readonly #credentials: ChannelCredentials
  readonly #options: ChannelOptions
  readonly #service: string
  readonly #retryMs: number
  readonly #watchers = new Map<string, BackendWatcher>()
  /** Health transitions seen. */
  transitions = 0

  constructor(
    book: AddressBook,
    credentials: ChannelCredentials,
    options: ChannelOptions,
    service: string,
    retryMs: number,
  ) {
    this.#book = book
    this.#credentials = credentials
    this.#options = options
    this.#service = service
    this.#retryMs = retryMs
  }

  /** Starts watchers for new addresses and stops those of removed ones. */
  sync(): void {
    const live = new Set(this.#book.addresses)
    for (const [address, w] of this.#watchers) {
      if (!live.has(address)) {
        w.stop()
        this.#watchers.delete(address)
      }
    }
    for (const address of live) {
      if (this.#watchers.has(address)) continue
      const w = new BackendWatcher(
        address,
        this.#credentials,
        this.#options,
        this.#service,
        this.#retryMs,
        (a, h) => {
          this.transitions++
          this.#book.setHealthy(a, h !== 'NOT_SERVING' && h !== 'SERVICE_UNKNOWN')
        },
      )
      this.#watchers.set(address, w)
    }
  }

  /** Health of every watched address. */
  snapshot(): Record<string, BackendHealth> {
    const out: Record<string, BackendHealth> = {}
    for (const [address, w] of this.#watchers) out[address] = w.health
    return out
  }

  stop(): void {
    for (const w of this.#watchers.values()) w.stop()
    this.#watchers.clear()
  }
}
