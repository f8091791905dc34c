import type { ClusterMember, HostObservation } from './cluster-member.js'
import type { ResolvedPgClusterOptions } from './cluster-options.js'
import { PgNoPrimaryError } from './pg-error.js'
/**
 * Who is the primary, and how far behind is each replica. A probe round asks every server its
 * role and WAL position (on a connection of its own, every `probePeriod`); a round also runs at
 * once when a call or a connection hints that something changed (a connection lost, a session
 * turned read-only, a standby's `in_hot_standby` flipping off on promotion). While there is no
 * primary, rounds run on a short backoff (50 ms doubling to 500 ms) until one appears, and callers
 * for the primary wait, each bounded by its own deadline and signal.
 *
 * ```
 *   searching ──a server answers as a writable primary──▶ elected
 *       ▲                                                    │
 *       └──── the primary fails a call, a probe, or turns read-only ◀─┘
 * ```
 *
 * Lag is measured against the primary's WAL positions sampled each round: a replica whose replay
 * position is R is at most (now - the time of the last sample at or below R) behind, since the WAL
 * past R was written after that sample. That bound, not the replay timestamp (which ages on an
 * idle primary), decides rotation.
 */
import { QueryAbortedError, QueryTimeoutError } from './pg-query.js'
import { walDistance } from './wal-position.js'

interface Waiter {
  resolve(m: ClusterMember): void
  reject(err: unknown): void
}

interface Sample {
  readonly t: number
  readonly lsn: bigint
}

const SEARCH_FIRST_MS = 50
const SEARCH_MAX_MS = 500

export class ClusterTopology {
  readonly members: readonly ClusterMember[]
  readonly #o: ResolvedPgClusterOptions
  #primary: ClusterMember | undefined
  /** The last member elected, kept through a search, to tell a failover from a re-election. */
  #lastPrimary: ClusterMember | undefined
  #lostAt: number | undefined
  readonly #waiters = new Set<Waiter>()
  readonly #history: Sample[] = []
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #again = false
  #searchMs = SEARCH_FIRST_MS
  #stopped = false
  rounds = 0
  failovers = 0
  /** From losing the primary to electing the next, ms, for the last failover. */
  lastFailoverMs: number | undefined
  #firstRound: Promise<void>
  #firstRoundDone!: () => void

