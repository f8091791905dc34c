/**
 * One server of a PgCluster: its pool (the connections reads, and writes while it is the primary,
 * run on), and a probe on a connection of its own that reads the server's role and WAL positions.
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type pg from 'pg'
import type { ClusterHostSpec } from './cluster-options.js'
import { breakClient, endClient, openClient } from './pg-client.js'
import { PgPool, type PgPoolHooks } from './pg-pool.js'
import { walBytes } from './wal-position.js'

/** What a server was last seen as: `'unknown'` until a probe has answered. */
export type ClusterHostRole = 'primary' | 'standby' | 'unknown'

/** One probe's answer. */
export interface HostObservation {
  /** When the probe was sent (performance.now()): the positions were read after it. */
  readonly sentAt: number
  readonly standby: boolean
  /** New sessions are read-only (a standby, or default_transaction_read_only). */
  readonly readOnly: boolean
  /** A primary's WAL write position. */
  readonly currentLsn: bigint | undefined
  /** A standby's replay position. */
  readonly replayLsn: bigint | undefined
  /** A standby has paused replay (pg_wal_replay_pause). */
  readonly replayPaused: boolean
  /** How long since the last transaction a standby replayed was committed on the primary, ms. */
  readonly replayAgeMs: number | undefined
}

const PROBE = `select pg_is_in_recovery() as standby,
  current_setting('transaction_read_only') = 'on' as read_only,
  case when pg_is_in_recovery() then null else pg_current_wal_lsn()::text end as current_lsn,
  case when pg_is_in_recovery() then pg_last_wal_replay_lsn()::text end as replay_lsn,
  case when pg_is_in_recovery() then pg_is_wal_replay_paused() else false end as paused,
  (extract(epoch from now() - pg_last_xact_replay_timestamp()) * 1000)::float8 as replay_age_ms`

interface ProbeRow {
  standby: boolean
  read_only: boolean
  current_lsn: string | null
  replay_lsn: string | null
  paused: boolean
  replay_age_ms: number | null
}

export class ClusterMember {
  readonly spec: ClusterHostSpec
  readonly key: string
  readonly pool: PgPool
  role: ClusterHostRole = 'unknown'
  /** Answered its last probe; undefined before the first. */
  up: boolean | undefined
  readOnly = false
  lastError: string | undefined
  last: HostObservation | undefined
  /** Bytes and ms behind the primary (standbys, once a primary has been seen). */
  lagBytes: number | undefined
  lagMs: number | undefined
  inRotation = false
  /** Reads routed here and still running. */
  inFlight = 0
  reads = 0
  /** Times this server became the primary after another (or after none). */
  promotions = 0
  /** Connections retired because the host name stopped resolving to their address. */
  addressRetired = 0
  /** The addresses the host name resolved to, at the last lookup. */
  addresses: readonly string[] | undefined
  #monitor: pg.Client | undefined
  /** The pool's open connections, to retire those to an address the name has left. */
  readonly #clients = new Set<pg.Client>()
  #previous: ReadonlySet<string> | undefined

  constructor(spec: ClusterHostSpec, hooks: PgPoolHooks) {
    this.spec = spec
    this.key = spec.key
    this.pool = new PgPool(spec.input, spec.options, {
      extraConnections: hooks.extraConnections,
      connected: (client) => {
        this.#clients.add(client)
        client.once('end', () => this.#clients.delete(client))
        hooks.connected?.(client)
      },
      broken: (client, err) => {
        this.#clients.delete(client)
        hooks.broken?.(client, err)
      },
    })
  }

  /**
   * Looks the host name up again (an IP address or a socket directory is never looked up). A
   * connection whose address was in neither this answer nor the one before retires: the name now
   * points elsewhere (an Aurora-style failover moves the writer's name). Two answers, not one, so
   * a name that answers with one of several addresses at a time does not churn connections.
   * @returns how many connections retired
   */
  async checkAddresses(timeoutMs: number): Promise<number> {
    const host = this.spec.host
    if (isIP(host) !== 0 || host.startsWith('/')) return 0
    let found: string[]
    let timer: NodeJS.Timeout | undefined
    try {
      const answer = lookup(host, { all: true }).then((a) => a.map((x) => x.address))
      const late = new Promise<never>((_, no) => {
        timer = setTimeout(no, timeoutMs)
        timer.unref()
      })
      found = await Promise.race([answer, late])
    } catch {
      return 0 // not resolving is the probe's to report
    } finally {
      clearTimeout(timer)
    }
    this.addresses = Object.freeze(found)
    const now = new Set(found)
    const known = new Set([...now, ...(this.#previous ?? now)])
    this.#previous = now
    let retired = 0
    const monitor = this.#monitor
    if (monitor !== undefined && !known.has(remoteAddress(monitor) ?? '')) this.#drop(monitor)
    for (const c of [...this.#clients]) {
      const at = remoteAddress(c)
      if (at === undefined || known.has(at)) continue
      this.#clients.delete(c)
      if (this.pool.retire(c)) retired++
    }
    this.addressRetired += retired
    return retired
  }

  /**
   * Reads the server's role and positions on the probe connection (opened on first use, and again
   * after a failure).
   * @throws the connect or query error; a timeout error after `timeoutMs`
   */
  async probe(timeoutMs: number): Promise<HostObservation> {
    const signal = AbortSignal.timeout(timeoutMs)
    const sentAt = performance.now()
    try {
      if (this.#monitor === undefined) {
        this.#monitor = await openClient(this.pool.config.client, signal, (c) => this.#drop(c))
      }
      const client = this.#monitor
      const row = await withTimeout(client, client.query<ProbeRow>(PROBE), signal, timeoutMs)
      const r = row.rows[0]!
      return Object.freeze({
        sentAt,
        standby: r.standby,
        readOnly: r.read_only,
        currentLsn: r.current_lsn === null ? undefined : walBytes(r.current_lsn),
        replayLsn: r.replay_lsn === null ? undefined : walBytes(r.replay_lsn),
        replayPaused: r.paused,
        replayAgeMs: r.replay_age_ms === null ? undefined : Math.max(0, r.replay_age_ms),
      })
    } catch (err) {
      if (this.#monitor !== undefined) this.#drop(this.#monitor)
      throw signal.aborted ? new Error(`probe timed out after ${timeoutMs} ms`) : err
    }
  }

  /** Ends the probe connection (the pool is the cluster's to close). */
  async endProbe(): Promise<void> {
    const c = this.#monitor
    this.#monitor = undefined
    if (c !== undefined) await endClient(c)
  }

  #drop(client: pg.Client): void {
    if (this.#monitor === client) this.#monitor = undefined
    breakClient(client)
  }
}

/** The address a connection reached, IPv4-mapped addresses written as IPv4. */
function remoteAddress(client: pg.Client): string | undefined {
  const at = (client as unknown as { connection?: { stream?: { remoteAddress?: string } } }).connection
    ?.stream?.remoteAddress
  return at?.startsWith('::ffff:') ? at.slice(7) : at
}

/** The query's result, or a timeout error once `signal` aborts (the socket is cut, so it ends). */
function withTimeout<T>(client: pg.Client, query: Promise<T>, signal: AbortSignal, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(new Error(`probe timed out after ${ms} ms`))
      breakClient(client)
    }
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    query.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}
