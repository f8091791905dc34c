/**
 * A call running on one of the pool's channels. It holds a shared lease on that channel for as
 * long as the call is open, so the pool always knows each channel's calls in flight (the least
 * busy channel takes the next call) and a graceful close waits for exactly these calls. The lease
 * is given back when the status arrives, which grpc-js delivers exactly once per started call.
 */
import type { CallCredentials, InterceptingListener, Metadata, StatusObject, status } from '@grpc/grpc-js'
import type { Lease } from '../core/lease.js'
import type { AuthContext, CallStream, MessageContext } from './call-types.js'

/** What a leased call needs of the resource it runs on: the set of its open calls. */
export interface CallHost {
  readonly calls: Set<LeasedCall<CallHost>>
}

export class LeasedCall<R extends CallHost> implements CallStream, InterceptingListener {
  readonly #call: CallStream
  readonly #lease: Lease<R>
  #listener: InterceptingListener | undefined

  constructor(call: CallStream, lease: Lease<R>) {
    this.#call = call
    this.#lease = lease
    lease.resource.calls.add(this)
  }

  start(metadata: Metadata, listener: InterceptingListener): void {
    this.#listener = listener
    this.#call.start(metadata, this)
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.#listener!.onReceiveMetadata(metadata)
  }

  // biome-ignore lint/suspicious/noExplicitAny: grpc-js messages are untyped at this layer
  onReceiveMessage(message: any): void {
    this.#listener!.onReceiveMessage(message)
  }

  onReceiveStatus(status: StatusObject): void {
    const lease = this.#lease
    if (!lease.released) {
      lease.resource.calls.delete(this)
      lease.release()
    }
    this.#listener!.onReceiveStatus(status)
  }

  cancelWithStatus(code: status, details: string): void {
    this.#call.cancelWithStatus(code, details)
  }

  getPeer(): string {
    return this.#call.getPeer()
  }

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    this.#call.sendMessageWithContext(context, message)
  }

  startRead(): void {
    this.#call.startRead()
  }

  halfClose(): void {
    this.#call.halfClose()
  }

  getCallNumber(): number {
    return this.#call.getCallNumber()
  }

  setCredentials(credentials: CallCredentials): void {
    this.#call.setCredentials(credentials)
  }

  getAuthContext(): AuthContext {
    return this.#call.getAuthContext()
  }
}
