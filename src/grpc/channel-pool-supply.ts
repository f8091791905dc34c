/**
 * How a channel pool makes and retires its channels: the core Pool's `create`, `destroy` and
 * `capacity` callbacks. Each channel dials the pool's target with connections of its own; in
 * `'auto'` mode the first channel waits to learn the server's MAX_CONCURRENT_STREAMS, which then
 * sets how many calls a channel takes before the pool adds another.
 */
import type { ChannelPoolAddresses } from './channel-pool-addresses.js'
import type { ResolvedChannelPoolOptions } from './channel-pool-options.js'
import type { RetiredChannels } from './channel-pool-stats.js'
import type { ConnectTimeoutCredentials } from './connect-timeout.js'
import { PoolChannel } from './pool-channel.js'
import { probeStreamLimit } from './stream-limit-probe.js'
import { loadXds } from './xds.js'

/** What the supply needs of its pool. */
export interface ChannelSupplyHost {
  readonly options: ResolvedChannelPoolOptions
  /** The target as given, for loading xds support. */
  readonly target: string
  /** `'berth:///<id>'` for berth-resolved targets, the xds target as is. */
  readonly channelTarget: string
  readonly xds: boolean
  readonly credentials: ConnectTimeoutCredentials
  readonly channelOptions: Readonly<Record<string, string | number>>
  /** Undefined for an xds target. */
  readonly addresses: ChannelPoolAddresses | undefined
  /** Called when a channel is made or closed and on each of its connectivity changes. */
  changed(): void
}

export class ChannelSupply {
  /** The live channels; a closed one has left it. */
  readonly channels = new Set<PoolChannel>()
  /** Counters of the channels closed so far. */
  readonly retired: RetiredChannels = { reconnects: 0, failures: 0, kicks: 0 }
  readonly #host: ChannelSupplyHost
  #streamCap: number | undefined
  #nextId = 0

  constructor(host: ChannelSupplyHost) {
    this.#host = host
  }

  /** Streams a channel takes in `'auto'` mode, once learned from the server. */
  get streamsPerChannel(): number | undefined {
    return this.#streamCap
  }

  /** The core Pool's `create`. */
  async create(signal: AbortSignal): Promise<PoolChannel> {
    const h = this.#host
    if (h.xds) await loadXds(h.target)
    if (h.options.size === 'auto' && this.#streamCap === undefined) await this.#learnStreamLimit(signal)
    signal.throwIfAborted()
    const ch = new PoolChannel(++this.#nextId, h.channelTarget, h.credentials, h.channelOptions, () =>
      h.changed(),
    )
    this.channels.add(ch)
    h.changed()
    return ch
  }

  /** The core Pool's `destroy`: closes the channel, cancelling calls still on it. */
  destroy(c: PoolChannel): void {
    this.retired.reconnects += c.reconnects
    this.retired.failures += c.failures
    this.retired.kicks += c.kicks
    this.channels.delete(c)
    c.close()
    this.#host.changed()
  }

  /** The core Pool's `capacity` in `'auto'` mode: calls one channel takes. */
  capacity(): number {
    const o = this.#host.options
    const perConnection = this.#streamCap ?? o.maxStreamsPerChannel
    // round_robin spreads one channel's calls over a connection per backend.
    const backends =
      o.loadBalancing === 'round_robin' ? Math.max(1, this.#host.addresses?.book.routable.length ?? 1) : 1
    return perConnection * backends
  }

  /** Calls running on the pool's channels now. */
  callsInFlight(): number {
    let n = 0
    for (const c of this.channels) n += c.inFlight
    return n
  }

  /**
   * Learns the server's MAX_CONCURRENT_STREAMS from the first address that answers (after the
   * first DNS lookup of a name target). Left unknown when none answers; the next channel asks again.
   */
  async #learnStreamLimit(signal: AbortSignal): Promise<void> {
    const { addresses, credentials, options } = this.#host
    if (addresses === undefined) return
    await addresses.resolved
    for (const address of addresses.book.routable.slice(0, 3)) {
      if (signal.aborted) return
      const advertised = await probeStreamLimit(
        address,
        credentials.inner,
        addresses.book.authority,
        options.connectTimeoutMs,
        signal,
      )
      if (advertised !== undefined) {
        this.#streamCap = Math.max(1, Math.min(advertised, options.maxStreamsPerChannel))
        return
      }
    }
  }
}
