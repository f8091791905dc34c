/**
 * Learns a server's advertised MAX_CONCURRENT_STREAMS, which `size: 'auto'` needs to know when a
 * channel is full. grpc-js keeps the HTTP/2 session (and its remote settings) private, so the
 * probe opens one short connection of its own through the same credentials (TLS included), reads
 * the server's SETTINGS frame and closes it.
 */
import http2 from 'node:http2'
import net from 'node:net'
import type { ChannelCredentials } from '@grpc/grpc-js'
import type { HostPort } from './target.js'

/** Resolves with the advertised limit, or undefined when the server sets none or cannot be reached in time. */
export async function probeStreamLimit(
  address: HostPort,
  credentials: ChannelCredentials,
  authority: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<number | undefined> {
  if (signal?.aborted) return undefined
  const connector = credentials._createSecureConnector({ scheme: 'dns', authority: '', path: authority }, {})
  const raw = net.connect({ host: address.host, port: address.port })
  const timer = setTimeout(() => raw.destroy(), timeoutMs)
  timer.unref()
  const onAbort = () => raw.destroy()
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await new Promise<void>((resolve, reject) => {
      raw.once('connect', resolve)
      raw.once('error', reject)
      raw.once('close', () => reject(new Error('closed')))
    })
    await connector.waitForReady()
    const { socket, secure } = await connector.connect(raw)
    return await new Promise<number | undefined>((resolve) => {
      const session = http2.connect(`${secure ? 'https' : 'http'}://${authority}`, {
        createConnection: () => socket,
      })
      const done = (limit: number | undefined) => {
        session.destroy()
        resolve(limit)
      }
      session.once('remoteSettings', (s) => done(s.maxConcurrentStreams))
      session.once('error', () => done(undefined))
      session.once('close', () => done(undefined))
      signal?.addEventListener('abort', () => done(undefined), { once: true })
    })
  } catch {
    return undefined
  } finally {
    signal?.removeEventListener('abort', onAbort)
    clearTimeout(timer)
    raw.destroy()
    connector.destroy()
  }
}
