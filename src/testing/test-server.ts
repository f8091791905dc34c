/**
 * The lifecycle every throwaway test server shares (PostgreSQL, PgBouncer): launched as the
 * unprivileged user on a free loopback port from a private temp dir, awaited until it serves,
 * watched by the reaper, stopped and restarted on the same port, destroyed once with its files.
 * Subclasses say how to prepare, what to run and when it is ready.
 */
import type { ChildProcess } from 'node:child_process'
import { promises as fs, rmSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { BerthError } from '../core/errors.js'
import { type Disposable, Reaper, release, track } from './cleanup.js'
import type { RunAs } from './postgres-binaries.js'
import {
  type ExitStatus,
  HOST,
  describeExit,
  freePort,
  spawnLogged,
  unrefChild,
  waitForExit,
  writePrivateFile,
} from './test-server-process.js'

const LOG_TAIL_LINES = 40
const BIND_ATTEMPTS = 5

/** What a {@link TestServer} subclass tells the shared lifecycle about its server. */
export interface TestServerSetup {
  /** In messages and the log header, e.g. `PostgreSQL`. */
  readonly name: string
  /** The long-running executable. */
  readonly binary: string
  /** From `makeTempDir`: the server's cwd, removed by `destroy()`. */
  readonly baseDir: string
  /** The unprivileged user to run as; undefined when we are not root. */
  readonly runAs: RunAs | undefined
  readonly onLog: ((line: string) => void) | undefined
  /** Bounds each start phase: a `run()`, and each launch until ready. In ms. */
  readonly startTimeoutMs: number
  /** Asks the server to shut down at once; SIGKILL follows after `killAfterMs`. */
  readonly stopSignal: NodeJS.Signals
  readonly killAfterMs: number
  /** Matches a launch error (log tail included) that means the port was taken, so another is tried. */
  readonly bindFailure: RegExp
  /** The error every start failure is reported as. */
  readonly error: new (
    message: string,
    options?: { cause?: unknown },
  ) => BerthError
  /** Replaced by `***` in every error message, should it show up in a log or driver message. */
  readonly secret?: string
}

/**
 * Base of the test servers: `start()`, `stop()` and `destroy()` as their public interfaces document
 * them, queued one after another; a subclass fills in {@link prepare}, {@link args} and
 * {@link untilReady} and is started with {@link TestServer.boot}.
 */
export abstract class TestServer implements Disposable {
  readonly host = HOST
  readonly #setup: TestServerSetup
  #port = 0
  #child: ChildProcess | undefined
  #reaper: Reaper | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #destroyed: Promise<void> | undefined
  #notReady: string | undefined
  readonly #logTail: string[] = []
  readonly #lineWaiters = new Set<(line: string) => void>()

  constructor(setup: TestServerSetup) {
    this.#setup = setup
  }

  /**
   * Boots `server` on a free port. It is tracked for cleanup from the start, and a failed start
   * destroys it again, so that nothing is left behind either way.
   */
  static async boot<T extends TestServer>(server: T): Promise<T> {
    track(server)
    try {
      await server.#serialized(() => server.#init())
      return server
    } catch (error) {
      await server.destroy().catch(() => {})
      throw error
    }
  }

  get port(): number {
    return this.#port
  }

  /** Process id while running, `undefined` while stopped. */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  /** Once, before the first launch: initdb, files that do not depend on the port. */
  protected abstract prepare(): Promise<void>

  /** The arguments of a launch on `this.port`; asked again for every launch. */
  protected abstract args(): Promise<string[]>

  /** Resolves once the launched server serves. Gives up when `signal` aborts (exit, timeout). */
  protected abstract untilReady(signal: AbortSignal): Promise<void>

  start(): Promise<void> {
    return this.#serialized(async () => {
      if (this.#destroyed)
        throw new this.#setup.error(`cannot start ${this.#setup.name} again: it was destroyed`)
      if (this.#child) return
      // Our own previous instance may take a moment to release the port; nobody else should grab it.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#launch()
        } catch (error) {
          if (!this.#isBindFailure(error) || attempt >= BIND_ATTEMPTS) throw error
          await sleep(200 * attempt)
        }
      }
    })
  }

  stop(): Promise<void> {
    return this.#serialized(() => this.#shutdown(this.#setup.stopSignal))
  }

  destroy(): Promise<void> {
    this.#destroyed ??= this.#serialized(async () => {
      await this.#shutdown(this.#setup.stopSignal)
      await fs.rm(this.#setup.baseDir, { recursive: true, force: true, maxRetries: 3 })
      release(this)
      await this.#reaper?.dismiss()
    })
    return this.#destroyed
  }

  /** Last-chance cleanup from the `exit` hook, where nothing asynchronous runs any more. */
  killSync(): void {
    this.#child?.kill('SIGKILL')
    rmSync(this.#setup.baseDir, { recursive: true, force: true, maxRetries: 3 })
  }

  /** An error with the tail of the server's log, for a failure the server's output may explain. */
  protected failure(message: string, cause?: unknown): BerthError {
    const { name, secret, error } = this.#setup
    const tail = this.#logTail.length > 0 ? this.#logTail.join('\n') : '(no output)'
    const text = `${message}\n--- last ${name} log lines ---\n${tail}`
    return new error(secret ? text.replaceAll(secret, '***') : text, { cause })
  }

  /** Why the server is not ready yet, for the message if it never gets there. */
  protected notReady(problem: string): void {
    this.#notReady = problem
  }

  /** Resolves on the first log line `matches` accepts; never settles once `signal` aborts. */
  protected lineMatching(matches: (line: string) => boolean, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiter = (line: string) => {
        if (!matches(line)) return
        this.#lineWaiters.delete(waiter)
        resolve()
      }
      this.#lineWaiters.add(waiter)
      signal.addEventListener('abort', () => this.#lineWaiters.delete(waiter), { once: true })
    })
  }

  /** Writes a file in the temp dir that only the server's user can read. */
  protected writeFile(name: string, content: string): Promise<string> {
    return writePrivateFile(this.#setup.baseDir, name, content, this.#setup.runAs)
  }

  /** Runs a one-off command (initdb) to its end, bounded by `startTimeoutMs`. */
  protected async run(binary: string, args: string[]): Promise<ExitStatus> {
    const child = this.#spawn(binary, args)
    const stop = new AbortController()
    const ms = this.#setup.startTimeoutMs
    const expired = expiry(ms, stop.signal, () => {
      child.kill('SIGKILL')
      return this.failure(`${path.basename(binary)} did not finish within ${ms} ms`)
    })
    try {
      const status = await Promise.race([waitForExit(child), expired])
      if (status.error) throw this.failure(describeExit(binary, status), status.error)
      return status
    } finally {
      stop.abort()
    }
  }

  async #init(): Promise<void> {
    const { baseDir, binary, stopSignal } = this.#setup
    this.#reaper = Reaper.spawn(baseDir, path.basename(binary), stopSignal)
    await this.prepare()
    await this.#reaper?.listening()
    for (let attempt = 1; ; attempt++) {
      this.#port = await freePort()
      try {
        return await this.#launch()
      } catch (error) {
        if (!this.#isBindFailure(error) || attempt >= BIND_ATTEMPTS) throw error
      }
    }
  }

  /** start/stop/destroy are queued so a signal-triggered destroy cannot interleave with a restart. */
  #serialized<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation)
    this.#queue = result.catch(() => {})
    return result
  }

  async #launch(): Promise<void> {
    const { binary, startTimeoutMs: ms } = this.#setup
    const args = await this.args()
    // Start from a clean slate so a bind failure of an earlier attempt cannot be mistaken for this one's.
    this.#logTail.length = 0
    this.#notReady = undefined
    const child = this.#spawn(binary, args)
    this.#child = child
    const exited = waitForExit(child)
    void exited.then(() => {
      if (this.#child !== child) return
      this.#child = undefined
      void this.#reaper?.watch(undefined)
    })
    void this.#reaper?.watch(child.pid)
    const stop = new AbortController()
    const command = path.basename(binary)
    const failed = exited.then((status) => {
      throw this.failure(`${command} exited during startup (${describeExit(binary, status)})`)
    })
    let timedOut = false
    const expired = expiry(ms, stop.signal, () => {
      timedOut = true
      const why = this.#notReady === undefined ? '' : `: ${this.#notReady}`
      return this.failure(`${command} did not become ready within ${ms} ms${why}`)
    })
    const ready = this.untilReady(stop.signal)
    // Whichever loses the race below must not surface later as an unhandled rejection.
    for (const outcome of [ready, failed, expired]) outcome.catch(() => {})
    try {
      await Promise.race([ready, failed, expired])
    } catch (error) {
      // A server that did not come up in time is wedged: no point in asking it nicely.
      await this.#shutdown(timedOut ? 'SIGKILL' : this.#setup.stopSignal)
      throw error
    } finally {
      stop.abort()
    }
    // A forgotten server must not keep the test process alive: the exit hook and reaper remove it.
    unrefChild(child)
  }

  async #shutdown(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child
    if (!child) return
    const exited = waitForExit(child)
    child.kill(signal)
    // Not unref'ed: the child and its pipes are, so this timer keeps us alive until the server is gone.
    const escalate = setTimeout(() => child.kill('SIGKILL'), this.#setup.killAfterMs)
    await exited
    clearTimeout(escalate)
    if (this.#child === child) this.#child = undefined
  }

  #spawn(binary: string, args: string[]): ChildProcess {
    const { baseDir: cwd, runAs } = this.#setup
    return spawnLogged(binary, args, { cwd, runAs, onLine: (line) => this.#log(line) })
  }

  #log(line: string): void {
    this.#logTail.push(line)
    if (this.#logTail.length > LOG_TAIL_LINES) this.#logTail.shift()
    for (const waiter of [...this.#lineWaiters]) waiter(line)
    try {
      this.#setup.onLog?.(line)
    } catch {
      // A broken log callback must not break the server's lifecycle.
    }
  }

  #isBindFailure(error: unknown): boolean {
    return error instanceof Error && this.#setup.bindFailure.test(error.message)
  }
}

/** Rejects with `error()` after `ms`, unless `signal` aborts first (then it never settles). */
function expiry(ms: number, signal: AbortSignal, error: () => Error): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(() => reject(error()), ms)
    timer.unref()
    signal.addEventListener('abort', () => clearTimeout(timer), { once: true })
  })
}
