/**
 * A pool of grpc-js channels to one target, built on berth's core Pool with shared leases: each
 * call holds a shared lease on the channel it runs on, so the least busy channel takes the next
 * call, `'auto'` sizing adds a channel when every one is full and reaps it when idle, and a
 * graceful close waits for exactly the calls in flight.
 *
 * ```ts
 * const billing = createChannelPool('dns:///billing:50051', { size: 'auto' })
 * const client = billing.client(BillingClient)
 * await billing.waitForReady({ signal: AbortSignal.timeout(5000) })
 * ```
 */
import type { ChannelCredentials, Client, ClientOptions, Interceptor } from '@grpc/grpc-js'
import {
  ChannelCredentials as GrpcChannelCredentials,
  type connectivityState,
  credentials as grpcCredentials,
} from '@grpc/grpc-js'
import { InvalidOptionError, PoolClosedError } from '../core/errors.js'
import { Lifecycle } from '../core/lifecycle.js'
import type { PoolStats } from '../core/pool-stats.js'
import { Pool } from '../core/pool.js'
import { AddressBook } from './address-book.js'
import { BalancedChannel } from './balanced-channel.js'
import { renderChannelConfig } from './channel-config.js'
import {
  type ChannelPoolOptions,
  type ResolvedChannelPoolOptions,
  resolveChannelPoolOptions,
} from './channel-pool-options.js'
import { waitForReady } from './channel-pool-ready.js'
import type {
  BackendSummary,
  ChannelPoolCloseOptions,
  ChannelPoolConnectivity,
  ChannelPoolState,
  ChannelPoolStats,
  ChannelSummary,
} from './channel-pool-stats.js'
import { ConnectTimeoutCredentials } from './connect-timeout.js'
import { DnsRefresh } from './dns-refresh.js'
import { InvalidTargetError, NotReadyError, UnsupportedOperationError } from './errors.js'
import { type BackendHealth, HealthWatch } from './health-watch.js'
import { deadlineInterceptor } from './interceptor-deadline.js'
import { loggingInterceptor } from './interceptor-logging.js'
import { metadataPropagationInterceptor } from './interceptor-metadata.js'
import { CallMetrics, type CallMetricsSnapshot } from './interceptor-metrics.js'
import { type ConnectivityName, PoolChannel } from './pool-channel.js'
import { registerBook, unregisterBook } from './resolver.js'
import { probeStreamLimit } from './stream-limit-probe.js'
import { type HostPort, type ParsedTarget, formatHostPort, parseTarget } from './target.js'
import { checkTransportSecurity } from './tls.js'
import { loadXds } from './xds.js'

/** A client class from proto-loader (`loadPackageDefinition`) or a generated grpc-js stub. */
export type ClientConstructor<C extends Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: ClientOptions,
) => C

/** A fixed-size pool puts no stream limit on a channel: it spreads calls instead (spreadShared). */
const FIXED_CAPACITY = 2 ** 31 - 1
let nextPoolId = 0

const ZERO_STATES: Record<ConnectivityName, number> = {
  IDLE: 0,
  CONNECTING: 0,
  READY: 0,
  TRANSIENT_FAILURE: 0,
  SHUTDOWN: 0,
}

export class ChannelPool extends Lifecycle {
  readonly name: string
  /** The target as given (arrays joined with commas). */
  readonly target: string
  readonly #o: ResolvedChannelPoolOptions
  readonly #parsed: ParsedTarget
  readonly #book: AddressBook | undefined
  #dns: DnsRefresh | undefined
  /** Settles after the first DNS lookup of a name target (at once for other targets). */
  #resolved: Promise<void> = Promise.resolve()
  readonly #health: HealthWatch | undefined
  readonly #credentials: ConnectTimeoutCredentials
  readonly #channelTarget: string
  readonly #channelOptions: Record<string, string | number>
  readonly #pool: Pool<PoolChannel>
  readonly #facade: BalancedChannel
  readonly #channels = new Set<PoolChannel>()
  readonly #metrics: CallMetrics | undefined
  readonly #interceptors: Interceptor[]
  readonly #watchers = new Set<() => void>()
  readonly #counters = { connectTimeouts: 0 }
  #retired = { reconnects: 0, failures: 0, kicks: 0 }
  #streamCap: number | undefined
  #nextChannelId = 0

