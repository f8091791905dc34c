/**
 * A call that fails before it starts (the pool is closed): its status is delivered on the next
 * tick after `start`, so the caller's callback or stream `'error'` fires at once, never a hang.
 */
import type { CallCredentials, InterceptingListener, Metadata, StatusObject, status } from '@grpc/grpc-js'
import type { AuthContext, CallStream, MessageContext } from './call-types.js'

export class FailedCall implements CallStream {
  readonly #status: StatusObject
  #started = false

  constructor(status: StatusObject) {
    this.#status = status
  }

  start(_metadata: Metadata, listener: InterceptingListener): void {
    if (this.#started) return
    this.#started = true
    const s = this.#status
    process.nextTick(() => listener.onReceiveStatus(s))
  }

  sendMessageWithContext(context: MessageContext, _message: Buffer): void {
    context.callback?.()
  }

  startRead(): void {}
  halfClose(): void {}
  cancelWithStatus(_code: status, _details: string): void {}
  setCredentials(_credentials: CallCredentials): void {}

  getPeer(): string {
    return ''
  }

  getCallNumber(): number {
    return 0
  }

  getAuthContext(): AuthContext {
    return null
  }
}
