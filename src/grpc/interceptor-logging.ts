/**
 * Call logging: a grpc-js client interceptor that reports each finished call (method, duration,
 * status, peer) to a log function. By default only the calls worth a look are reported (failed or
 * slow), so installing it in production does not turn every request into a log line; a call that
 * is not reported costs two clock readings and no allocation beyond the call wrapper.
 */
import {
  type Interceptor,
  type InterceptorOptions,
  type NextCall,
  status as Status,
  type StatusObject,
} from '@grpc/grpc-js'
import { InvalidOptionError } from '../core/errors.js'
import { ObservingCall } from './interceptors.js'

/** The shape of a call: which sides stream. */
export type CallKind = 'unary' | 'client-stream' | 'server-stream' | 'bidi'

/** One finished call, as the log function receives it. */
export interface CallLogEntry {
  /** Full method path, `'/pkg.Service/Method'`. */
  readonly method: string
  readonly kind: CallKind
  /** Milliseconds from the call's start (metadata sent) to its status; for streams, the whole stream. */
  readonly durationMs: number
  /** The gRPC status code (0 is OK). */
  readonly code: number
  /** The status code's name: `'OK'`, `'UNAVAILABLE'`, `'DEADLINE_EXCEEDED'`, ... */
  readonly status: string
  /** The status details (the error message); absent for OK calls. */
  readonly details?: string
  /** The server address the call went to, when grpc-js knows it. */
  readonly peer?: string
  /** Whether `durationMs` reached `slowMs`. */
  readonly slow: boolean
}

/** Which calls are reported: every one, or only failed (status not OK) and slow ones. */
export type CallLogLevel = 'all' | 'problems'

/** Options of `loggingInterceptor` (and of a pool's `logging`). */
export interface LoggingInterceptorOptions {
  /**
   * Receives each reported call. Called synchronously as the call ends, so keep it cheap (hand the
   * entry to your logger; do not do I/O inline). If it throws, the call is unaffected and the
   * first such error is reported with `process.emitWarning` (code `BERTH_GRPC_LOG_FAILED`). Default: one line per call to `console.warn`
   * (failed or slow) or `console.info` (others), formatted by `formatCallLogEntry`.
   */
  log?: (entry: CallLogEntry) => void
  /** Which calls to report. Default `'problems'`: calls that failed or were slow. */
  level?: CallLogLevel
  /**
   * A call that takes this long or longer, in milliseconds, is slow: it is reported at level
   * `'problems'` even when it succeeds. Default 1000. `Infinity` turns slow reporting off.
   */
  slowMs?: number
}

/** One line for a log: `grpc /pkg.Svc/Method UNAVAILABLE 12.3 ms peer=127.0.0.1:50051 "details"`. */
export function formatCallLogEntry(entry: CallLogEntry): string {
  if (typeof entry !== 'object' || entry === null || typeof entry.durationMs !== 'number') {
    throw new InvalidOptionError('entry', entry, 'a CallLogEntry { method, status, durationMs, ... }')
  }
  const peer = entry.peer ? ` peer=${entry.peer}` : ''
  const slow = entry.slow ? ' (slow)' : ''
  const details = entry.details ? ` ${JSON.stringify(entry.details)}` : ''
  return `grpc ${entry.method} ${entry.status} ${entry.durationMs.toFixed(1)} ms${slow}${peer}${details}`
}

function consoleLog(entry: CallLogEntry): void {
  if (entry.code !== Status.OK || entry.slow) console.warn(formatCallLogEntry(entry))
  else console.info(formatCallLogEntry(entry))
}

function kindOf(method: { requestStream: boolean; responseStream: boolean }): CallKind {
  if (method.requestStream) return method.responseStream ? 'bidi' : 'client-stream'
  return method.responseStream ? 'server-stream' : 'unary'
}

interface LogConfig {
  readonly log: (entry: CallLogEntry) => void
  readonly all: boolean
  readonly slowMs: number
  /** Whether a throwing `log` was reported already. */
  warned: boolean
}

/** One call, timed from its start to its status and reported then if `config` selects it. */
class LoggedCall extends ObservingCall {
  readonly #config: LogConfig
  readonly #method: InterceptorOptions['method_definition']
  #startedAt = -1

  constructor(
    next: ReturnType<NextCall>,
    method: InterceptorOptions['method_definition'],
    config: LogConfig,
  ) {
    super(next)
    this.#method = method
    this.#config = config
  }

  protected began(): void {
    this.#startedAt = performance.now()
  }

  protected ended(status: StatusObject): void {
    const startedAt = this.#startedAt
    if (startedAt < 0) return
    this.#startedAt = -1
    const durationMs = performance.now() - startedAt
    const config = this.#config
    const slow = durationMs >= config.slowMs
    if (!config.all && !slow && status.code === Status.OK) return
    // A broken log function must neither keep the result from the caller nor, thrown from a
    // grpc-js callback, crash the process: it is reported once as a process warning.
    try {
      config.log(this.#entry(status, durationMs, slow))
    } catch (err) {
      if (config.warned) return
      config.warned = true
      process.emitWarning(`berth loggingInterceptor: the log function threw: ${String(err)}`, {
        code: 'BERTH_GRPC_LOG_FAILED',
        detail: 'Later failures of this log function are not reported.',
      })
    }
  }

  #entry(status: StatusObject, durationMs: number, slow: boolean): CallLogEntry {
    const method = this.#method
    const peer = this.getPeer()
    const entry: { -readonly [K in keyof CallLogEntry]: CallLogEntry[K] } = {
      method: method.path,
      kind: kindOf(method),
      durationMs,
      code: status.code,
      status: Status[status.code] ?? `CODE_${status.code}`,
      slow,
    }
    if (status.code !== Status.OK && status.details) entry.details = status.details
    if (peer && peer !== 'unknown') entry.peer = peer
    return entry
  }
}

/**
 * Makes the interceptor. Each finished call (status received, including `CANCELLED` and
 * `DEADLINE_EXCEEDED`) that `level` selects is handed to `log` as a `CallLogEntry`.
 *
 * @throws InvalidOptionError when `log` is not a function, `level` is not `'all'` or `'problems'`,
 *   or `slowMs` is not a positive number.
 */
export function loggingInterceptor(options: LoggingInterceptorOptions = {}): Interceptor {
  const { log = consoleLog, level = 'problems', slowMs = 1000 } = options
  if (typeof log !== 'function') throw new InvalidOptionError('log', log, 'a function')
  if (level !== 'all' && level !== 'problems') {
    throw new InvalidOptionError('level', level, "'all' or 'problems'")
  }
  if (typeof slowMs !== 'number' || !(slowMs > 0)) {
    throw new InvalidOptionError('slowMs', slowMs, 'a positive number of milliseconds (or Infinity)')
  }
  const config: LogConfig = { log, all: level === 'all', slowMs, warned: false }
  return (callOptions, nextCall) =>
    new LoggedCall(nextCall(callOptions), callOptions.method_definition, config)
}
