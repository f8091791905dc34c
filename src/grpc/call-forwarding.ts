/**
 * A call that stands between grpc-js and the caller's listener: it passes every call method
 * through to the call it wraps and every listener event back, and leaves the status to its
 * subclass (a LeasedCall gives its channel lease back, a TracedCall publishes the trace's end).
 */
import type { CallCredentials, InterceptingListener, Metadata, StatusObject, status } from '@grpc/grpc-js'
import type { AuthContext, CallStream, MessageContext } from './call-types.js'

export abstract class ForwardingCall implements CallStream, InterceptingListener {
  protected readonly call: CallStream
  protected listener: InterceptingListener | undefined

  constructor(call: CallStream) {
    this.call = call
  }

  /** The status, exactly once per started call: the subclass's, which then hands it to `listener`. */
  abstract onReceiveStatus(status: StatusObject): void

  start(metadata: Metadata, listener: InterceptingListener): void {
    this.listener = listener
    this.call.start(metadata, this)
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.listener!.onReceiveMetadata(metadata)
  }

  // biome-ignore lint/suspicious/noExplicitAny: grpc-js messages are untyped at this layer
  onReceiveMessage(message: any): void {
    this.listener!.onReceiveMessage(message)
  }

  cancelWithStatus(code: status, details: string): void {
    this.call.cancelWithStatus(code, details)
  }

  getPeer(): string {
    return this.call.getPeer()
  }

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    this.call.sendMessageWithContext(context, message)
  }

  startRead(): void {
    this.call.startRead()
  }

  halfClose(): void {
    this.call.halfClose()
  }

  getCallNumber(): number {
    return this.call.getCallNumber()
  }

  setCredentials(credentials: CallCredentials): void {
    this.call.setCredentials(credentials)
  }

  getAuthContext(): AuthContext {
    return this.call.getAuthContext()
  }
}
