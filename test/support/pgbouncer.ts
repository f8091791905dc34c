import { after } from 'node:test'
import {
  type PgBouncer,
  PgBouncerNotInstalledError,
  type PgBouncerPoolMode,
  type StartPgBouncerOptions,
  startPgBouncer,
} from '../../src/testing/index.js'
import { type PostgresConnectionInfo, testPostgres } from './postgres.js'

/** Where tests connect through PgBouncer; `url` and `adminUrl` embed the password, so never print them. */
export interface PgBouncerConnectionInfo extends PostgresConnectionInfo {
  readonly poolMode: PgBouncerPoolMode
  /** The admin console (database `pgbouncer`), for `SHOW POOLS` and friends; simple queries only. */
  readonly adminUrl: string
}

const shared = new Map<PgBouncerPoolMode, Promise<PgBouncer | undefined>>()
let reportedMissing = false

// Registered at import time so it lands on the file's root test, like the server in ./postgres.ts.
after(async () => {
  const bouncers = await Promise.all([...shared.values()].map((started) => started.catch(() => undefined)))
  await Promise.all(bouncers.map((bouncer) => bouncer?.destroy()))
})

/**
 * A PgBouncer in `poolMode` in front of the test PostgreSQL server (see `testPostgres()`), started once
 * per process and pool mode with PgBouncer's default pool sizes, and destroyed after the file's tests.
 *
 * Every database on the server is reachable through it, so `createDatabase()` URLs work once their host
 * and port are replaced. Returns `undefined`, after printing why, when pgbouncer is not installed: call
 * `t.skip()` then.
 */
export async function testPgBouncer(
  poolMode: PgBouncerPoolMode,
): Promise<PgBouncerConnectionInfo | undefined> {
  let started = shared.get(poolMode)
  if (!started) {
    started = startTestPgBouncer({ poolMode })
    shared.set(poolMode, started)
    started.catch(() => shared.delete(poolMode))
  }
  const bouncer = await started
  if (!bouncer) return undefined
  const { host, port, user, password, database, url, adminUrl } = bouncer
  return { host, port, user, password, database, url, adminUrl, poolMode }
}

/**
 * Starts a private PgBouncer in front of the test PostgreSQL server, e.g. with a tiny pool; the caller
 * destroys it. Returns `undefined`, after printing why, when pgbouncer is not installed.
 */
export async function startTestPgBouncer(
  options: Omit<StartPgBouncerOptions, 'postgres'>,
): Promise<PgBouncer | undefined> {
  const postgres = await testPostgres()
  try {
    return await startPgBouncer({ ...options, postgres })
  } catch (error) {
    if (!(error instanceof PgBouncerNotInstalledError)) throw error
    // CI installs pgbouncer (.ci/run): there, a missing binary is a broken set-up, not a skip.
    if (process.env.BERTH_TEST_REQUIRE_PGBOUNCER === '1') throw error
    if (!reportedMissing) {
      reportedMissing = true
      console.log(`# pgbouncer not found: skipping PgBouncer tests (${error.message})`)
    }
    return undefined
  }
}

/** The reason to pass to `t.skip()` when {@link testPgBouncer} returned `undefined`. */
export const PGBOUNCER_MISSING = 'pgbouncer is not installed'
