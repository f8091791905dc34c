/**
 * The demo's terminal output: one progress line, rewritten in place once a second on a terminal,
 * or printed as a new line every 5 s elsewhere (a pipe, a log file, CI), plus messages and events
 * printed above it.
 */
import { unrefInterval } from '../core/timers.js'
import type { DemoState } from './api-types.js'

export interface ProgressOptions {
  /** Rewrite one line in place. Default: whether `out` is a TTY. */
  readonly tty?: boolean
  /** How often the line is refreshed, ms. Default 1000 on a TTY, else 5000. */
  readonly periodMs?: number
}

/** `up 12s  qps 199.8  p99 4.2 ms  errors 0  backends 3/3` */
export function formatProgress(state: DemoState): string {
  const up = state.backends.filter((b) => b.up).length
  const errors = Object.entries(state.errorsByStatus)
    .map(([status, n]) => `${status} ${n}`)
    .join(', ')
  return [
    `up ${formatUptime(state.uptimeS)}`,
    `qps ${state.qps.toFixed(1)}`,
    `p99 ${state.latencyP99Ms.toFixed(1)} ms`,
    `errors ${state.errors}${errors === '' ? '' : ` (${errors})`}`,
    `backends ${up}/${state.backends.length}`,
  ].join('  ')
}

function formatUptime(s: number): string {
  const total = Math.floor(s)
  if (total < 60) return `${total}s`
  const m = Math.floor(total / 60)
  return m < 60
    ? `${m}m${String(total % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}

export class Progress {
  readonly #out: NodeJS.WritableStream
  readonly #read: () => DemoState
  readonly #tty: boolean
  readonly #periodMs: number
  #timer: NodeJS.Timeout | undefined
  /** Whether the progress line is on screen (TTY mode), to be cleared before other output. */
  #drawn = false

  constructor(out: NodeJS.WritableStream, read: () => DemoState, options: ProgressOptions = {}) {
    this.#out = out
    this.#read = read
    this.#tty = options.tty ?? (out as { isTTY?: boolean }).isTTY === true
    this.#periodMs = options.periodMs ?? (this.#tty ? 1000 : 5000)
  }

  start(): void {
    this.#timer ??= unrefInterval(() => this.#refresh(), this.#periodMs)
  }

  /** Stops refreshing and leaves the terminal on a fresh line. */
  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#clear()
  }

  /** Prints `message` on a line of its own, above the progress line. */
  print(message: string): void {
    this.#clear()
    this.#out.write(`${message}\n`)
    if (this.#timer !== undefined && this.#tty) this.#refresh()
  }

  #refresh(): void {
    const line = formatProgress(this.#read())
    if (this.#tty) {
      this.#out.write(`\r\x1b[2K${line}`)
      this.#drawn = true
    } else {
      this.#out.write(`${line}\n`)
    }
  }

  #clear(): void {
    if (!this.#drawn) return
    this.#out.write('\r\x1b[2K')
    this.#drawn = false
  }
}