  constructor(members: readonly ClusterMember[], options: ResolvedPgClusterOptions) {
    this.members = members
    this.#o = options
    this.#firstRound = new Promise((r) => {
      this.#firstRoundDone = r
    })
  }

  get primary(): ClusterMember | undefined {
    return this.#primary
  }

  /** Since when there has been no primary (performance.now()), while there is none. */
  get searchingSince(): number | undefined {
    return this.#primary === undefined ? this.#lostAt : undefined
  }

  start(): void {
    this.hint()
  }

  /** Resolves after the first probe round. */
  firstRound(): Promise<void> {
    return this.#firstRound
  }

  /** Probe again now (coalesced with a round in progress). */
  hint(): void {
    if (this.#stopped) return
    if (this.#running !== undefined) {
      this.#again = true
      return
    }
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#running = this.#round().finally(() => {
      this.#running = undefined
      this.#firstRoundDone()
      if (this.#stopped) return
      if (this.#again) {
        this.#again = false
        this.hint()
      } else this.#schedule()
    })
  }

  /** A call to `m` failed the way a lost primary fails: stop sending it writes until a round says. */
  lost(m: ClusterMember): void {
    if (m !== this.#primary) return
    this.#primary = undefined
    this.#lostAt ??= performance.now()
    this.hint()
  }

  /**
   * The primary, now or once one is elected.
   * @throws PgNoPrimaryError after `deadline` (performance.now() ms); QueryAbortedError when
   *   `signal` aborts; QueryTimeoutError when the call's own `timeoutMs` ends the wait
   */
  waitForPrimary(
    signal: AbortSignal | undefined,
    deadline: number,
    callTimeoutMs: number | undefined,
    started: number,
  ): Promise<ClusterMember> {
    if (this.#primary !== undefined) return Promise.resolve(this.#primary)
    if (signal?.aborted) return Promise.reject(new QueryAbortedError(signal.reason))
    return new Promise<ClusterMember>((resolve, reject) => {
      const done = () => {
        this.#waiters.delete(w)
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      const w: Waiter = {
        resolve: (m) => {
          done()
          resolve(m)
        },
        reject: (err) => {
          done()
          reject(err)
        },
      }
      const onAbort = () => w.reject(new QueryAbortedError(signal?.reason))
      signal?.addEventListener('abort', onAbort, { once: true })
      // Ref'ed: a caller waiting is owed an answer by its deadline.
      const timer = setTimeout(
        () => {
          const byCall = callTimeoutMs !== undefined && started + callTimeoutMs <= deadline
          w.reject(
            byCall
              ? new QueryTimeoutError(callTimeoutMs)
              : new PgNoPrimaryError(this.#o.name, performance.now() - started, this.describe()),
          )
        },
        Math.max(0, deadline - performance.now()),
      )
      this.#waiters.add(w)
    })
  }

  /** Each host as the last round saw it, for errors: `127.0.0.1:5432 down (connection refused)`. */
  describe(): string[] {
    return this.members.map((m) => {
      if (m.up === false) return `${m.key} down (${m.lastError ?? 'no answer'})`
      if (m.up === undefined) return `${m.key} not probed yet`
      return `${m.key} ${m.role === 'standby' ? 'a standby' : m.readOnly ? 'read-only' : m.role}`
    })
  }

  /** Stops probing and fails every waiter with `err`. */
  stop(err: unknown): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#firstRoundDone()
    for (const w of [...this.#waiters]) w.reject(err)
  }

  /** Resolves once a round in progress has ended. */
  async settled(): Promise<void> {
    await this.#running
  }

  #schedule(): void {
    let ms = this.#o.probePeriodMs
    if (this.#primary === undefined) {
      ms = Math.min(ms, this.#searchMs)
      this.#searchMs = Math.min(SEARCH_MAX_MS, this.#searchMs * 2)
    } else this.#searchMs = SEARCH_FIRST_MS
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.hint()
    }, ms)
    this.#timer.unref()
  }

  async #round(): Promise<void> {
    const seen = await Promise.all(
      this.members.map((m) =>
        m.probe(this.#o.probeTimeoutMs).then(
          (o): [ClusterMember, HostObservation | undefined] => [m, o],
          (err: unknown): [ClusterMember, HostObservation | undefined] => {
            m.lastError = (err as Error)?.message ?? String(err)
            return [m, undefined]
          },
        ),
      ),
    )
    if (this.#stopped) return
    // Names that now resolve elsewhere retire the connections to where they pointed.
    await Promise.all(this.members.map((m) => m.checkAddresses(this.#o.probeTimeoutMs)))
    if (this.#stopped) return
    this.rounds++
    for (const [m, o] of seen) {
      m.up = o !== undefined
      if (o === undefined) continue
      m.lastError = undefined
      m.last = o
      m.role = o.standby ? 'standby' : 'primary'
      m.readOnly = o.readOnly
    }
    this.#elect()
    this.#measureLag()
  }

  #elect(): void {
    const writable = (m: ClusterMember) => m.up === true && m.role === 'primary' && !m.readOnly
    const current = this.#primary
    if (current !== undefined && writable(current)) return
    if (current !== undefined) {
      // It went away or turned read-only: its connections are dead or read-only now.
      this.#primary = undefined
      this.#lostAt ??= performance.now()
      current.pool.reset()
    }
    const next = this.members.find(writable)
    if (next === undefined) {
      if (this.#lastPrimary !== undefined) this.#lostAt ??= performance.now()
      return
    }
    const before = this.#lastPrimary
    if (before !== undefined && before !== next) {
      this.failovers++
      next.promotions++
      this.lastFailoverMs = this.#lostAt === undefined ? 0 : performance.now() - this.#lostAt
      before.pool.reset()
      this.#history.length = 0
    }
    this.#primary = next
    this.#lastPrimary = next
    this.#lostAt = undefined
    for (const w of [...this.#waiters]) w.resolve(next)
  }

  #measureLag(): void {
    const p = this.#primary
    const now = performance.now()
    if (p?.last?.currentLsn !== undefined && p.up === true) {
      this.#history.push({ t: p.last.sentAt, lsn: p.last.currentLsn })
      const keep = now - (this.#o.maxReplicaLagMs + 3 * this.#o.probePeriodMs)
      // Keep one sample older than the window: it bounds a replica that is further behind still.
      while (this.#history.length > 2 && this.#history[1]!.t < keep) this.#history.shift()
      if (this.#history.length > 10_000) this.#history.shift()
    }
    for (const m of this.members) {
      if (m === p) {
        m.lagBytes = 0
        m.lagMs = 0
        m.inRotation = false
        continue
      }
      const replay = m.up === true && m.role === 'standby' ? m.last?.replayLsn : undefined
      if (replay === undefined) {
        m.inRotation = false
        if (m.up !== true || m.role !== 'standby') {
          m.lagBytes = undefined
          m.lagMs = undefined
        }
        continue
      }
      const h = this.#history
      const latest = h[h.length - 1]
      if (latest === undefined || p === undefined) {
        // No primary now (or none seen yet): nothing to measure against. With none, no newer
        // writes exist either, so a replica keeps its last lag (and its place) through a failover.
        m.inRotation = m.lagMs !== undefined && m.lagMs <= this.#o.maxReplicaLagMs
        continue
      }
      if (replay >= latest.lsn) {
        m.lagBytes = 0
        m.lagMs = 0
      } else {
        m.lagBytes = walDistance(latest.lsn, replay)
        let since: number | undefined
        for (let i = h.length - 1; i >= 0; i--) {
          if (h[i]!.lsn <= replay) {
            since = h[i]!.t
            break
          }
        }
        // Behind every sample kept: at least as far as the oldest, or the replay timestamp's age.
        m.lagMs =
          since === undefined ? Math.max(now - h[0]!.t, m.last?.replayAgeMs ?? 0) : Math.max(0, now - since)
      }
      m.inRotation = m.lagMs <= this.#o.maxReplicaLagMs
    }
  }
}
