/**
 * Tracing channels of berth/grpc (`diagnostics_channel.tracingChannel`), in the shape Node APM
 * tools subscribe to (as undici and node-postgres publish); see src/core/tracing.ts for the events.
 *
 * - `berth:grpc:pick` ({@link GrpcPickContext}): the pool picking a channel for one call. `start`
 *   and `end` around the synchronous pick; `asyncStart` / `asyncEnd` once the call has its channel
 *   (at once when one had room, later when the call waited: `deferred: true`), or `error` first
 *   when none came (the pool closed, the deadline passed, the call was cancelled).
 * - `berth:grpc:call` ({@link GrpcCallContext}): one call on a pool's client, from `createCall`
 *   until its status arrives. `start` / `end` around grpc-js' `createCall`; on the status,
 *   `error` first when it is not OK, then `asyncStart` / `asyncEnd` around the status callback
 *   (which runs in the stores bound to `asyncStart`).
 *
 * A context holds the method path and the target, never messages or metadata. With nobody
 * subscribed, a call pays one `hasSubscribers` read and no wrapper is made.
 */
import diagnostics from 'node:diagnostics_channel'
import type { StatusObject, status } from '@grpc/grpc-js'
import { type BerthTracingChannel, tracing } from '../core/tracing.js'
import { ForwardingCall } from './call-forwarding.js'
import type { CallStream } from './call-types.js'

/** The context of a `berth:grpc:pick` trace. */
export interface GrpcPickContext {
  /** The method path: `/package.Service/Method`. */
  readonly method: string
  /** The pool's target, as given to it (`dns:///billing:50051`). */
  readonly target: string
  /** No channel had room at once: the call waited for one. Set by `end`. */
  deferred?: boolean
  /** The id of the pool channel picked (as in `stats().channels`), once there is one. */
  channel?: number
  /** Why no channel came (a PoolError: closed, timed out, aborted). */
  error?: unknown
}

/** The context of a `berth:grpc:call` trace. */
export interface GrpcCallContext {
  /** The method path: `/package.Service/Method`. */
  readonly method: string
  /** The pool's target, as given to it. */
  readonly target: string
  /** The status code (0 is OK), once the status arrived. */
  code?: status
  /** The status details, once the status arrived. */
  details?: string
  /** A status other than OK, as an Error with its `code` and `details`. */
  error?: unknown
}

/** The names of berth/grpc's tracing channels. */
export const GRPC_TRACING_NAMES = {
  pick: 'berth:grpc:pick',
  call: 'berth:grpc:call',
} as const

/** berth/grpc's tracing channels. */
export const grpcTracing = {
  pick: diagnostics.tracingChannel(GRPC_TRACING_NAMES.pick) as BerthTracingChannel<GrpcPickContext>,
  call: diagnostics.tracingChannel(GRPC_TRACING_NAMES.call) as BerthTracingChannel<GrpcCallContext>,
} as const

/** Whether anybody listens to `berth:grpc:pick` or `berth:grpc:call`. */
export function tracingCalls(): boolean {
  return tracing(grpcTracing.pick) || tracing(grpcTracing.call)
}

/** A pick that ended: the call has its channel (`channel` set) or failed (`error`). */
export function pickSettled(ctx: GrpcPickContext, channel: number | undefined, error: unknown): void {
  const tc = grpcTracing.pick
  if (channel !== undefined) ctx.channel = channel
  else {
    ctx.error = error
    tc.error.publish(ctx)
  }
  tc.asyncStart.publish(ctx)
  tc.asyncEnd.publish(ctx)
}

/**
 * A call under a `berth:grpc:call` trace: passes everything through and publishes the status.
 * Made only while somebody subscribes.
 */
export class TracedCall extends ForwardingCall {
  readonly #ctx: GrpcCallContext

  constructor(call: CallStream, ctx: GrpcCallContext) {
    super(call)
    this.#ctx = ctx
  }

  onReceiveStatus(s: StatusObject): void {
    const ctx = this.#ctx
    const tc = grpcTracing.call
    ctx.code = s.code
    ctx.details = s.details
    if (s.code !== 0) {
      ctx.error = Object.assign(new Error(`${s.code} ${s.details}`), { code: s.code, details: s.details })
      tc.error.publish(ctx)
    }
    const listener = this.listener!
    try {
      tc.asyncStart.runStores(ctx, () => listener.onReceiveStatus(s))
    } finally {
      tc.asyncEnd.publish(ctx)
    }
  }
}
