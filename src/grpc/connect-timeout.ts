/**
 * A connect timeout, which grpc-js lacks: it waits for the server's HTTP/2 SETTINGS with no limit,
 * so a backend behind a blackhole (TCP accepted, nothing forwarded) keeps a subchannel CONNECTING
 * forever. These credentials wrap the user's: each connection attempt that has not received a
 * byte from the server `timeoutMs` after its TCP connection opened (TLS handshake included) is
 * destroyed, so grpc-js sees a failed attempt and retries with its reconnect backoff.
 *
 * Progress is read from `socket.bytesRead`, which Node keeps counting after the HTTP/2 session
 * takes the socket over; no byte is parsed or copied, so established connections pay nothing.
 */
import type { Socket } from 'node:net'
import {
  type CallCredentials,
  ChannelCredentials,
  type ChannelOptions,
  type experimental,
} from '@grpc/grpc-js'
import { ConnectTimeoutError } from './errors.js'

type SecureConnector = experimental.SecureConnector
type SecureConnectResult = experimental.SecureConnectResult

/** Counts attempts cut short, for stats. */
export interface ConnectTimeoutCounter {
  connectTimeouts: number
}

export class ConnectTimeoutCredentials extends ChannelCredentials {
  readonly #inner: ChannelCredentials
  readonly #timeoutMs: number
  readonly #counter: ConnectTimeoutCounter

  constructor(inner: ChannelCredentials, timeoutMs: number, counter: ConnectTimeoutCounter) {
    super()
    this.#inner = inner
    this.#timeoutMs = timeoutMs
    this.#counter = counter
  }

  /** The credentials this wraps. */
  get inner(): ChannelCredentials {
    return this.#inner
  }

  _isSecure(): boolean {
    return this.#inner._isSecure()
  }

  _equals(other: ChannelCredentials): boolean {
    return (
      other instanceof ConnectTimeoutCredentials &&
      other.#timeoutMs === this.#timeoutMs &&
      this.#inner._equals(other.#inner)
    )
  }

  _createSecureConnector(
    channelTarget: experimental.GrpcUri,
    options: ChannelOptions,
    callCredentials?: CallCredentials,
  ): SecureConnector {
    const inner = this.#inner._createSecureConnector(channelTarget, options, callCredentials)
    const timeoutMs = this.#timeoutMs
    const counter = this.#counter
    return {
      connect(socket: Socket): Promise<SecureConnectResult> {
        const address = `${socket.remoteAddress}:${socket.remotePort}`
        // Bytes already read by the time the TLS handshake (if any) is done do not count as the
        // server's HTTP/2 preface.
        let baseline = -1
        const timer = setTimeout(() => {
          if (socket.destroyed) return
          if (baseline >= 0 && socket.bytesRead > baseline) return
          counter.connectTimeouts++
          socket.destroy(new ConnectTimeoutError(address, timeoutMs))
        }, timeoutMs)
        timer.unref()
        socket.once('close', () => clearTimeout(timer))
        return inner.connect(socket).then(
          (result) => {
            baseline = socket.bytesRead
            return result
          },
          (err: unknown) => {
            clearTimeout(timer)
            throw err
          },
        )
      },
      waitForReady: () => inner.waitForReady(),
      getCallCredentials: () => inner.getCallCredentials(),
      destroy: () => inner.destroy(),
    }
  }
}
