/**
 * A throwaway PostgreSQL primary with streaming standbys, for testing failover and replica reads
 * against real servers: the primary is started and stopped once, its data directory copied for
 * each standby (with `standby.signal` and `primary_conninfo`), and all of them started. A standby's
 * `promote()` fails over (`pg_ctl promote`); `stop()`/`start()` take any server down and up.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidOptionError } from '../core/errors.js'
import { preparePostgresBinaries } from './postgres-binaries.js'
import {
  ManagedPostgres,
  type PostgresServer,
  PostgresServerError,
  type StartPostgresOptions,
  startPostgres,
} from './postgres-server.js'
import { checkStartPostgresOptions } from './test-server-options.js'
import { HOST, makeTempDir } from './test-server-process.js'
import { TestServer } from './test-server.js'

export interface StartPostgresClusterOptions extends StartPostgresOptions {
  /** Streaming standbys of the primary, 1 to 5. Default 1. */
  standbys?: number
}

/** A standby of a {@link PostgresCluster}: a server that can be promoted to primary. */
export interface PostgresStandby extends PostgresServer {
  /** Promotes it to primary and waits until it accepts writes (`pg_ctl promote -w`). */
  promote(): Promise<void>
  /** Stops applying WAL (`pg_wal_replay_pause()`): it keeps receiving, and falls behind. */
  pauseReplay(): Promise<void>
  /** Applies WAL again (`pg_wal_replay_resume()`). */
  resumeReplay(): Promise<void>
}

/** A primary and its streaming standbys; see {@link startPostgresCluster}. */
export interface PostgresCluster {
  /** The server started as the primary (after a standby's `promote()`, no longer the primary). */
  readonly primary: PostgresServer
  readonly standbys: readonly PostgresStandby[]
  /** Every server, the primary first. */
  readonly servers: readonly PostgresServer[]
  /**
   * A libpq multi-host URL naming every server, the primary first
   * (`postgres://user:password@127.0.0.1:p1,127.0.0.1:p2/postgres`); contains the password.
   */
  readonly url: string
  /** How far `standby` has yet to replay to reach the primary's current WAL position, in bytes. */
  lagBytes(standby: PostgresStandby): Promise<number>
  /**
   * Resolves once every running standby has replayed the primary's current WAL position (so a
   * write made before the call can be read there).
   * @throws PostgresServerError after `timeoutMs` (default 10000)
   */
  caughtUp(timeoutMs?: number): Promise<void>
  /**
   * Restarts a stopped server (an old primary after a failover, say) as a streaming standby of
   * whichever server takes writes now, and resolves once it accepts reads. It must have been
   * stopped cleanly (`stop()`), so the new primary has all of its WAL.
   * @throws PostgresServerError when it is running, is not one of this cluster's, or does not start
   */
  rejoin(server: PostgresServer): Promise<PostgresStandby>
  /** Destroys every server. Idempotent. */
  destroy(): Promise<void>
}

/** Settings every server of a cluster gets: enough WAL kept for a standby that falls behind. */
const REPLICATION_DEFAULTS: Record<string, string | number> = {
  wal_level: 'replica',
  max_wal_senders: 10,
  wal_keep_size: '256MB',
  hot_standby: 'on',
  // A standby that cannot reach its primary (stopped, restarting) tries again this soon, not 5 s later.
  wal_retrieve_retry_interval: '200ms',
}

/**
 * Starts a primary and `standbys` streaming standbys on free 127.0.0.1 ports, each in its own temp
 * dir, all cleaned up however the process ends (as {@link startPostgres}). Resolves once every
 * standby accepts read-only connections.
 * @throws InvalidOptionError for bad options; PostgresServerError when a server cannot be set up
 */
