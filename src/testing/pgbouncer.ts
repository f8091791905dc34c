import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { constants, promises as fs, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect, promisify } from 'node:util'
import { BerthError, InvalidOptionError } from '../core/errors.js'
import { type Disposable, Reaper, release, track } from './cleanup.js'
import { POSTGRES_OS_USER, type RunAs, lookupIds } from './postgres-binaries.js'
import { checkPgBouncerBinary, checkStartPgBouncerOptions } from './test-server-options.js'

const execFileAsync = promisify(execFile)

/**
 * Thrown by `startPgBouncer` when a test PgBouncer cannot be set up; the message carries the tail
 * of its log. What to do: read that log tail (a port in use, a bad `extra` setting, a refused login
 * to the target PostgreSQL).
 */
export class PgBouncerError extends BerthError {
  constructor(
    message: string,
    options?: { cause?: unknown },
    code: 'BERTH_TEST_PGBOUNCER_START' | 'BERTH_TEST_PGBOUNCER_NOT_INSTALLED' = 'BERTH_TEST_PGBOUNCER_START',
  ) {
    super(code, message, options)
  }
}

/**
 * Thrown by `startPgBouncer` and `findPgBouncer` when there is no runnable `pgbouncer` executable.
 * What to do: install PgBouncer (`apt-get install pgbouncer`) or pass `binary`; tests turn this
 * into a skip.
 */
export class PgBouncerNotInstalledError extends PgBouncerError {
  constructor(message: string) {
    super(message, undefined, 'BERTH_TEST_PGBOUNCER_NOT_INSTALLED')
  }
}

export type PgBouncerPoolMode = 'session' | 'transaction' | 'statement'

/** The PostgreSQL server PgBouncer forwards to; its password must work for SCRAM or md5 logins. */
export interface PgBouncerTarget {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: string
  /** Database in the returned `url`. Default `postgres`; every other database is reachable too. */
  readonly database?: string
}

export interface StartPgBouncerOptions {
  postgres: PgBouncerTarget
  poolMode: PgBouncerPoolMode
  /** Server connections per database/user pair (PgBouncer's `default_pool_size`, default 20). */
  defaultPoolSize?: number
  /** PgBouncer's `max_client_conn` (default 100). */
  maxClientConn?: number
  /** Extra `[pgbouncer]` settings, applied after (and so overriding) the generated ones. */
  extra?: Record<string, string | number>
  /** Path of the executable. Default: the first `pgbouncer` on PATH, then the usual sbin directories. */
  binary?: string
  /** Receives every line PgBouncer prints; useful when debugging a failing start. */
  onLog?: (line: string) => void
  /** Bound on the start (until `select 1` works through PgBouncer). Default 30 s. */
  startTimeoutMs?: number
}

/** A running (or stopped) throwaway PgBouncer; see {@link startPgBouncer}. */
export interface PgBouncer {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly user: string
  readonly password: string
  readonly database: string
  readonly poolMode: PgBouncerPoolMode
  /** `postgres://user:password@127.0.0.1:port/database`; contains the password, so do not log it. */
  readonly url: string
  /** Like `url`, for the admin console (database `pgbouncer`; the user is in `admin_users`). */
  readonly adminUrl: string
  /** Process id while running, `undefined` while stopped. */
  readonly pid: number | undefined
  /** PgBouncer's version, e.g. `1.18.0`. */
  readonly version: string
  /** Shuts PgBouncer down immediately (open client connections are dropped); keeps its config. */
  stop(): Promise<void>
  /** Starts a stopped PgBouncer again on the same port. No-op while running. */
  start(): Promise<void>
  /** Stops PgBouncer and deletes its files. Idempotent. */
  destroy(): Promise<void>
}

/** What {@link findPgBouncer} found. */
export interface PgBouncerBinary {
  readonly path: string
  readonly version: string
}

const HOST = '127.0.0.1'
const TEMP_PREFIX = 'berth-pgbouncer-'
const LOG_TAIL_LINES = 40
const BIND_ATTEMPTS = 5
const KILL_AFTER_MS = 5_000
const FALLBACK_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin', '/opt/homebrew/bin']
/** The user PgBouncer runs as when we are root (it refuses to run as root). */
const FALLBACK_OS_USER = 'nobody'

/**
 * Locates a runnable `pgbouncer` (`binary`, else PATH, else the usual sbin directories) and its version.
 *
 * @throws {PgBouncerNotInstalledError} when there is none.
 */
