/**
 * `ChannelPool.waitForReady()`: resolves when one of the pool's channels is READY, asking idle
 * ones to connect; ends with a typed error on abort, on timeout, when the pool closes, or when no
 * channel can be made at all (the create error is the cause).
 */
import { InvalidOptionError } from '../core/errors.js'
import type { Pool } from '../core/pool.js'
import { NotReadyError } from './errors.js'
import type { PoolChannel } from './pool-channel.js'

/** What the wait needs of its pool. */
export interface ReadyHost {
  readonly name: string
  readonly pool: Pool<PoolChannel>
  readonly channels: ReadonlySet<PoolChannel>
  /** Runs a watcher on every connectivity change of any channel, and when the pool closes. */
  readonly watchers: { add(watcher: () => void): void; delete(watcher: () => void): void }
  /** The error to fail with once the pool is closing or closed. */
  closedError(): Error | undefined
}

export function waitForReady(
  host: ReadyHost,
  options: { signal?: AbortSignal; timeoutMs?: number },
): Promise<void> {
  if (typeof options !== 'object' || options === null) {
    return Promise.reject(new InvalidOptionError('waitForReady options', options, 'an object'))
  }
  const { signal, timeoutMs } = options
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return Promise.reject(new InvalidOptionError('signal', signal, 'an AbortSignal'))
  }
  const closed = host.closedError()
  if (closed) return Promise.reject(closed)
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) {
    return Promise.reject(new InvalidOptionError('timeoutMs', timeoutMs, 'a finite number of ms, at least 0'))
  }
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    const done = (err?: Error) => {
      host.pool.off('createError', onCreateError)
      host.watchers.delete(check)
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve()
    }
    const check = () => {
      const closedNow = host.closedError()
      if (closedNow) return done(closedNow)
      for (const c of host.channels) {
        if (c.state === 'READY') return done()
        c.connect()
      }
    }
    const onAbort = () => done(new NotReadyError(host.name, 'aborted', { cause: signal?.reason }))
    // A channel that cannot even be made (xds: without its package, say) ends the wait at once.
    const onCreateError = (err: unknown) => {
      if (host.channels.size === 0)
        done(new NotReadyError(host.name, 'no channel could be made', { cause: err }))
    }
    host.pool.on('createError', onCreateError)
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () => done(new NotReadyError(host.name, `no channel READY within ${timeoutMs} ms`)),
        timeoutMs,
      )
      timer.unref()
    }
    // The pool keeps at least one channel (min >= 1) and replaces a lost one, so while none exists
    // one is being made: its arrival and every state change run `check`.
    host.watchers.add(check)
    check()
  })
}