export async function startPostgresCluster(
  options: StartPostgresClusterOptions = {},
): Promise<PostgresCluster> {
  const { standbys: count = 1, ...serverOptions } = options ?? {}
  if (!Number.isInteger(count) || count < 1 || count > 5) {
    throw new InvalidOptionError('standbys', count, 'an integer from 1 to 5')
  }
  checkStartPostgresOptions(serverOptions)
  const settings = { ...REPLICATION_DEFAULTS, ...serverOptions.postgresFlags }
  const withReplication = { ...serverOptions, postgresFlags: settings }
  const primary = await startPostgres(withReplication)
  const standbys: ManagedPostgres[] = []
  try {
    // A standby starts from a consistent copy: of a stopped primary's data directory.
    await primary.stop()
    const binaries = await preparePostgresBinaries()
    const source = { dataDir: primary.dataDir, port: primary.port, password: primary.password }
    const made: Promise<ManagedPostgres>[] = []
    for (let i = 0; i < count; i++) {
      const baseDir = await makeTempDir('berth-pg-standby-', binaries.runAs)
      standbys.push(new ManagedPostgres(binaries, baseDir, withReplication, source))
    }
    // Each standby copies the data while the primary is down, and is ready for reads from the
    // copy alone (a clean shutdown is a consistent point); it streams once the primary is back.
    for (const s of standbys) made.push(TestServer.boot(s))
    await Promise.all(made)
    await primary.start()
  } catch (cause) {
    await Promise.allSettled([primary.destroy(), ...standbys.map((s) => s.destroy())])
    if (cause instanceof PostgresServerError) throw cause
    throw new PostgresServerError(`cannot start the PostgreSQL cluster: ${String(cause)}`, { cause })
  }
  return new Cluster(primary, standbys.map(asStandby))
}

/** One statement on a fresh connection (pg, the optional peer dependency, loaded on first use). */
async function sql(url: string, text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.query(text, params)).rows as Record<string, unknown>[]
  } finally {
    await client.end().catch(() => {})
  }
}

function asStandby(server: ManagedPostgres): PostgresStandby {
  return Object.assign(server, {
    pauseReplay: async () => void (await sql(server.url, 'select pg_wal_replay_pause()')),
    resumeReplay: async () => void (await sql(server.url, 'select pg_wal_replay_resume()')),
  })
}

class Cluster implements PostgresCluster {
  readonly servers: readonly PostgresServer[]
  #destroyed: Promise<void> | undefined

  constructor(
    readonly primary: PostgresServer,
    readonly standbys: readonly PostgresStandby[],
  ) {
    this.servers = Object.freeze([primary, ...standbys])
    Object.freeze(this.standbys)
  }

  get url(): string {
    const hosts = this.servers.map((s) => `${HOST}:${s.port}`).join(',')
    return `postgres://${this.primary.user}:${encodeURIComponent(this.primary.password)}@${hosts}/${this.primary.database}`
  }

  async lagBytes(standby: PostgresStandby): Promise<number> {
    return this.#lag(await this.#writable(), standby)
  }

  /** Bytes `standby` has yet to replay to reach `primary`'s current WAL position. */
  async #lag(primary: PostgresServer, standby: PostgresStandby): Promise<number> {
    // The insert position, not the write position: with synchronous_commit off (these servers
    // run without durability) a commit can sit in WAL buffers, past pg_current_wal_lsn().
    const [head] = await sql(primary.url, 'select pg_current_wal_insert_lsn()::text as lsn')
    const [lag] = await sql(
      standby.url,
      'select pg_wal_lsn_diff($1, pg_last_wal_replay_lsn())::float8 as bytes',
      [head!.lsn],
    )
    return Math.max(0, Number(lag!.bytes))
  }

  async caughtUp(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    const primary = await this.#writable()
    for (const s of this.standbys) {
      if (s === primary || s.pid === undefined) continue
      while ((await this.#lag(primary, s)) > 0) {
        if (Date.now() > deadline) {
          throw new PostgresServerError(`standby on port ${s.port} did not catch up within ${timeoutMs} ms`)
        }
        await sleep(20)
      }
    }
  }

  /** The server taking writes now: the running one not in recovery (the primary, or a promoted standby). */
  async #writable(): Promise<PostgresServer> {
    for (const s of this.servers) {
      if (s.pid === undefined) continue
      const [row] = await sql(s.url, 'select pg_is_in_recovery() as r')
      if (row!.r === false) return s
    }
    throw new PostgresServerError('no running server of the cluster takes writes')
  }

  async rejoin(server: PostgresServer): Promise<PostgresStandby> {
    if (!(server instanceof ManagedPostgres) || !this.servers.includes(server)) {
      throw new PostgresServerError("rejoin() takes one of this cluster's servers")
    }
    const primary = await this.#writable()
    await server.startAsStandby(primary.port)
    return asStandby(server)
  }

  destroy(): Promise<void> {
    this.#destroyed ??= Promise.allSettled(this.servers.map((s) => s.destroy())).then(() => {})
    return this.#destroyed
  }
}
