/**
 * A call running on one of the pool's channels. It holds a shared lease on that channel for as
 * long as the call is open, so the pool always knows each channel's calls in flight (the least
 * busy channel takes the next call) and a graceful close waits for exactly these calls. The lease
 * is given back when the status arrives, which grpc-js delivers exactly once per started call.
 */
import type { StatusObject } from '@grpc/grpc-js'
import type { Lease } from '../core/lease.js'
import { ForwardingCall } from './call-forwarding.js'
import type { CallStream } from './call-types.js'

/** What a leased call needs of the resource it runs on: the set of its open calls. */
export interface CallHost {
  readonly calls: Set<LeasedCall<CallHost>>
}

export class LeasedCall<R extends CallHost> extends ForwardingCall {
  readonly #lease: Lease<R>

  constructor(call: CallStream, lease: Lease<R>) {
    super(call)
    this.#lease = lease
    lease.resource.calls.add(this)
  }

  onReceiveStatus(status: StatusObject): void {
    const lease = this.#lease
    if (!lease.released) {
      lease.resource.calls.delete(this)
      lease.release()
    }
    this.listener!.onReceiveStatus(status)
  }
}
