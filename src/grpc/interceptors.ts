/**
 * Composition of grpc-js client interceptors: berth's own (logging, metrics, deadline, metadata
 * propagation) and the application's, in one list for `new Client(address, credentials, {
 * interceptors })` or berth's channel pool.
 */
import {
  InterceptingCall,
  type InterceptingListener,
  type Interceptor,
  type Metadata,
  type NextCall,
  type status as Status,
  type StatusObject,
} from '@grpc/grpc-js'
import { InvalidOptionError } from '../core/errors.js'

type MessageContext = Parameters<InterceptingCall['sendMessageWithContext']>[0]

/** A list of interceptors as `composeInterceptors` takes it: holes (`undefined`, `false`) are skipped. */
export type InterceptorList = ReadonlyArray<Interceptor | undefined | null | false>

/**
 * Concatenates interceptor lists into one, **outermost first** (the order grpc-js itself uses):
 * the first interceptor sees a call first on the way out (metadata, messages) and last on the way
 * back (response metadata, messages, status); the last one sits next to the network.
 *
 * So what an interceptor observes depends on where it sits: a metrics or logging interceptor
 * placed before a user's retrying interceptor times the whole call with its retries; placed after
 * it, each attempt. A deadline interceptor placed first gives every later interceptor the deadline
 * to see. Holes (`undefined`, `null`, `false`) are dropped so optional parts read naturally:
 *
 * ```ts
 * const interceptors = composeInterceptors(
 *   [deadlineInterceptor({ defaultMs: 5000 }), metricsInterceptor(metrics)],
 *   options.interceptors ?? [],
 *   [debug && loggingInterceptor({ level: 'all' })],
 * )
 * ```
 *
 * @returns a new array; the inputs are not modified.
 */
export function composeInterceptors(...lists: InterceptorList[]): Interceptor[] {
  const out: Interceptor[] = []
  for (let i = 0; i < lists.length; i++) {
    const list = lists[i]
    if (!Array.isArray(list)) {
      throw new InvalidOptionError('lists', list, `an array of interceptors (argument ${i + 1})`)
    }
    for (let j = 0; j < list.length; j++) {
      const interceptor = list[j]
      if (!interceptor) continue
      if (typeof interceptor !== 'function') {
        throw new InvalidOptionError(`lists[${i}][${j}]`, interceptor, 'an interceptor function')
      }
      out.push(interceptor)
    }
  }
  return out
}

/**
 * A call wrapper that forwards every operation straight to the next call, without the per-call
 * closures and listener objects of `InterceptingCall`'s requester machinery. Berth's interceptors
 * extend it and override what they change. Internal: not exported from `berth/grpc`.
 */
export class ForwardingCall extends InterceptingCall {
  readonly #next: ReturnType<NextCall>

  constructor(next: ReturnType<NextCall>) {
    super(next)
    this.#next = next
  }

  override start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    this.#next.start(metadata, listener)
  }

  override sendMessageWithContext(context: MessageContext, message: unknown): void {
    this.#next.sendMessageWithContext(context, message)
  }

  override sendMessage(message: unknown): void {
    this.#next.sendMessage(message)
  }

  override halfClose(): void {
    this.#next.halfClose()
  }

  override cancelWithStatus(status: Status, details: string): void {
    this.#next.cancelWithStatus(status, details)
  }
}

/**
 * Base of berth's observing interceptors (metrics, logging): a forwarding call that is itself the
 * listener it hands down, so the call's start and status reach `began` and `ended` without a
 * closure. Internal: not exported from `berth/grpc`.
 */
export abstract class ObservingCall extends ForwardingCall implements InterceptingListener {
  #listener: Partial<InterceptingListener> | undefined

  /** The call is starting (its metadata is about to be sent). */
  protected abstract began(): void
  /** The call's status arrived; called once per started call, before the caller sees the status. */
  protected abstract ended(status: StatusObject): void

  override start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    this.#listener = listener
    this.began()
    super.start(metadata, this)
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.#listener?.onReceiveMetadata?.(metadata)
  }

  onReceiveMessage(message: unknown): void {
    this.#listener?.onReceiveMessage?.(message)
  }

  onReceiveStatus(status: StatusObject): void {
    this.ended(status)
    this.#listener?.onReceiveStatus?.(status)
  }
}