export async function findPgBouncer(binary?: string): Promise<PgBouncerBinary> {
  checkPgBouncerBinary('binary', binary)
  const candidates = binary
    ? [binary]
    : [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), ...FALLBACK_DIRS].map((dir) =>
        path.join(dir, 'pgbouncer'),
      )
  for (const candidate of new Set(candidates)) {
    const found = path.resolve(candidate)
    if (!(await isExecutableFile(found))) continue
    try {
      const { stdout } = await execFileAsync(found, ['--version'], { timeout: 10_000 })
      const version = /PgBouncer\s+(\d+(?:\.\d+)*)/i.exec(stdout)?.[1]
      if (version) return { path: found, version }
    } catch {
      // Not a working pgbouncer; try the next candidate.
    }
  }
  const where = binary ? `at ${binary}` : `on PATH or in ${FALLBACK_DIRS.join(', ')}`
  throw new PgBouncerNotInstalledError(
    `pgbouncer is not installed: no runnable pgbouncer executable ${where} (Debian/Ubuntu: apt-get install pgbouncer)`,
  )
}

/**
 * Starts PgBouncer in front of `postgres` on a free 127.0.0.1 port, with its own config in a temp dir
 * under `os.tmpdir()` (so an unprivileged user can read it even when the repo lives under /root).
 *
 * Clients log in with SCRAM-SHA-256 as `postgres.user`, whose password PgBouncer also uses for the server
 * logins; every database name is forwarded to the server as is. As root, PgBouncer runs as the `postgres`
 * OS user (or `nobody`). It is cleaned up however the process ends: `destroy()`, SIGINT/SIGTERM handlers,
 * an `exit` hook that kills it synchronously, and a detached reaper process for when this process is
 * SIGKILLed.
 *
 * @throws {PgBouncerNotInstalledError} when there is no `pgbouncer` executable (nothing is started).
 * @throws {PgBouncerError} when it does not come up.
 * @throws {InvalidOptionError} naming a malformed option (nothing is started).
 */
export async function startPgBouncer(options: StartPgBouncerOptions): Promise<PgBouncer> {
  checkStartPgBouncerOptions(options)
  const binary = await findPgBouncer(options.binary)
  const runAs = process.getuid?.() === 0 ? await unprivilegedUser() : undefined
  const baseDir = await fs.mkdtemp(path.join(os.tmpdir(), TEMP_PREFIX))
  const bouncer = new ManagedPgBouncer(binary, runAs, baseDir, options)
  track(bouncer)
  try {
    await bouncer.init()
    return bouncer
  } catch (error) {
    await bouncer.destroy().catch(() => {})
    throw error
  }
}

class ManagedPgBouncer implements PgBouncer, Disposable {
  readonly host = HOST
  readonly user: string
  readonly password: string
  readonly database: string
  readonly poolMode: PgBouncerPoolMode
  readonly version: string
  port = 0
  #child: ChildProcess | undefined
  #reaper: Reaper | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #destroyed: Promise<void> | undefined
  readonly #logTail: string[] = []
  readonly #configFile: string

  constructor(
    private readonly binary: PgBouncerBinary,
    private readonly runAs: RunAs | undefined,
    private readonly baseDir: string,
    private readonly options: StartPgBouncerOptions,
  ) {
    this.user = options.postgres.user
    this.password = options.postgres.password
    this.database = options.postgres.database ?? 'postgres'
    this.poolMode = options.poolMode
    this.version = binary.version
    this.#configFile = path.join(baseDir, 'pgbouncer.ini')
  }

  get url(): string {
    return this.#urlFor(this.database)
  }

