/**
 * `berth doctor` on a host list: every host probed in parallel (each bounded by --connect-timeout),
 * on a one-connection pool of its own, for its role (pg_is_in_recovery(), transaction_read_only),
 * its WAL position, and the same facts as a single server. A host that fails is reported, not
 * thrown.
 */
import type { PgHost } from '../pg/config-types.js'
import type { PgPoolOptions } from '../pg/pg-pool-options.js'
import type { PgPool } from '../pg/pg-pool.js'
import { walBytes } from '../pg/wal-position.js'
import { type ClassifiedError, classifyError } from './classify-error.js'
import { type ServerFacts, probeServer } from './doctor-probe.js'
import { type PgTarget, hostForUrl, isLocalHost, openPool } from './pg-target.js'

/** What one host answered, or why it did not. */
export interface HostProbe {
  /** `host:port`, as createPgCluster names it. */
  readonly host: string
  /** `user@host:port/database`, no password. */
  readonly target: string
  readonly local: boolean
  readonly reachable: boolean
  /** Why it could not be probed (the message has no password). */
  readonly error: ClassifiedError | null
  /** From pg_is_in_recovery(). */
  readonly role: 'primary' | 'standby' | null
  /** New sessions are read-only (a standby, or default_transaction_read_only). */
  readonly readOnly: boolean | null
  /** A standby has paused replay (pg_wal_replay_pause). */
  readonly replayPaused: boolean | null
  readonly facts: ServerFacts | null
  /** A primary's pg_current_wal_lsn(), a standby's pg_last_wal_replay_lsn(), in bytes. */
  readonly walPosition: bigint | null
  /** How long since the last transaction a standby replayed was committed on the primary, s. */
  readonly replayAgeS: number | null
}

const ROLE_QUERY = `select pg_is_in_recovery() as standby,
  current_setting('transaction_read_only') = 'on' as read_only,
  case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end::text as lsn,
  case when pg_is_in_recovery() then pg_is_wal_replay_paused() else false end as paused,
  extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as replay_age_s`

interface RoleRow {
  standby: boolean
  read_only: boolean
  lsn: string | null
  paused: boolean
  replay_age_s: number | null
}

/** Probes every host of `target` at once; resolves when all have answered or failed. */
export function probeHosts(
  target: PgTarget,
  pool: PgPoolOptions,
  samples: number,
  signal: AbortSignal,
): Promise<HostProbe[]> {
  return Promise.all(target.config.hosts.map((h) => probeHost(target, h, pool, samples, signal)))
}

async function probeHost(
  target: PgTarget,
  h: PgHost,
  pool: PgPoolOptions,
  samples: number,
  signal: AbortSignal,
): Promise<HostProbe> {
  const host = `${h.host}:${h.port}`
  const c = target.config.client
  const where = `${c.user ?? ''}@${hostForUrl(h.host)}:${h.port}/${c.database ?? ''}`
  const base = { host, target: where, local: isLocalHost(h.host) }
  let db: PgPool | undefined
  try {
    db = await openPool(target, {
      ...pool,
      host: h.host,
      port: h.port,
      targetSessionAttrs: 'any',
      loadBalanceHosts: 'disable',
    })
    const facts = await probeServer(db, samples, signal)
    const r = (await db.queryRow<RoleRow>(ROLE_QUERY))!
    return Object.freeze({
      ...base,
      reachable: true,
      error: null,
      role: r.standby ? 'standby' : 'primary',
      readOnly: r.read_only,
      replayPaused: r.standby ? r.paused : null,
      facts,
      walPosition: r.lsn === null ? null : walBytes(r.lsn),
      replayAgeS: r.standby && r.replay_age_s !== null ? Math.max(0, r.replay_age_s) : null,
    })
  } catch (err) {
    signal.throwIfAborted()
    return Object.freeze({
      ...base,
      reachable: false,
      error: classifyError(err, { target: where, secrets: target.secrets }),
      role: null,
      readOnly: null,
      replayPaused: null,
      facts: null,
      walPosition: null,
      replayAgeS: null,
    })
  } finally {
    await db?.close({ timeoutMs: 5_000 }).catch(() => {})
  }
}
