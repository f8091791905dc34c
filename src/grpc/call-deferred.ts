/**
 * A call made while no channel had room (the pool is starting, every channel is full in `'auto'`
 * mode, or a channel is being replaced). grpc-js creates calls synchronously, so this stands in:
 * it records what the client does (start, messages, half-close, reads) and replays it, in order,
 * on a real call once the pool lends a channel. The wait is bounded by the call's deadline and
 * ends at once when the caller cancels; a failure becomes the call's status.
 */
import type { CallCredentials, Deadline, InterceptingListener, Metadata, StatusObject } from '@grpc/grpc-js'
import type { status as Status } from '@grpc/grpc-js'
import type { Lease } from '../core/lease.js'
import type { CallHost } from './call-leased.js'
import { cancelledStatus, statusFromError } from './call-status.js'
import type { AuthContext, CallStream, MessageContext } from './call-types.js'

/** How a deferred call gets its channel and turns a lease into a running call. */
export interface DeferredCallHost<R extends CallHost> {
  acquire(signal: AbortSignal, timeoutMs: number | undefined): Promise<Lease<R>>
  open(lease: Lease<R>): CallStream
}

/** Milliseconds left until a grpc-js deadline, or undefined for none. */
export function msUntil(deadline: Deadline): number | undefined {
  const at = deadline instanceof Date ? deadline.getTime() : deadline
  if (at === Number.POSITIVE_INFINITY) return undefined
  return Math.max(0, at - Date.now())
}

export class DeferredCall<R extends CallHost> implements CallStream {
  readonly #abort = new AbortController()
  readonly #deadline: Deadline
  #call: CallStream | undefined
  #ops: ((call: CallStream) => void)[] = []
  #writeCallbacks: (() => void)[] = []
  #listener: InterceptingListener | undefined
  #failed: StatusObject | undefined
  #delivered = false

  constructor(host: DeferredCallHost<R>, deadline: Deadline) {
    this.#deadline = deadline
    host.acquire(this.#abort.signal, msUntil(deadline)).then(
      (lease) => {
        if (this.#failed !== undefined) {
          lease.release()
          return
        }
        let call: CallStream
        try {
          call = host.open(lease)
        } catch (err) {
          lease.release()
          this.#fail(statusFromError(err, false))
          return
        }
        this.#call = call
        const ops = this.#ops
        this.#ops = []
        this.#writeCallbacks = []
        for (const op of ops) op(call)
      },
      (err: unknown) => {
        if (this.#failed === undefined) this.#fail(statusFromError(err, msUntil(this.#deadline) === 0))
      },
    )
  }

  start(metadata: Metadata, listener: InterceptingListener): void {
    this.#listener = listener
    if (this.#call !== undefined) this.#call.start(metadata, listener)
    else if (this.#failed !== undefined) this.#deliver()
    else this.#ops.push((c) => c.start(metadata, listener))
  }

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    if (this.#call !== undefined) this.#call.sendMessageWithContext(context, message)
    else if (this.#failed !== undefined) context.callback?.()
    else {
      if (context.callback) this.#writeCallbacks.push(context.callback)
      this.#ops.push((c) => c.sendMessageWithContext(context, message))
    }
  }

  startRead(): void {
    if (this.#call !== undefined) this.#call.startRead()
    else if (this.#failed === undefined) this.#ops.push((c) => c.startRead())
  }

  halfClose(): void {
    if (this.#call !== undefined) this.#call.halfClose()
    else if (this.#failed === undefined) this.#ops.push((c) => c.halfClose())
  }

  cancelWithStatus(code: Status, details: string): void {
    if (this.#call !== undefined) {
      this.#call.cancelWithStatus(code, details)
      return
    }
    if (this.#failed !== undefined) return
    this.#fail(cancelledStatus(code, details))
    this.#abort.abort()
  }

  getPeer(): string {
    return this.#call?.getPeer() ?? ''
  }

  getCallNumber(): number {
    return this.#call?.getCallNumber() ?? 0
  }

  setCredentials(credentials: CallCredentials): void {
    if (this.#call !== undefined) this.#call.setCredentials(credentials)
    else this.#ops.push((c) => c.setCredentials(credentials))
  }

  getAuthContext(): AuthContext {
    return this.#call?.getAuthContext() ?? null
  }

  #fail(status: StatusObject): void {
    this.#failed = status
    this.#ops = []
    const callbacks = this.#writeCallbacks
    this.#writeCallbacks = []
    for (const cb of callbacks) cb()
    if (this.#listener !== undefined) this.#deliver()
  }

  /** Status goes out on a later tick, as grpc-js does: never from inside the caller's own call. */
  #deliver(): void {
    if (this.#delivered) return
    this.#delivered = true
    const status = this.#failed!
    const listener = this.#listener!
    process.nextTick(() => listener.onReceiveStatus(status))
  }
}
