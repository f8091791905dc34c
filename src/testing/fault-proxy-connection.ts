import net, { type Socket } from 'node:net'
import { type ByteCounters, type FaultState, Pipe } from './fault-proxy-pipe.js'
import type { FaultProxyEndpoint } from './fault-proxy-types.js'

/** What a connection needs from its proxy. */
export interface ConnectionContext {
  readonly faults: FaultState
  readonly counters: ByteCounters
  readonly random: () => number
  /** Called once, when both sockets have closed. */
  readonly onClosed: (connection: ProxyConnection) => void
  readonly onConnectError: (error: Error) => void
}

/**
 * A client socket and the socket the proxy opened to the target for it. Ends pass through as FINs
 * (both sockets allow half-open, so a request/response after `end()` still works); an error or a
 * reset on one side resets the other, so an abort looks like an abort on both ends. When the target
 * cannot be reached, the client gets a plain FIN.
 *
 * Without a target (accepted during a blackhole) the client's bytes are read and dropped, and the
 * connection closes when the client ends its side.
 */
export class ProxyConnection {
  readonly #client: Socket
  readonly #upstream: Socket | undefined
  readonly #pipes: Pipe[]
  readonly #context: ConnectionContext
  #connected = false
  #open: number

  constructor(client: Socket, target: FaultProxyEndpoint | undefined, context: ConnectionContext) {
    this.#client = client
    this.#context = context
    client.setNoDelay(true)
    client.on('error', (error) => this.#onError(client, error))
    client.once('close', () => this.#onSocketClosed(client))
    if (target === undefined) {
      this.#upstream = undefined
      this.#open = 1
      this.#pipes = [
        new Pipe(client, undefined, 'upstream', context.faults, context.counters, context.random),
      ]
      client.once('end', () => client.destroy())
    } else {
      const upstream = net.connect({
        host: target.host,
        port: target.port,
        allowHalfOpen: true,
        noDelay: true,
      })
      this.#upstream = upstream
      this.#open = 2
      upstream.on('error', (error) => this.#onError(upstream, error))
      upstream.once('close', () => this.#onSocketClosed(upstream))
      upstream.once('connect', () => {
        this.#connected = true
      })
      const { faults, counters, random } = context
      this.#pipes = [
        new Pipe(client, upstream, 'upstream', faults, counters, random),
        new Pipe(upstream, client, 'downstream', faults, counters, random),
      ]
    }
    this.refresh()
  }

  /** Bytes read from either side and not yet forwarded. */
  get queuedBytes(): number {
    return this.#pipes.reduce((sum, pipe) => sum + pipe.queuedBytes, 0)
  }

  /** Applies the current faults to this connection. */
  refresh(): void {
    for (const pipe of this.#pipes) pipe.refresh()
  }

  /** Aborts both sides with a TCP RST. */
  reset(): void {
    this.#stopPipes()
    resetSocket(this.#client)
    if (this.#upstream) resetSocket(this.#upstream)
  }

  /** Closes both sides at once, dropping anything not yet forwarded. */
  destroy(): void {
    this.#stopPipes()
    this.#client.destroy()
    this.#upstream?.destroy()
  }

  #onError(socket: Socket, error: Error): void {
    this.#stopPipes()
    if (socket === this.#upstream && !this.#connected) {
      this.#context.onConnectError(error)
      // The proxy accepted the client already, so "connection refused" can only be a clean close.
      if (!this.#client.destroyed) this.#client.end()
      return
    }
    const other = socket === this.#client ? this.#upstream : this.#client
    if (other) resetSocket(other)
  }

  #onSocketClosed(socket: Socket): void {
    if (--this.#open === 0) {
      this.#stopPipes()
      this.#context.onClosed(this)
      return
    }
    // After a clean close (FINs both ways) the other side finishes on its own once its queue is out;
    // a failed connect already ended the client. Anything else is an abort: pass it on.
    const cleanly = socket.readableEnded && socket.writableFinished
    const failedConnect = socket === this.#upstream && !this.#connected
    if (cleanly || failedConnect) return
    this.#stopPipes()
    const other = socket === this.#client ? this.#upstream : this.#client
    if (other) resetSocket(other)
  }

  #stopPipes(): void {
    for (const pipe of this.#pipes) pipe.stop()
  }
}

/** `resetAndDestroy()` sends a RST (SO_LINGER 0); a socket still connecting has nothing to reset. */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return
  if (socket.connecting) socket.destroy()
  else socket.resetAndDestroy()
}
