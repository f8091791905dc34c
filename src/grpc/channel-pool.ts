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
import type { ChannelCredentials, ChannelInterface, Client, ClientOptions, Interceptor } from '@grpc/grpc-js'
import { ChannelCredentials as GrpcChannelCredentials, credentials as grpcCredentials } from '@grpc/grpc-js'
import { InvalidOptionError, PoolClosedError } from '../core/errors.js'
import { NO_LATENCY } from '../core/latency-histogram.js'
import type { LifecycleState } from '../core/lifecycle.js'
import type { ManagedOwner, OwnerHealth } from '../core/owner.js'
import { PoolOwner } from '../core/pool-owner.js'
import { Pool } from '../core/pool.js'
import { BalancedChannel } from './balanced-channel.js'
import { renderChannelConfig } from './channel-config.js'
import { ChannelPoolAddresses } from './channel-pool-addresses.js'
import {
  type ChannelPoolOptions,
  type ResolvedChannelPoolOptions,
  resolveChannelPoolOptions,
} from './channel-pool-options.js'
import { waitForReady } from './channel-pool-ready.js'
import {
  type BackendSummary,
  type ChannelPoolCloseOptions,
  type ChannelPoolConnectivity,
  type ChannelPoolStats,
  type ChannelSummary,
  connectivityOf,
  tallyChannels,
} from './channel-pool-stats.js'
import { ChannelSupply } from './channel-pool-supply.js'
import { ConnectivityWatchers } from './channel-pool-watchers.js'
import { ConnectTimeoutCredentials } from './connect-timeout.js'
import { InvalidTargetError, UnsupportedOperationError } from './errors.js'
import { deadlineInterceptor } from './interceptor-deadline.js'
import { loggingInterceptor } from './interceptor-logging.js'
import { metadataPropagationInterceptor } from './interceptor-metadata.js'
import { CallMetrics } from './interceptor-metrics.js'
import type { PoolChannel } from './pool-channel.js'
import { formatHostPort, parseTarget } from './target.js'
import { checkTransportSecurity } from './tls.js'

/** A client class from proto-loader (`loadPackageDefinition`) or a generated grpc-js stub. */
export type ClientConstructor<C extends Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: ClientOptions,
) => C

/** A fixed-size pool puts no stream limit on a channel: it spreads calls instead (spreadShared). */
const FIXED_CAPACITY = 2 ** 31 - 1

/**
 * A pool of grpc-js channels to one target (see `createChannelPool`). Its lifecycle is the one
 * every berth owner has (`close`, `destroy`, `state`, `await using`); `connectivity()` is where its
 * channels stand, `stats()` a frozen snapshot for metrics, `probe()` and `health()` what a
 * ConnectionManager reads.
 */
export class ChannelPool extends PoolOwner<PoolChannel> implements ManagedOwner {
  /** Name in errors, stats and metrics. Default: the target. */
  readonly name: string
  /** The target as given (arrays joined with commas). */
  readonly target: string
  readonly #o: ResolvedChannelPoolOptions
  /** Undefined for an xds target, which grpc-js resolves. */
  readonly #addresses: ChannelPoolAddresses | undefined
  readonly #credentials: ConnectTimeoutCredentials
  readonly #supply: ChannelSupply
  readonly #pool: Pool<PoolChannel>
  readonly #facade: BalancedChannel
  readonly #metrics: CallMetrics | undefined
  readonly #interceptors: Interceptor[]
  readonly #watchers: ConnectivityWatchers
  readonly #counters = { connectTimeouts: 0 }

