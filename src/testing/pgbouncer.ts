import net from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'
import {
  type PgBouncerBinary,
  findPgBouncer,
  immediateShutdownSignal,
  pgBouncerUser,
} from './pgbouncer-binary.js'
import { pgBouncerIni, pgBouncerUserList } from './pgbouncer-config.js'
import { PgBouncerError } from './pgbouncer-errors.js'
import type { RunAs } from './postgres-binaries.js'
import { checkStartPgBouncerOptions } from './test-server-options.js'
import { HOST, makeTempDir } from './test-server-process.js'
import { TestServer } from './test-server.js'

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
  const runAs = await pgBouncerUser()
  const baseDir = await makeTempDir('berth-pgbouncer-', runAs)
  return TestServer.boot(new ManagedPgBouncer(binary, runAs, baseDir, options))
}

class ManagedPgBouncer extends TestServer implements PgBouncer {
  readonly user: string
  readonly password: string
  readonly database: string
  readonly poolMode: PgBouncerPoolMode
  readonly version: string

  constructor(
    binary: PgBouncerBinary,
    runAs: RunAs | undefined,
    private readonly baseDir: string,
    private readonly options: StartPgBouncerOptions,
  ) {
    super({
      name: 'PgBouncer',
      binary: binary.path,
      baseDir,
      runAs,
      onLog: options.onLog,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
      stopSignal: immediateShutdownSignal(binary.version),
      killAfterMs: 5_000,
      bindFailure: /Address already in use|bind\(\) failed|cannot listen/i,
      error: PgBouncerError,
      // The password never appears in PgBouncer's log, but be sure it is not in driver messages either.
      secret: options.postgres.password,
    })
    this.user = options.postgres.user
    this.password = options.postgres.password
    this.database = options.postgres.database ?? 'postgres'
    this.poolMode = options.poolMode
    this.version = binary.version
  }

  get url(): string {
    return this.#urlFor(this.database)
  }

  get adminUrl(): string {
    return this.#urlFor('pgbouncer')
  }

  [inspect.custom](): string {
    return `PgBouncer { ${HOST}:${this.port}, poolMode: ${this.poolMode}, running: ${this.pid !== undefined} }`
  }

  protected override async prepare(): Promise<void> {
    await this.writeFile('userlist.txt', pgBouncerUserList(this.user, this.password))
  }

  /** The config names the port, so it is written again for every launch. */
  protected override async args(): Promise<string[]> {
    const { postgres, poolMode, defaultPoolSize, maxClientConn, extra } = this.options
    const ini = pgBouncerIni({
      listenHost: HOST,
      listenPort: this.port,
      authFile: path.join(this.baseDir, 'userlist.txt'),
      user: this.user,
      poolMode,
      defaultPoolSize,
      maxClientConn,
      extra,
      target: postgres,
    })
    return [await this.writeFile('pgbouncer.ini', ini)]
  }

  /** Polls a TCP connect and then a real `select 1` through PgBouncer to the server. */
  protected override async untilReady(signal: AbortSignal): Promise<void> {
    const { default: pg } = await import('pg')
    this.notReady('no connection attempt finished')
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
          const problem = `select 1 through PgBouncer failed: ${String(message)}${code ? ` (${code})` : ''}`
          // Authentication problems do not go away by waiting.
          if (typeof code === 'string' && code.startsWith('28')) throw this.failure(problem)
          this.notReady(problem)
        } finally {
          await client.end().catch(() => {})
        }
      } else {
        this.notReady(`nothing accepts connections on ${HOST}:${this.port} yet`)
      }
      await sleep(100, undefined, { signal }).catch(() => {})
    }
  }

  #urlFor(database: string): string {
    const credentials = `${encodeURIComponent(this.user)}:${encodeURIComponent(this.password)}`
    return `postgres://${credentials}@${HOST}:${this.port}/${encodeURIComponent(database)}`
  }
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
