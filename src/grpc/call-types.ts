/**
 * The grpc-js call interface the pool's calls implement (LeasedCall, DeferredCall, FailedCall) and
 * the parameter types grpc-js does not export by name.
 */
import type { experimental } from '@grpc/grpc-js'

/** A grpc-js call as a channel's `createCall` returns it. */
export type CallStream = experimental.CallStream
/** The write options of `sendMessageWithContext`. */
export type MessageContext = Parameters<CallStream['sendMessageWithContext']>[0]
/** What `getAuthContext` returns. */
export type AuthContext = ReturnType<CallStream['getAuthContext']>