  /** @throws InvalidOptionError, InvalidTargetError, InsecureChannelError */
  constructor(target: string | readonly string[], options: ChannelPoolOptions = {}) {
    super()
    this.#o = resolveChannelPoolOptions(options)
    const o = this.#o
    this.#parsed = parseTarget(target)
    this.target = Array.isArray(target) ? target.join(',') : String(target)
    this.name = options.name ?? this.target
    if (typeof this.name !== 'string' || this.name === '')
      throw new InvalidOptionError('name', options.name, 'a non-empty string')
    const creds = options.credentials ?? grpcCredentials.createInsecure()
    if (!(creds instanceof GrpcChannelCredentials)) {
      throw new InvalidOptionError(
        'credentials',
        creds,
        'grpc-js ChannelCredentials (from the same @grpc/grpc-js berth uses)',
      )
    }
    const p = this.#parsed
    if (p.kind !== 'xds') {
      const hosts = p.kind === 'static' ? p.addresses : p.names
      checkTransportSecurity(hosts.map(formatHostPort), creds, {
        allowInsecure: o.allowInsecure,
        warn: o.onWarning,
      })
    }
    const rendered = renderChannelConfig(o)
    for (const w of rendered.warnings) o.onWarning(`berth/grpc pool '${this.name}': ${w}`)
    this.#channelOptions = rendered.channelOptions as Record<string, string | number>
    this.#credentials = new ConnectTimeoutCredentials(creds, o.connectTimeoutMs, this.#counters)

    if (p.kind === 'xds') {
      this.#channelTarget = p.target
    } else {
      const book = new AddressBook(`pool-${++nextPoolId}`, p.authority)
      this.#book = book
      this.#channelTarget = registerBook(book)
      if (p.kind === 'static') book.set(p.addresses)
      else this.#startDns(p.names)
      if (o.healthCheck) {
        const health = new HealthWatch(
          book,
          this.#credentials,
          { ...this.#channelOptions, 'grpc.default_authority': p.authority },
          o.healthCheck.service,
          o.healthCheck.retryMs,
        )
        this.#health = health
        book.attach({ update: () => health.sync() })
        health.sync()
      }
    }

    this.#metrics = o.metrics ? new CallMetrics() : undefined
    this.#interceptors = []
    if (o.logging) this.#interceptors.push(loggingInterceptor(o.logging))
    if (this.#metrics) this.#interceptors.push(this.#metrics.interceptor)
    if (o.defaultDeadlineMs !== undefined)
      this.#interceptors.push(deadlineInterceptor({ defaultMs: o.defaultDeadlineMs }))
    if (o.propagate) this.#interceptors.push(metadataPropagationInterceptor(o.propagate))
    this.#interceptors.push(...o.interceptors)

    const fixed = o.size !== 'auto'
    this.#pool = new Pool<PoolChannel>({
      name: this.name,
      create: (signal) => this.#createChannel(signal),
      destroy: (c) => this.#destroyChannel(c),
      min: fixed ? (o.size as number) : o.minChannels,
      max: fixed ? (o.size as number) : o.maxChannels,
      capacity: fixed ? FIXED_CAPACITY : () => this.#capacity(),
      spreadShared: fixed,
      maxIdleMs: fixed ? Number.POSITIVE_INFINITY : o.channelIdleMs,
      healthCheckPeriodMs: fixed ? 60_000 : Math.max(10, Math.floor(o.channelIdleMs / 2)),
    })
    this.#pool.on('createError', () => {})
    this.#facade = new BalancedChannel({
      pool: this.#pool,
      target: this.target,
      channels: () => [...this.#channels],
      watch: (current, deadline, callback) => this.#watchState(current, deadline, callback),
    })
  }

  /**
   * A client of the given class whose every call picks the least busy channel of the pool. Works
   * with proto-loader clients and generated stubs; `interceptors` run after the pool's.
   * `client.close()` does not close the pool (others share it): close the pool.
   * @throws PoolClosedError after close
   */
  client<C extends Client>(ctor: ClientConstructor<C>, options: { interceptors?: Interceptor[] } = {}): C {
    if (typeof ctor !== 'function') throw new InvalidOptionError('client', ctor, 'a grpc-js client class')
    if (this.state !== 'open') throw new PoolClosedError(this.#context())
    const interceptors = [...this.#interceptors, ...(options.interceptors ?? [])]
    return new ctor(this.target, this.#credentials, { channelOverride: this.#facade, interceptors })
  }

  /** The grpc-js channel the pool's clients use, for code that builds clients itself (`channelOverride`). */
  get channel(): BalancedChannel {
    return this.#facade
  }

  /**
   * Replaces the backends (the seed's manual resolver). New calls go to the new list; calls
   * running on a removed backend finish there. Stops DNS re-resolution for a DNS target.
   * @throws InvalidTargetError for a bad address, UnsupportedOperationError for an xds target
   */
  setAddresses(addresses: readonly string[]): void {
    if (this.#book === undefined)
      throw new UnsupportedOperationError(`setAddresses() does not apply to xds target ${this.target}`)
    if (this.state !== 'open') throw new PoolClosedError(this.#context())
    const parsed = parseTarget(addresses)
    if (parsed.kind === 'xds') throw new InvalidTargetError(addresses, 'xds: is not an address')
    this.#dns?.stop()
    this.#dns = undefined
    this.#book.set(parsed.kind === 'static' ? parsed.addresses : parsed.names)
  }

  /** Resolves when at least one channel is READY; connects idle ones. */
  waitForReady(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    return waitForReady(
      {
        name: this.name,
        pool: this.#pool,
        channels: this.#channels,
        watchers: this.#watchers,
        closedError: () => (this.state === 'open' ? undefined : new PoolClosedError(this.#context())),
      },
      options,
    )
  }

  /** Connectivity, channel by channel and backend by backend: a summary for health endpoints and dashboards. */
  connectivity(): ChannelPoolConnectivity {
    const now = Date.now()
    let best: ConnectivityName = 'SHUTDOWN'
    const channels: ChannelSummary[] = []
    for (const c of this.#channels) {
      if (rank(c.state) < rank(best)) best = c.state
      channels.push(
        Object.freeze({
          id: c.id,
          state: c.state,
          callsInFlight: c.inFlight,
          reconnects: c.reconnects,
          ageMs: now - c.createdAt,
        }),
      )
    }
    if (best === 'SHUTDOWN' && this.state === 'open') best = 'CONNECTING'
    const health = this.#health?.snapshot() ?? {}
    const unhealthy = new Set(this.#book?.unhealthy ?? [])
    const backends = (this.#book?.addresses ?? []).map((address) =>
      Object.freeze({ address, health: health[address] ?? 'UNKNOWN', inRotation: !unhealthy.has(address) }),
    )
    return Object.freeze({
      state: best,
      ready: best === 'READY',
      channels: Object.freeze(channels),
      backends: Object.freeze(backends),
      resolutionError: this.#book?.error,
    })
  }

  /** A frozen snapshot of counts and call metrics. */
  stats(): ChannelPoolStats {
    const byState = { ...ZERO_STATES }
    let reconnects = this.#retired.reconnects
    let failures = this.#retired.failures
    let kicks = this.#retired.kicks
    let inFlight = 0
    for (const c of this.#channels) {
      byState[c.state]++
      reconnects += c.reconnects
      failures += c.failures
      kicks += c.kicks
      inFlight += c.inFlight
    }
    const pool = this.#pool.stats()
    return Object.freeze({
      name: this.name,
      target: this.target,
      size: this.#o.size,
      state: this.state,
      poolState: this.state,
      channels: this.#channels.size,
      channelsByState: Object.freeze(byState),
      callsInFlight: inFlight,
      callsWaiting: pool.waiting,
      streamsPerChannel: this.#o.size === 'auto' ? this.#streamCap : undefined,
      reconnects,
      transientFailures: failures,
      idleKicks: kicks,
      connectTimeouts: this.#counters.connectTimeouts,
      addresses: Object.freeze([...(this.#book?.addresses ?? [])]),
      unhealthy: Object.freeze([...(this.#book?.unhealthy ?? [])]),
      dnsLookups: this.#dns?.lookups ?? 0,
      dnsErrors: this.#dns?.lookupErrors ?? 0,
      pool,
      calls: this.#metrics?.snapshot(),
    })
  }

  /**
   * Graceful (`close()` from the Lifecycle base): new calls fail at once (typed, UNAVAILABLE with
   * `cause` PoolClosedError), calls in flight finish, then the channels close. The base's deadline
   * (`timeoutMs`, default 30000) closes the channels under the calls still running.
   */
  protected override async onClose(): Promise<void> {
    this.#stopSources()
    this.#notify()
    try {
      await this.#pool.close({ timeoutMs: Number.POSITIVE_INFINITY })
    } finally {
      this.#finish()
    }
  }

  /** Forced: closes every channel now; calls in flight fail with CANCELLED/UNAVAILABLE. */
  protected override async onDestroy(reason: unknown): Promise<void> {
    this.#stopSources()
    this.#notify()
    try {
      await this.#pool.destroy(reason)
    } finally {
      this.#finish()
    }
  }

  /** Calls in flight, for the message of a close that timed out. */
  protected override inUse(): number {
    return this.#pool.stats().sharedLeases
  }

  // --- internals --------------------------------------------------------------------------

  #startDns(names: readonly HostPort[]): void {
    const book = this.#book!
    const dns = new DnsRefresh(names, book, this.#o.reresolveEveryMs)
    this.#dns = dns
    book.onRefreshRequest = () => void this.#dns?.refresh()
    this.#resolved = dns.start()
  }

  async #createChannel(signal: AbortSignal): Promise<PoolChannel> {
    if (this.#parsed.kind === 'xds') await loadXds(this.target)
    if (this.#o.size === 'auto' && this.#streamCap === undefined) await this.#probe(signal)
    signal.throwIfAborted()
    const ch = new PoolChannel(
      ++this.#nextChannelId,
      this.#channelTarget,
      this.#credentials,
      this.#channelOptions,
      () => this.#notify(),
    )
    this.#channels.add(ch)
    this.#notify()
    return ch
  }

  #destroyChannel(c: PoolChannel): void {
    this.#retired.reconnects += c.reconnects
    this.#retired.failures += c.failures
    this.#retired.kicks += c.kicks
    this.#channels.delete(c)
    c.close()
    this.#notify()
  }

  /** Learns the server's MAX_CONCURRENT_STREAMS once, from the first address. */
  /**
   * Learns the server's MAX_CONCURRENT_STREAMS from the first address that answers (after the
   * first DNS lookup of a name target). Left unknown when none answers; the next channel asks again.
   */
  async #probe(signal: AbortSignal): Promise<void> {
    await this.#resolved
    for (const address of (this.#book?.routable ?? []).slice(0, 3)) {
      if (signal.aborted) return
      const advertised = await probeStreamLimit(
        address,
        this.#credentials.inner,
        this.#book!.authority,
        this.#o.connectTimeoutMs,
        signal,
      )
      if (advertised !== undefined) {
        this.#streamCap = Math.max(1, Math.min(advertised, this.#o.maxStreamsPerChannel))
        return
      }
    }
  }

  #capacity(): number {
    const perConnection = this.#streamCap ?? this.#o.maxStreamsPerChannel
    // round_robin spreads one channel's calls over a connection per backend.
    const backends =
      this.#o.loadBalancing === 'round_robin' ? Math.max(1, this.#book?.routable.length ?? 1) : 1
    return perConnection * backends
  }

  #watchState(current: connectivityState, deadline: Date | number, callback: (error?: Error) => void): void {
    const at = deadline instanceof Date ? deadline.getTime() : deadline
    let timer: NodeJS.Timeout | undefined
    const check = () => {
      if (this.#facade.getConnectivityState(false) === current) return
      this.#watchers.delete(check)
      clearTimeout(timer)
      callback()
    }
    if (Number.isFinite(at)) {
      timer = setTimeout(
        () => {
          this.#watchers.delete(check)
          callback(new NotReadyError(this.name, 'deadline passed before the connectivity state changed'))
        },
        Math.max(0, at - Date.now()),
      )
      timer.unref()
    }
    this.#watchers.add(check)
  }

  #notify(): void {
    for (const w of [...this.#watchers]) w()
  }

  #stopSources(): void {
    this.#dns?.stop()
    this.#health?.stop()
  }

  #finish(): void {
    if (this.#book) unregisterBook(this.#book)
    this.#notify()
  }

  #context() {
    const s = this.#pool.stats()
    return {
      pool: this.name,
      total: s.total,
      idle: s.idle,
      leased: s.leased,
      shared: s.shared,
      creating: s.creating,
      waiting: s.waiting,
      max: s.max,
    }
  }
}

function rank(s: ConnectivityName): number {
  return s === 'READY' ? 0 : s === 'CONNECTING' ? 1 : s === 'IDLE' ? 2 : s === 'TRANSIENT_FAILURE' ? 3 : 4
}

/**
 * Makes a channel pool. `target`: `'host:port'`, `'dns:///host:port'`, `'ipv4:a:p,b:p'`, a list
 * of addresses, or `'xds:///name'` (with @grpc/grpc-js-xds installed).
 * @throws InvalidOptionError, InvalidTargetError, InsecureChannelError
 */
export function createChannelPool(
  target: string | readonly string[],
  options?: ChannelPoolOptions,
): ChannelPool {
  return new ChannelPool(target, options)
}

export type { ChannelPoolOptions }
export type {
  BackendSummary,
  ChannelPoolCloseOptions,
  ChannelPoolConnectivity,
  ChannelPoolState,
  ChannelPoolStats,
  ChannelSummary,
}
