/**
 * Cancels a running query the way the PostgreSQL protocol intends: a CancelRequest sent on a new
 * connection, naming the backend by its process id and secret key (both from BackendKeyData).
 *
 * The pool uses it when a caller's AbortSignal fires after its query was already sent: the query's
 * own connection is busy, so only a second connection can reach the server.
 */
import net from 'node:net'
import tls from 'node:tls'
import { BerthError, InvalidOptionError } from '../core/errors.js'
import { unrefTimeout } from '../core/timers.js'

/** `1234 << 16 | 5678`: the protocol's magic "version" that marks a CancelRequest. */
const CANCEL_REQUEST_CODE = 80877102
/** `1234 << 16 | 5679`: asks the server whether it will speak TLS on this connection. */
const SSL_REQUEST_CODE = 80877103
const DEFAULT_TIMEOUT_MS = 5000

/** Where to send the cancel: the same server (and TLS settings) the query's connection used. */
export interface CancelTarget {
  /** Host name or IP; a path starting with `/` is a unix socket directory, as in libpq and node-postgres. */
  readonly host: string
  readonly port: number
  /**
   * node-postgres's `ssl`: `true` or tls options mean TLS is required, so a server that refuses TLS
   * fails the cancel rather than receiving the key in clear (libpq's `require`/`verify-*`). Falsy:
   * plain TCP. Ignored on unix sockets, where the server never speaks TLS (libpq does the same).
   */
  readonly ssl?: tls.ConnectionOptions | boolean
}

/** The backend to cancel, from its BackendKeyData message. See {@link backendKeyOf}. */
export interface BackendKey {
  readonly processId: number
  /** Lets whoever holds it cancel this backend's queries: never log it. */
  readonly secretKey: number
}

export interface CancelRequestOptions {
  /**
   * Upper bound in ms on the whole exchange (connect, TLS, waiting for the server to hang up).
   * `Infinity` means no bound. Default 5000.
   */
  timeoutMs?: number
  /** Gives up early; the promise then rejects with the signal's reason as `cause`. Default none. */
  signal?: AbortSignal
}

/**
 * A CancelRequest could not be delivered: connect failed, TLS was refused or failed, the exchange
 * timed out or was aborted. `cause` holds the underlying error or abort reason. The message names
 * the server and the backend's process id, never the secret key. Callers of `berth/pg` do not see
 * it: when the cancel of an aborted query fails, the pool destroys that connection instead of
 * reusing it. What to do (for a direct caller): the query may still be running; `cause` says why
 * the server could not be reached.
 *
 * A delivered request is no proof that something was cancelled: the server answers nothing, and
 * ignores a wrong key or a backend that is idle by now.
 */
export class CancelRequestError extends BerthError {
  /** `host:port` (`[v6]:port` for an IPv6 address), or the socket path for a unix socket. */
  readonly address: string
  readonly processId: number

  constructor(address: string, processId: number, why: string, options?: { cause?: unknown }) {
    super(
      'BERTH_PG_CANCEL_FAILED',
      `Could not cancel the query of backend ${processId} on ${address}: ${why}`,
      options,
    )
    this.address = address
    this.processId = processId
  }
}

/**
 * Sends a CancelRequest for `backend` to the server at `target`, on a new connection, and resolves
 * once the server has closed that connection, which it does after acting on the request (waiting for
 * that, as libpq does, keeps a cancel from landing on the backend's next query instead).
 *
 * The secret key is the 4-byte one of protocol 3.0, which node-postgres speaks. Servers from 18 on
 * hand out longer keys only to clients that ask for protocol 3.2.
 *
 * Rejects with {@link CancelRequestError} (`BERTH_PG_CANCEL_FAILED`) on failure, timeout or abort,
 * and with `InvalidOptionError` for a bad `timeoutMs`. The socket is destroyed however it ends.
 */