  get adminUrl(): string {
    return this.#urlFor('pgbouncer')
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  async init(): Promise<void> {
    await this.#serialized(async () => {
      this.#reaper = Reaper.spawnWith(['-e', REAPER_SOURCE, String(process.pid), this.baseDir])
      await fs.chmod(this.baseDir, 0o700)
      if (this.runAs) await fs.chown(this.baseDir, this.runAs.uid, this.runAs.gid)
      await this.#writeFile('userlist.txt', `${quote(this.user)} ${quote(this.password)}\n`)
      for (let attempt = 1; ; attempt++) {
        this.port = await freePort()
        await this.#writeFile('pgbouncer.ini', this.#config())
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
      if (this.#destroyed) throw new PgBouncerError('cannot start a destroyed PgBouncer')
      if (this.#child) return
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

  killSync(): void {
    this.#child?.kill('SIGKILL')
    rmSync(this.baseDir, { recursive: true, force: true, maxRetries: 3 })
  }

  [inspect.custom](): string {
    return `PgBouncer { ${HOST}:${this.port}, poolMode: ${this.poolMode}, running: ${!!this.#child} }`
  }

  #urlFor(database: string): string {
    const credentials = `${encodeURIComponent(this.user)}:${encodeURIComponent(this.password)}`
    return `postgres://${credentials}@${HOST}:${this.port}/${encodeURIComponent(database)}`
  }

  #serialized<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation)
    this.#queue = result.catch(() => {})
    return result
  }

  #config(): string {
    const { postgres, defaultPoolSize, maxClientConn, extra } = this.options
    const settings: Record<string, string | number> = {
      listen_addr: HOST,
      listen_port: this.port,
      // No unix socket: nothing to clean up, and no collision with a system pgbouncer's socket.
      unix_socket_dir: '',
      pidfile: '',
      logfile: '',
      syslog: 0,
      auth_type: 'scram-sha-256',
      auth_file: path.join(this.baseDir, 'userlist.txt'),
      admin_users: this.user,
      stats_users: this.user,
      pool_mode: this.poolMode,
      ...(defaultPoolSize !== undefined && { default_pool_size: defaultPoolSize }),
      ...(maxClientConn !== undefined && { max_client_conn: maxClientConn }),
      server_tls_sslmode: 'disable',
      client_tls_sslmode: 'disable',
      // Sent by some drivers (pgjdbc, psycopg); harmless to ignore for tests.
      ignore_startup_parameters: 'extra_float_digits',
      ...extra,
    }
    const target = `host=${connectValue(postgres.host)} port=${postgres.port}`
    const lines = ['[databases]', `* = ${target}`, '', '[pgbouncer]']
    for (const [name, value] of Object.entries(settings)) {
      if (!/^\w+$/.test(name) || /[\r\n]/.test(String(value))) {
        throw new InvalidOptionError(
          `extra[${JSON.stringify(name)}]`,
          value,
          'a setting name of letters, digits and _ with a value on one line',
        )
      }
      lines.push(`${name} = ${value}`)
    }
    return `${lines.join('\n')}\n`
  }

  async #writeFile(name: string, content: string): Promise<void> {
    const file = path.join(this.baseDir, name)
    await fs.writeFile(file, content, { mode: 0o600 })
    if (this.runAs) await fs.chown(file, this.runAs.uid, this.runAs.gid)
  }

  async #launch(): Promise<void> {
    this.#logTail.length = 0
    const child = spawn(this.binary.path, [this.#configFile], {
      cwd: this.baseDir,
      // Detached: its lifetime is ours to manage, not the terminal's process group's.
      detached: true,
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.runAs && { uid: this.runAs.uid, gid: this.runAs.gid }),
    })
    this.#pipeLog(child)
    this.#child = child
    const exited = waitForExit(child)
    const forget = () => {
      if (this.#child !== child) return
      this.#child = undefined
      void this.#reaper?.watch(undefined)
    }
    exited.then(forget, forget)
    void this.#reaper?.watch(child.pid)
    const failed = exited.then(({ code, signal, error }) => {
      const reason = error
        ? `cannot run ${this.binary.path}: ${error.message}`
        : `code ${code}, signal ${signal}`
      throw this.#error(`pgbouncer exited during startup (${reason})`)
    })
    const abort = new AbortController()
    const ready = this.#waitUntilReady(abort.signal)
    // Whichever loses the race below must not surface later as an unhandled rejection.
    for (const outcome of [ready, failed]) outcome.catch(() => {})
    try {
      await Promise.race([ready, failed])
    } catch (error) {
      abort.abort()
      await this.#shutdown()
      throw error
    }
    // A forgotten PgBouncer must not keep the test process alive: the exit hook and reaper remove it.
    child.unref()
    for (const stream of [child.stdout, child.stderr]) (stream as net.Socket | null)?.unref()
  }

  /** Polls a TCP connect and then a real `select 1` through PgBouncer to the server. */
  async #waitUntilReady(signal: AbortSignal): Promise<void> {
    const ms = this.options.startTimeoutMs ?? 30_000
    const deadline = Date.now() + ms
    const { default: pg } = await import('pg')
    let lastProblem = 'no connection attempt finished'
    while (!signal.aborted) {
      if (await canConnect(this.port)) {
        const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 })
        client.on('error', () => {})
        try {
          await client.connect()
          await client.query('select 1')
          return
        } catch (error) {
          const { code, message } = error as { code?: unknown; message?: unknown }
          lastProblem = `select 1 through PgBouncer failed: ${String(message)}${code ? ` (${code})` : ''}`
          // Authentication problems do not go away by waiting.
          if (typeof code === 'string' && code.startsWith('28')) throw this.#error(lastProblem)
        } finally {
          await client.end().catch(() => {})
        }
      } else {
        lastProblem = `nothing accepts connections on ${HOST}:${this.port} yet`
      }
      if (Date.now() > deadline) {
        throw this.#error(`pgbouncer did not become ready within ${ms} ms: ${lastProblem}`)
      }
      await sleep(100)
    }
  }

  /** Immediate shutdown: SIGTERM before PgBouncer 1.23, SIGQUIT since (SIGTERM now waits for clients). */
  async #shutdown(): Promise<void> {
    const child = this.#child
    if (!child) return
    const exited = waitForExit(child)
    const [major = 0, minor = 0] = this.version.split('.').map(Number)
    child.kill(major > 1 || (major === 1 && minor >= 23) ? 'SIGQUIT' : 'SIGTERM')
    const timeout = new AbortController()
    const escalate = sleep(KILL_AFTER_MS, undefined, { signal: timeout.signal }).then(() =>
      child.kill('SIGKILL'),
    )
    escalate.catch(() => {})
    await exited
    timeout.abort()
    if (this.#child === child) this.#child = undefined
  }

  #pipeLog(child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      let pending = ''
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n')
        pending = lines.pop() ?? ''
        for (const line of lines) this.#log(line)
      })
    }
  }

  #log(line: string): void {
    this.#logTail.push(line)
    if (this.#logTail.length > LOG_TAIL_LINES) this.#logTail.shift()
    try {
      this.options.onLog?.(line)
    } catch {
      // A broken log callback must not break PgBouncer's lifecycle.
    }
  }

  #error(message: string): PgBouncerError {
    const tail = this.#logTail.length > 0 ? this.#logTail.join('\n') : '(no output)'
    // The password never appears in PgBouncer's log, but be sure it is not in driver messages either.
    const text = `${message}\n--- last PgBouncer log lines ---\n${tail}`
    return new PgBouncerError(this.password ? text.replaceAll(this.password, '***') : text)
  }
}