  /** @throws InvalidOptionError, InvalidTargetError, InsecureChannelError */
  constructor(target: string | readonly string[], options: ChannelPoolOptions = {}) {
    super()
    this.#o = resolveChannelPoolOptions(options)
    const o = this.#o
    const p = parseTarget(target)
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
    if (p.kind !== 'xds') {
      const hosts = p.kind === 'static' ? p.addresses : p.names
      checkTransportSecurity(hosts.map(formatHostPort), creds, {
        allowInsecure: o.allowInsecure,
        warn: o.onWarning,
      })
    }
    const rendered = renderChannelConfig(o)
    for (const w of rendered.warnings) o.onWarning(`berth/grpc pool '${this.name}': ${w}`)
    const channelOptions = rendered.channelOptions as Record<string, string | number>
    const credentials = new ConnectTimeoutCredentials(creds, o.connectTimeoutMs, this.#counters)
    this.#credentials = credentials
    this.#watchers = new ConnectivityWatchers(this.name, () => this.#facade.getConnectivityState(false))
    if (p.kind !== 'xds') {
      const healthCheck = o.healthCheck ? { credentials, channelOptions, ...o.healthCheck } : undefined
      this.#addresses = new ChannelPoolAddresses(p, o.reresolveEveryMs, healthCheck)
    }
    this.#supply = new ChannelSupply({
      options: o,
      target: this.target,
      channelTarget: p.kind === 'xds' ? p.target : this.#addresses!.channelTarget,
      xds: p.kind === 'xds',
      credentials,
      channelOptions,
      addresses: this.#addresses,
      changed: () => this.#watchers.notify(),
    })

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
      create: (signal) => this.#supply.create(signal),
      destroy: (c) => this.#supply.destroy(c),
      min: fixed ? (o.size as number) : o.minChannels,
      max: fixed ? (o.size as number) : o.maxChannels,
      capacity: fixed ? FIXED_CAPACITY : () => this.#supply.capacity(),
      spreadShared: fixed,
      maxIdleMs: fixed ? Number.POSITIVE_INFINITY : o.channelIdleMs,
      healthCheckPeriodMs: fixed ? 60_000 : Math.max(10, Math.floor(o.channelIdleMs / 2)),
    })
    this.#pool.on('createError', () => {})
    this.#facade = new BalancedChannel({
      pool: this.#pool,
      target: this.target,
      channels: () => [...this.#supply.channels],
      watch: (current, deadline, callback) => this.#watchers.watch(current, deadline, callback),
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

  /**
   * The grpc-js channel the pool's clients use, for code that builds clients itself (pass it as
   * `channelOverride`). Its `close()` does nothing: close the pool.
   */
  get channel(): ChannelInterface {
    return this.#facade
  }

  /**
   * Replaces the backends (the seed's manual resolver). New calls go to the new list; calls
   * running on a removed backend finish there. Stops DNS re-resolution for a DNS target.
   * @throws InvalidTargetError for a bad address, UnsupportedOperationError for an xds target
   */
  setAddresses(addresses: readonly string[]): void {
    if (this.#addresses === undefined)
      throw new UnsupportedOperationError(`setAddresses() does not apply to xds target ${this.target}`)
    if (this.state !== 'open') throw new PoolClosedError(this.#context())
    const parsed = parseTarget(addresses)
    if (parsed.kind === 'xds') throw new InvalidTargetError(addresses, 'xds: is not an address')
    this.#addresses.set(parsed.kind === 'static' ? parsed.addresses : parsed.names)
  }

  /**
   * Resolves when at least one channel is READY; connects idle ones.
   * @param options.signal ends the wait with NotReadyError (its `cause` the signal's reason)
   * @param options.timeoutMs ends the wait with NotReadyError after this long, in ms. Default: none
   * @throws NotReadyError (aborted, timed out, or no channel could be made); PoolClosedError once closing
   */
  waitForReady(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    return waitForReady(
      {
        name: this.name,
        pool: this.#pool,
        channels: this.#supply.channels,
        watchers: this.#watchers,
        closedError: () => (this.state === 'open' ? undefined : new PoolClosedError(this.#context())),
      },
      options,
    )
  }

  /**
   * Readiness probe (`ManagedOwner`): resolves once a channel is READY, connecting idle ones; the
   * same wait as `waitForReady({ signal })`, with no deadline but the signal's.
   * @throws NotReadyError when aborted or when no channel can be made; PoolClosedError after close
   */
  probe(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.waitForReady({ signal: options?.signal })
  }

  /**
   * A frozen health summary (`ManagedOwner`): kind `'grpc'`, ready while open with a READY channel,
   * `inUse` the calls in flight, and in `detail` the best connectivity, the channel count, the calls
   * in flight and why resolution failed (if it did).
   */
  health(): OwnerHealth {
    const c = this.connectivity()
    const callsInFlight = this.#supply.callsInFlight()
    return Object.freeze({
      kind: 'grpc',
      ready: this.state === 'open' && c.ready,
      inUse: callsInFlight,
      detail: Object.freeze({
        connectivity: c.state,
        channels: c.channels.length,
        callsInFlight,
        resolutionError: c.resolutionError,
      }),
    })
  }

  /** Connectivity, channel by channel and backend by backend: a summary for health endpoints and dashboards. */
  connectivity(): ChannelPoolConnectivity {
    return connectivityOf(this.#supply.channels, this.state === 'open', this.#addresses)
  }

  /** A frozen snapshot of counts and call metrics; `state` is the lifecycle state. */
  stats(): ChannelPoolStats {
    const t = tallyChannels(this.#supply.channels, this.#supply.retired)
    const pool = this.#pool.stats()
    const addresses = this.#addresses
    const calls = this.#metrics?.snapshot()
    return Object.freeze({
      name: this.name,
      state: this.state,
      target: this.target,
      size: this.#o.size,
      channels: this.#supply.channels.size,
      channelsByState: t.byState,
      callsInFlight: t.inFlight,
      callsWaiting: pool.waiting,
      streamsPerChannel: this.#o.size === 'auto' ? this.#supply.streamsPerChannel : undefined,
      reconnects: t.reconnects,
      transientFailures: t.failures,
      idleKicks: t.kicks,
      connectTimeouts: this.#counters.connectTimeouts,
      addresses: Object.freeze([...(addresses?.book.addresses ?? [])]),
      unhealthy: Object.freeze([...(addresses?.book.unhealthy ?? [])]),
      dnsLookups: addresses?.dnsLookups ?? 0,
      dnsErrors: addresses?.dnsErrors ?? 0,
      acquireWaitMs: pool.acquireWaitMs,
      callMs: this.#metrics?.latency() ?? NO_LATENCY,
      pool,
      calls,
    })
  }

  /**
   * The pool of channels (PoolOwner's close drains it, destroy ends it). Graceful close: new calls
   * fail at once (typed, UNAVAILABLE with `cause` PoolClosedError), calls in flight finish, then
   * the channels close; past the base's deadline (`timeoutMs`, default 30000) destroy closes every
   * channel now, and calls still in flight fail with UNAVAILABLE.
   */
  protected override corePool(): Pool<PoolChannel> {
    return this.#pool
  }

  protected override onTransition(_from: LifecycleState, to: LifecycleState): void {
    // Closing either way: no more DNS lookups or health Watches for channels on their way out.
    if (to === 'closing' || to === 'destroying') this.#addresses?.stop()
    // Every channel is closed: no resolver is left to read the address book.
    if (to === 'closed') this.#addresses?.release()
    // waitForReady waits fail once the pool is not open; connectivity watchers see SHUTDOWN.
    this.#watchers.notify()
  }

  /** Calls in flight, for the message of a close that timed out. */
  protected override inUse(): number {
    return this.#supply.callsInFlight()
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
  ChannelPoolStats,
  ChannelSummary,
}