export function sendCancelRequest(
  target: CancelTarget,
  backend: BackendKey,
  options: CancelRequestOptions = {},
): Promise<void> {
  const { host, port } = target
  const unixSocket = host.startsWith('/')
  const address = unixSocket ? `${host}/.s.PGSQL.${port}` : `${net.isIPv6(host) ? `[${host}]` : host}:${port}`
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const { signal } = options
  const failure = (why: string, cause?: unknown) =>
    new CancelRequestError(address, backend.processId, why, cause === undefined ? undefined : { cause })

  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    return Promise.reject(new InvalidOptionError('timeoutMs', timeoutMs, 'a number of ms >= 0'))
  }
  if (signal?.aborted) return Promise.reject(failure('aborted before it was sent', signal.reason))
  if (!isInt32(backend.processId) || !(isInt32(backend.secretKey) || isUint32(backend.secretKey))) {
    return Promise.reject(failure('the backend key is not a pair of 32-bit integers (values withheld)'))
  }
  const packet = Buffer.alloc(16)
  packet.writeInt32BE(16, 0)
  packet.writeInt32BE(CANCEL_REQUEST_CODE, 4)
  packet.writeInt32BE(backend.processId, 8)
  // node-postgres reads the key as a signed int32; the wire only cares about the 4 bytes.
  packet.writeUInt32BE(backend.secretKey >>> 0, 12)
  const useTls = Boolean(target.ssl) && !unixSocket

  return new Promise<void>((resolve, reject) => {
    let raw: net.Socket | undefined
    let secure: tls.TLSSocket | undefined
    let sent = false
    let settled = false

    const finish = (error?: CancelRequestError): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      secure?.destroy()
      raw?.destroy()
      if (error) reject(error)
      else resolve()
    }
    const onAbort = (): void => finish(failure('aborted', signal?.reason))
    const timer = unrefTimeout(() => finish(failure(`no answer within ${timeoutMs} ms`)), timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })

    // Once the request is flushed, the server hanging up (even abruptly) is the expected ending;
    // libpq likewise ignores errors while it waits for EOF.
    const onError = (error: Error): void => finish(sent ? undefined : failure(error.message, error))
    const onClose = (): void =>
      finish(sent ? undefined : failure('the server closed the connection before the request was sent'))

    const send = (socket: net.Socket): void => {
      if (socket !== raw) socket.on('close', onClose)
      // The server answers nothing, but reading is what lets us see its end of the connection.
      socket.on('data', () => {})
      socket.write(packet, (error) => {
        if (!error) sent = true
      })
    }

    const upgrade = (socket: net.Socket): void => {
      // Built as node-postgres builds it, so the cancel verifies the server as the query's connection did.
      const ssl = typeof target.ssl === 'object' ? target.ssl : {}
      const tlsOptions: tls.ConnectionOptions = { ...ssl, socket, host }
      // node-postgres stores a private key non-enumerable, so spreading alone would drop it.
      if ('key' in ssl) tlsOptions.key = ssl.key
      // SNI must not be an IP address (RFC 6066 section 3).
      if (net.isIP(host) === 0) tlsOptions.servername = host
      let upgraded: tls.TLSSocket
      try {
        upgraded = tls.connect(tlsOptions)
      } catch (error) {
        finish(failure('could not start TLS', error))
        return
      }
      secure = upgraded
      upgraded.on('error', onError)
      upgraded.once('secureConnect', () => send(upgraded))
    }

    const onSslAnswer = (socket: net.Socket, chunk: Buffer): void => {
      // More than one byte means bytes the server sent before TLS began, which a man in the middle
      // could have injected (CVE-2021-23222); libpq refuses them too.
      if (chunk.length !== 1) finish(failure('unexpected data in answer to the SSLRequest'))
      else if (chunk[0] === 0x53 /* 'S' */) upgrade(socket)
      else if (chunk[0] === 0x4e /* 'N' */) {
        finish(failure('the server refused TLS, which ssl requires; the key was not sent in clear'))
      } else finish(failure('the server rejected the SSLRequest'))
    }

    try {
      raw = unixSocket ? net.connect(address) : net.connect({ host, port })
    } catch (error) {
      finish(failure('could not connect', error))
      return
    }
    const socket = raw
    socket.on('error', onError)
    socket.on('close', onClose)
    socket.once('connect', () => {
      if (!useTls) {
        send(socket)
        return
      }
      const request = Buffer.alloc(8)
      request.writeInt32BE(8, 0)
      request.writeInt32BE(SSL_REQUEST_CODE, 4)
      socket.once('data', (chunk: Buffer) => onSslAnswer(socket, chunk))
      socket.write(request)
    })
  })
}

/**
 * The backend key of a connected node-postgres `Client`, or `undefined` when there is none yet (not
 * connected) or `client` is not a node-postgres client.
 *
 * Reads only `processID` and `secretKey`, which node-postgres sets from BackendKeyData and which its
 * own `Client.cancel` uses; no other driver field is touched. The returned `secretKey` is
 * non-enumerable, so logging or serialising the result does not show it.
 */
export function backendKeyOf(client: object): BackendKey | undefined {
  if (client === null || typeof client !== 'object') return undefined
  const { processID, secretKey } = client as { processID?: unknown; secretKey?: unknown }
  if (typeof processID !== 'number' || !isInt32(processID)) return undefined
  if (typeof secretKey !== 'number' || !(isInt32(secretKey) || isUint32(secretKey))) return undefined
  const key = { processId: processID } as { processId: number; secretKey: number }
  Object.defineProperty(key, 'secretKey', { value: secretKey, enumerable: false })
  return Object.freeze(key)
}

function isInt32(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31
}

function isUint32(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) < 2 ** 32
}