/**
 * Detached watchdog that kills PgBouncer and removes its temp dir if this process dies without cleaning up
 * (SIGKILL, crash), like `scripts/reaper.mjs` does for PostgreSQL. Inline CommonJS, so it needs no file.
 */
const REAPER_SOURCE = `
const fs = require('node:fs')
const path = require('node:path')
const parentPid = Number(process.argv[1])
const dir = process.argv[2]
if (!Number.isInteger(parentPid) || parentPid <= 0 || !dir || !path.isAbsolute(dir) ||
    !path.basename(dir).startsWith(${JSON.stringify(TEMP_PREFIX)})) process.exit(2)
let pid
let done = false
process.on('message', (m) => {
  if (m && m.type === 'pid') pid = m.pid == null ? undefined : m.pid
  if (m && m.type === 'release') process.exit(0)
})
process.on('disconnect', check)
for (const s of ['SIGINT', 'SIGHUP']) process.on(s, () => {})
const timer = setInterval(check, 500)
function alive(p) {
  try {
    const stat = fs.readFileSync('/proc/' + p + '/stat', 'utf8')
    const state = stat[stat.lastIndexOf(')') + 2]
    return state !== 'Z' && state !== 'X'
  } catch {
    try { process.kill(p, 0); return true } catch (e) { return e.code === 'EPERM' }
  }
}
function isPgBouncer(p) {
  try { return fs.readFileSync('/proc/' + p + '/comm', 'utf8').trim() === 'pgbouncer' } catch { return alive(p) }
}
function check() {
  if (done || (process.ppid === parentPid && alive(parentPid))) return
  done = true
  clearInterval(timer)
  if (pid !== undefined && alive(pid) && isPgBouncer(pid)) { try { process.kill(pid, 'SIGKILL') } catch {} }
  try { fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 }) } catch {}
  process.exit(0)
}
`

interface ExitStatus {
  code: number | null
  signal: string | null
  error?: Error
}

function waitForExit(child: ChildProcess): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  }
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }))
    // 'close' rather than 'exit': by then the last log lines have been read, for the error message.
    child.once('close', (code, signal) => resolve({ code, signal }))
  })
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file)
    if (!stat.isFile()) return false
    await fs.access(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

async function unprivilegedUser(): Promise<RunAs> {
  for (const name of [POSTGRES_OS_USER, FALLBACK_OS_USER]) {
    const ids = await lookupIds(name)
    if (ids && ids.uid !== 0) return ids
  }
  throw new PgBouncerError(
    `pgbouncer refuses to run as root and neither the "${POSTGRES_OS_USER}" nor the "${FALLBACK_OS_USER}" OS user exists`,
  )
}

/** userlist.txt syntax: double-quoted, with embedded double quotes doubled. */
function quote(value: string): string {
  return `"${value.replaceAll('"', '""')}"`
}

/** libpq-style connect-string value, as PgBouncer's `[databases]` section parses it. */
function connectValue(value: string): string {
  return /^[\w.:-]+$/.test(value) ? value : `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}

function isBindFailure(error: unknown): boolean {
  const text = error instanceof Error ? error.message : ''
  return /Address already in use|bind\(\) failed|cannot listen/i.test(text)
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port })
    socket.setTimeout(2_000)
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.once('timeout', () => done(false))
  })
}

/** Asks the kernel for a free port; it can be taken before PgBouncer binds it, hence the retries. */
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
