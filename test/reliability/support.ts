/**
 * Helpers shared by the reliability scenarios (test/reliability/*.test.ts): a tracker that knows
 * about every call a scenario makes and how it ended, a bounded load loop, process-level fault
 * listeners, and short-lived admin connections to read pg_stat_activity.
 */
import type { TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { BerthError } from '../../src/core/errors.js'
import { PgError } from '../../src/pg/index.js'
import { until } from '../support/until.js'

/** How one tracked call ended. */
export interface CallRecord {
  readonly kind: string
  /** performance.now() at the start and at the end (undefined while pending). */
  readonly startedAt: number
  endedAt: number | undefined
  ok: boolean
  error: unknown
}

/**
 * Counts every call a scenario starts and how it ended, with a settled flag per call, so a test can
 * assert that none was left pending and that every failure was a typed error.
 */
export class CallTracker {
  readonly records: CallRecord[] = []
  #pending = 0

  /** Calls that have not settled yet. */
  get pending(): number {
    return this.#pending
  }

  get started(): number {
    return this.records.length
  }

  get ok(): number {
    return this.records.filter((r) => r.ok).length
  }

  get failures(): CallRecord[] {
    return this.records.filter((r) => r.endedAt !== undefined && !r.ok)
  }

  /** Runs `fn` as one tracked call; never rejects (the outcome is in the record). */
  async track(kind: string, fn: () => Promise<unknown>): Promise<CallRecord> {
    const record: CallRecord = {
      kind,
      startedAt: performance.now(),
      endedAt: undefined,
      ok: false,
      error: undefined,
    }
    this.records.push(record)
    this.#pending++
    try {
      await fn()
      record.ok = true
    } catch (err) {
      record.error = err
    } finally {
      record.endedAt = performance.now()
      this.#pending--
    }
    return record
  }

  /** Calls in flight at `at` (started before, not ended before). */
  inFlightAt(at: number): number {
    return this.records.filter((r) => r.startedAt <= at && (r.endedAt === undefined || r.endedAt >= at))
      .length
  }

  /** Waits (bounded) until no call is pending; resolves to the number still pending at the deadline. */
  async settle(timeoutMs: number): Promise<number> {
    await until(() => this.#pending === 0, timeoutMs).catch(() => {})
    return this.#pending
  }

  /** Failure counts by error code (`code`, plus the SQLSTATE for a PgError), for messages and figures. */
  failureCodes(): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const r of this.failures) {
      const key = codeOf(r.error)
      counts[key] = (counts[key] ?? 0) + 1
    }
    return counts
  }
}

/** `BERTH_PG_QUERY/57P01` for a server error, the BerthError code otherwise, `untyped:<name>` else. */
export function codeOf(err: unknown): string {
  if (err instanceof PgError) return `${err.code}/${err.sqlState}`
  if (err instanceof BerthError) return err.code
  return `untyped:${err instanceof Error ? err.name : typeof err}`
}

/** Failures that are not BerthErrors (what a scenario must never produce), as readable strings. */
export function untypedFailures(tracker: CallTracker): string[] {
  return tracker.failures
    .filter((r) => !(r.error instanceof BerthError))
    .map((r) => `${r.kind}: ${String(r.error)}`)
}

export interface LoadOptions {
  /** Concurrent workers. Default 8. */
  workers?: number
  /** Stop starting calls after this many ms, whatever happens. Default 20000. */
  maxMs?: number
  /** Stop starting calls after this many in all. Default 100000. */
  maxCalls?: number
  /** A worker whose call failed waits this long before the next one, so fail-fast does not spin. Default 10. */
  pauseOnFailureMs?: number
}

/** A running load: workers calling `call` in a loop until `stop()` or a bound is reached. */
export interface Load {
  stop(): Promise<void>
}

/** Starts a bounded load loop; every call goes through `tracker`. */
export function startLoad(
  tracker: CallTracker,
  call: (worker: number, n: number) => { kind: string; run: () => Promise<unknown> },
  options: LoadOptions = {},
): Load {
  const { workers = 8, maxMs = 20_000, maxCalls = 100_000, pauseOnFailureMs = 10 } = options
  const deadline = performance.now() + maxMs
  let stopped = false
  const worker = async (w: number) => {
    for (let n = 0; !stopped && tracker.started < maxCalls && performance.now() < deadline; n++) {
      const { kind, run } = call(w, n)
      const record = await tracker.track(kind, run)
      if (!record.ok) await sleep(pauseOnFailureMs)
    }
  }
  const running = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)))
  return {
    async stop() {
      stopped = true
      await running
    },
  }
}

/** Records `unhandledRejection` and `uncaughtException` while a scenario runs; removed after the test. */
export function watchProcessFaults(t: TestContext): { readonly events: string[] } {
  const events: string[] = []
  const onRejection = (reason: unknown) => events.push(`unhandledRejection: ${String(reason)}`)
  const onException = (err: unknown) => events.push(`uncaughtException: ${String(err)}`)
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  t.after(() => {
    process.off('unhandledRejection', onRejection)
    process.off('uncaughtException', onException)
  })
  return { events }
}

/** An application_name unique to this process and scenario, to find the pool's backends. */
export function appName(scenario: string): string {
  return `berth_rel_${scenario}_${process.pid}`
}

/** Runs one statement on a short-lived connection of its own (not through the pool under test). */
export async function adminQuery<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  client.on('error', () => undefined) // a test helper must not crash the run on a late socket error
  await client.connect()
  try {
    return (await client.query<R>(text, params)).rows
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** Backends with this application_name, as pg_stat_activity sees them. */
export async function countBackends(url: string, application: string, where = 'true'): Promise<number> {
  const rows = await adminQuery<{ n: number }>(
    url,
    `select count(*)::int as n from pg_stat_activity where application_name = $1 and ${where}`,
    [application],
  )
  return rows[0]?.n ?? 0
}

/**
 * Prints one scenario's figures as a test diagnostic (`# figures <scenario>: k=v ...`), which the
 * spec reporter shows under the test; docs/reliability/pg.md is written from these lines.
 */
export function figures(t: TestContext, scenario: string, values: Record<string, unknown>): void {
  const text = Object.entries(values)
    .map(
      ([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(0) : JSON.stringify(v)}`,
    )
    .join(' ')
  t.diagnostic(`figures ${scenario}: ${text}`)
}
