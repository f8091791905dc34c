/**
 * The channel every client of a pool is built on (`channelOverride`). grpc-js asks it for a call
 * synchronously; it lends the least busy of the pool's channels at once (a shared lease per call,
 * given back when the status arrives) or, when none has room, hands back a DeferredCall that waits
 * for one within the call's deadline. After `close()` calls fail at once with a typed status.
 *
 * `close()` here is a no-op: grpc-js' `client.close()` calls it, and one client closing must not
 * close channels that every other client of the pool shares. Close the pool instead.
 */
import type { ChannelInterface, Deadline, ServerUnaryCall } from '@grpc/grpc-js'
import { connectivityState } from '@grpc/grpc-js'
import type { Lease } from '../core/lease.js'
import type { Pool } from '../core/pool.js'
import { tracing } from '../core/tracing.js'
import { DeferredCall, type DeferredCallHost } from './call-deferred.js'
import { FailedCall } from './call-failed.js'
import { LeasedCall } from './call-leased.js'
import { statusFromError } from './call-status.js'
import type { CallStream } from './call-types.js'
import {
  type GrpcCallContext,
  type GrpcPickContext,
  TracedCall,
  grpcTracing,
  pickSettled,
  tracingCalls,
} from './grpc-tracing.js'
import type { PoolChannel } from './pool-channel.js'

type ChannelzRef = ReturnType<ChannelInterface['getChannelzRef']>
// biome-ignore lint/suspicious/noExplicitAny: grpc-js types the parent call loosely
type ParentCall = ServerUnaryCall<any, any> | null

const SHARED = { shared: true } as const

/** Best first: the state a caller would see from the pool as a whole. */
const RANK: Record<number, number> = {
  [connectivityState.READY]: 0,
  [connectivityState.CONNECTING]: 1,
  [connectivityState.IDLE]: 2,
  [connectivityState.TRANSIENT_FAILURE]: 3,
  [connectivityState.SHUTDOWN]: 4,
}

export interface BalancedChannelHost {
  readonly pool: Pool<PoolChannel>
  readonly target: string
  /** The pool's channels, for connectivity. */
  channels(): readonly PoolChannel[]
  /** Waits for a connectivity change of any channel (or the deadline). */
  watch(current: connectivityState, deadline: Date | number, callback: (error?: Error) => void): void
}

export class BalancedChannel implements ChannelInterface {
  readonly #host: BalancedChannelHost
  readonly #pool: Pool<PoolChannel>

  constructor(host: BalancedChannelHost) {
    this.#host = host
    this.#pool = host.pool
  }

  createCall(
    method: string,
    deadline: Deadline,
    host: string | null | undefined,
    parentCall: ParentCall,
    propagateFlags: number | null | undefined,
  ): CallStream {
    if (!tracingCalls())
      return this.#createCall(method, deadline, host, parentCall, propagateFlags, undefined)
    const target = this.#host.target
    const pick = tracing(grpcTracing.pick) ? { method, target } : undefined
    if (!tracing(grpcTracing.call)) {
      return this.#createCall(method, deadline, host, parentCall, propagateFlags, pick)
    }
    const ctx: GrpcCallContext = { method, target }
    const tc = grpcTracing.call
    return tc.start.runStores(ctx, () => {
      try {
        return new TracedCall(this.#createCall(method, deadline, host, parentCall, propagateFlags, pick), ctx)
      } finally {
        tc.end.publish(ctx)
      }
    })
  }

  #createCall(
    method: string,
    deadline: Deadline,
    host: string | null | undefined,
    parentCall: ParentCall,
    propagateFlags: number | null | undefined,
    pick: GrpcPickContext | undefined,
  ): CallStream {
    if (pick !== undefined) grpcTracing.pick.start.publish(pick)
    let lease: Lease<PoolChannel> | undefined
    try {
      lease = this.#pool.tryAcquire(SHARED)
    } catch (err) {
      if (pick !== undefined) picked(pick, false, undefined, err)
      return new FailedCall(statusFromError(err, false))
    }
    if (lease !== undefined) {
      const call = new LeasedCall(
        lease.resource.channel.createCall(method, deadline, host, parentCall, propagateFlags),
        lease,
      )
      if (pick !== undefined) picked(pick, false, lease.resource.id, undefined)
      return call
    }
    const pool = this.#pool
    const acquire = (signal: AbortSignal, timeoutMs: number | undefined) =>
      pool.acquire(timeoutMs === undefined ? { shared: true, signal } : { shared: true, signal, timeoutMs })
    const deferredHost: DeferredCallHost<PoolChannel> = {
      acquire:
        pick === undefined
          ? acquire
          : (signal, timeoutMs) =>
              acquire(signal, timeoutMs).then(
                (l) => {
                  pickSettled(pick, l.resource.id, undefined)
                  return l
                },
                (err: unknown) => {
                  pickSettled(pick, undefined, err)
                  throw err
                },
              ),
      open: (l) =>
        new LeasedCall(l.resource.channel.createCall(method, deadline, host, parentCall, propagateFlags), l),
    }
    const call = new DeferredCall(deferredHost, deadline)
    if (pick !== undefined) {
      pick.deferred = true
      grpcTracing.pick.end.publish(pick) // before the acquire settles, which is never synchronous
    }
    return call
  }

  getConnectivityState(tryToConnect: boolean): connectivityState {
    let best: connectivityState = connectivityState.SHUTDOWN
    for (const c of this.#host.channels()) {
      const s = c.channel.getConnectivityState(tryToConnect)
      if (RANK[s]! < RANK[best]!) best = s
    }
    if (best === connectivityState.SHUTDOWN && this.#pool.state === 'open')
      return connectivityState.CONNECTING
    return best
  }

  watchConnectivityState(
    currentState: connectivityState,
    deadline: Date | number,
    callback: (error?: Error) => void,
  ): void {
    this.#host.watch(currentState, deadline, callback)
  }

  getTarget(): string {
    return this.#host.target
  }

  getChannelzRef(): ChannelzRef {
    const first = this.#host.channels()[0]
    // No channel yet (starting) or any more (closed): a ref that names the pool and no entity.
    if (first === undefined)
      return { kind: 'channel', id: 0, name: this.#host.target } as unknown as ChannelzRef
    return first.channel.getChannelzRef()
  }

  close(): void {}
}

/** A pick that ended at once: `end`, then the settling events. */
function picked(pick: GrpcPickContext, deferred: boolean, channel: number | undefined, err: unknown): void {
  pick.deferred = deferred
  grpcTracing.pick.end.publish(pick)
  pickSettled(pick, channel, err)
}
