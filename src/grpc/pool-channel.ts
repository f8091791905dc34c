/**
 * One channel of a pool: a grpc-js Channel with its own connections, watched for connectivity
 * changes (the seed's HealthMonitor). An IDLE channel is asked to connect again at once, so a
 * pool stays warm; a channel that keeps failing is left to grpc-js' reconnect backoff. Each
 * transition is counted and reported, for stats and the pool's `connectivity()`.
 */
import {
  Channel,
  type ChannelCredentials,
  type ChannelOptions,
  connectivityState,
  status,
} from '@grpc/grpc-js'
import type { LeasedCall } from './call-leased.js'

/** A grpc-js connectivity state by name, as berth reports it (`connectivity()`, `stats().channelsByState`). */
export type ConnectivityName = 'IDLE' | 'CONNECTING' | 'READY' | 'TRANSIENT_FAILURE' | 'SHUTDOWN'

const NAMES: Record<number, ConnectivityName> = {
  [connectivityState.IDLE]: 'IDLE',
  [connectivityState.CONNECTING]: 'CONNECTING',
  [connectivityState.READY]: 'READY',
  [connectivityState.TRANSIENT_FAILURE]: 'TRANSIENT_FAILURE',
  [connectivityState.SHUTDOWN]: 'SHUTDOWN',
}

export function connectivityName(state: connectivityState): ConnectivityName {
  return NAMES[state] ?? 'SHUTDOWN'
}

export type ChannelStateListener = (
  channel: PoolChannel,
  from: ConnectivityName,
  to: ConnectivityName,
) => void

export class PoolChannel {
  readonly id: number
  readonly channel: Channel
  /** `Date.now()` when made. */
  readonly createdAt: number
  /** Calls running on it now. */
  readonly calls: Set<LeasedCall<PoolChannel>> = new Set()
  /** Times the channel went back to CONNECTING after it had been READY. */
  reconnects = 0
  /** Times it entered TRANSIENT_FAILURE. */
  failures = 0
  /** Times berth asked an IDLE channel to connect again. */
  kicks = 0
  #state: ConnectivityName = 'IDLE'
  #wasReady = false
  #closed = false
  readonly #onState: ChannelStateListener

  constructor(
    id: number,
    target: string,
    credentials: ChannelCredentials,
    options: ChannelOptions,
    onState: ChannelStateListener,
  ) {
    this.id = id
    this.createdAt = Date.now()
    this.channel = new Channel(target, credentials, options)
    this.#onState = onState
    this.#state = connectivityName(this.channel.getConnectivityState(true))
    this.#watch()
  }

  get inFlight(): number {
    return this.calls.size
  }

  get state(): ConnectivityName {
    return this.#state
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Starts connecting when IDLE; no effect otherwise. */
  connect(): void {
    if (!this.#closed) this.channel.getConnectivityState(true)
  }

  /**
   * Closes the channel. grpc-js lets calls on a closed channel run on; a pool only closes a
   * channel with calls still open when it is forced (destroy, or close past its deadline), so
   * those calls are cancelled with `reason`.
   */
  close(reason = 'berth: channel closed by its pool'): void {
    if (this.#closed) return
    this.#closed = true
    for (const call of [...this.calls]) call.cancelWithStatus(status.UNAVAILABLE, reason)
    this.channel.close()
  }

  #watch(): void {
    if (this.#closed) return
    const seen = this.channel.getConnectivityState(false)
    if (seen === connectivityState.SHUTDOWN) return
    this.channel.watchConnectivityState(seen, Number.POSITIVE_INFINITY, () => {
      if (this.#closed) return
      const next = connectivityName(this.channel.getConnectivityState(false))
      this.#transition(next)
      this.#watch()
    })
  }

  #transition(to: ConnectivityName): void {
    const from = this.#state
    if (from === to) return
    this.#state = to
    if (to === 'READY') this.#wasReady = true
    if (to === 'CONNECTING' && this.#wasReady) {
      this.reconnects++
      this.#wasReady = false
    }
    if (to === 'TRANSIENT_FAILURE') this.failures++
    if (to === 'IDLE' || to === 'TRANSIENT_FAILURE') {
      // The seed's HealthMonitor (its conn.Connect()): an IDLE channel reconnects at once instead
      // of on the next call. In TRANSIENT_FAILURE the request only matters to subchannels that went
      // idle; the others retry on grpc-js' reconnect backoff (reconnectBackoff), which berth leaves
      // in charge so that a dead backend is not hammered.
      if (to === 'IDLE') this.kicks++
      this.channel.getConnectivityState(true)
    }
    this.#onState(this, from, to)
  }
}
