/**
 * Graceful shutdown of a grpc-js server, bounded: health goes NOT_SERVING first (so load balancers
 * and berth channel pools watching it move away), then `tryShutdown` stops intake and lets calls in
 * flight finish; whatever is still running at the deadline is cut by `forceShutdown`.
 */
import type * as grpc from '@grpc/grpc-js'
import { InvalidOptionError } from '../core/errors.js'
import { unrefTimeout } from '../core/timers.js'
import type { HealthService } from './server-health.js'

/** Options of {@link shutdownServer}. */
export interface ShutdownServerOptions {
  /** How long calls in flight get to finish before the server is forced down, in ms. Default 10000. */
  timeoutMs?: number
  /**
   * The server's health service: its `shutdown()` is called first (every service NOT_SERVING, Watch
   * streams ended). Without it, an open health Watch stream holds the graceful shutdown to the deadline.
   */
  health?: HealthService
}

/** How a {@link shutdownServer} went. */
export interface ShutdownResult {
  /** `true` if every call finished in time; `false` if `forceShutdown` cut some. */
  readonly graceful: boolean
  /** Time from the call to the server being down, in ms. */
  readonly durationMs: number
}

/** Default of {@link ShutdownServerOptions.timeoutMs}, in ms. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000

// Keyed weakly by server so that a second call joins the first without touching the server object.
const shutdowns = new WeakMap<grpc.Server, Promise<ShutdownResult>>()

/**
 * Shuts `server` down: `health.shutdown()` if given, then `tryShutdown`; if that has not finished
 * after `timeoutMs`, `forceShutdown`. Calls that finish inside the deadline succeed; new calls are
 * refused at once. Idempotent: later calls return the first call's promise (and their options are
 * ignored). Never rejects, except with `InvalidOptionError` for a bad option.
 */
export function shutdownServer(
  server: grpc.Server,
  options: ShutdownServerOptions = {},
): Promise<ShutdownResult> {
  const { timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS, health } = options
  if (
    server === null ||
    typeof server !== 'object' ||
    typeof server.tryShutdown !== 'function' ||
    typeof server.forceShutdown !== 'function'
  ) {
    return Promise.reject(new InvalidOptionError('server', server, 'a grpc.Server'))
  }
  const running = shutdowns.get(server)
  if (running) return running
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    return Promise.reject(new InvalidOptionError('timeoutMs', timeoutMs, 'a finite number of ms >= 0'))
  }
  if (health !== undefined && typeof health?.shutdown !== 'function') {
    return Promise.reject(new InvalidOptionError('health', health, 'a HealthService (createHealthService())'))
  }

  const started = performance.now()
  const done = new Promise<ShutdownResult>((resolve) => {
    let settled = false
    const finish = (graceful: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(Object.freeze({ graceful, durationMs: performance.now() - started }))
    }
    const timer = unrefTimeout(() => {
      if (settled) return
      server.forceShutdown()
      finish(false)
    }, timeoutMs)
    health?.shutdown()
    // The callback's error only reports a listener that was not running; the server is down either way.
    server.tryShutdown(() => finish(true))
  })
  shutdowns.set(server, done)
  return done
}
