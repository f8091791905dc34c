/**
 * The contenders of `berth bench` and `npm run bench:pg`, each a pool of at most `size`
 * connections on the same target with the same settings and otherwise its library's defaults:
 * berth/pg pipelined and not, node-postgres' pg.Pool (pg-pool), and postgres.js when it is
 * installed (it is optional: its row says n/a otherwise).
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type pg from 'pg'
import type { Row, Workload } from './bench-workloads.js'
import { BenchLibraryUnavailableError } from './cli-error.js'
import { type PgTarget, openPool } from './pg-target.js'

export const LIBRARY_NAMES = ['berth', 'berth-nopipe', 'pg-pool', 'postgres.js'] as const
export type LibraryName = (typeof LIBRARY_NAMES)[number]

/** One pool of one library, for one run. */
export interface BenchClient {
  /** One call of `workload` with `params`, as the library is normally called. */
  run(workload: Workload, params: unknown[] | undefined): Promise<readonly Row[]>
  /** Graceful close. */
  close(): Promise<unknown>
  /** Forced close, when `close` did not finish in time. */
  destroy(): Promise<unknown>
}

export interface BenchLibrary {
  readonly name: LibraryName
  readonly label: string
  /** Why it cannot be measured here, when it cannot. */
  readonly unavailable?: string
  make(): Promise<BenchClient>
}

export interface ClientSettings {
  readonly size: number
  /** application_name of the bench's sessions, so that they can be counted on the server. */
  readonly applicationName: string
  /**
   * Connect timeout, ms. Default: each library's own (none for pg.Pool, whose timeout also arms a
   * timer for every call queued for a connection, which is part of what is measured).
   */
  readonly connectTimeoutMs?: number
}

/** Loads the libraries `names`, in that order; one that is not installed comes back unavailable. */

export async function loadLibraries(
  target: PgTarget,
  names: readonly LibraryName[],
  settings: ClientSettings,
): Promise<BenchLibrary[]> {
  const out: BenchLibrary[] = []
  for (const name of names) {
    if (name === 'berth' || name === 'berth-nopipe')
      out.push(await berthLibrary(target, settings, name === 'berth'))
    else if (name === 'pg-pool') out.push(await pgPoolLibrary(target, settings))
    else out.push(await postgresJsLibrary(target, settings))
  }
  return out
}

async function berthLibrary(target: PgTarget, s: ClientSettings, pipeline: boolean): Promise<BenchLibrary> {
  // The pool is created now to load berth/pg and check the options, and closed again.
  await (await makeBerth(target, s, pipeline)).destroy()
  return {
    name: pipeline ? 'berth' : 'berth-nopipe',
    label: `berth (pipeline: ${pipeline})`,
    async make() {
      const db = await makeBerth(target, s, pipeline)
      return {
        async run(workload, params) {
          return (await db.query(workload.text, params)).rows
        },
        close: () => db.close({ timeoutMs: 10_000 }),
        destroy: () => db.destroy(),
      }
    },
  }
}

function makeBerth(target: PgTarget, s: ClientSettings, pipeline: boolean) {
  return openPool(target, {
    name: pipeline ? 'bench-berth' : 'bench-berth-nopipe',
    maxConns: s.size,
    minConns: 0,
    minIdleConns: 0,
    pipeline,
    budgetCheck: false,
    applicationName: s.applicationName,
    ...(s.connectTimeoutMs === undefined ? {} : { connectTimeout: s.connectTimeoutMs }),
  })
}

async function pgPoolLibrary(target: PgTarget, s: ClientSettings): Promise<BenchLibrary> {
  const { default: driver } = (await import('pg')) as { default: typeof pg }
  const client = target.config.client
  return {
    name: 'pg-pool',
    label: `pg-pool ${packageVersion('pg-pool')} (pg ${packageVersion('pg')})`,
    async make() {
      const options: pg.PoolConfig = {
        ...client,
        application_name: s.applicationName,
        ...(s.connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: s.connectTimeoutMs }),
        max: s.size,
      }
      // The resolved password is non-enumerable, so the spread above left it out; pg.Pool hides it again.
      Object.defineProperty(options, 'password', { value: client.password, enumerable: false })
      const pool = new driver.Pool(options)
      pool.on('error', () => {}) // an idle client's error must not crash the bench
      return {
        async run(workload, params) {
          return (await pool.query(workload.text, params)).rows as Row[]
        },
        close: () => pool.end(),
        destroy: () => pool.end(),
      }
    },
  }
}

/**
 * postgres.js in its normal mode: tagged templates, which it sends as named prepared statements
 * (`prepare: true` is its default), so it parses each statement once per connection. A tagged
 * template cannot reuse a parameter, so a `$1` that stands twice is sent twice (the ten-row select
 * becomes `between $1 and $2 + 9`).
 */
async function postgresJsLibrary(target: PgTarget, s: ClientSettings): Promise<BenchLibrary> {
  let postgres: typeof import('postgres')
  try {
    postgres = (await import('postgres')).default
  } catch {
    return {
      name: 'postgres.js',
      label: 'postgres.js',
      unavailable: 'not installed (npm install postgres to compare with it)',
      make: () => Promise.reject(new BenchLibraryUnavailableError('postgres.js')),
    }
  }
  const c = target.config.client
  return {
    name: 'postgres.js',
    label: `postgres.js ${packageVersion('postgres')}`,
    async make() {
      const sql = postgres({
        host: c.host,
        port: c.port,
        user: c.user,
        pass: c.password as string | (() => string | Promise<string>) | undefined,
        database: c.database,
        ssl: c.ssl as boolean | object,
        max: s.size,
        ...(s.connectTimeoutMs === undefined
          ? {}
          : { connect_timeout: Math.ceil(s.connectTimeoutMs / 1000) }),
        connection: { application_name: s.applicationName },
        onnotice: () => {},
      })
      return {
        run(workload, params) {
          const { strings, slots } = workload.template
          return sql(strings, ...slots.map((i) => params![i] as never))
        },
        close: () => sql.end({ timeout: 5 }),
        destroy: () => sql.end({ timeout: 0 }),
      }
    },
  }
}

/** The installed version of a package, for the report; '?' when it cannot be found. */
function packageVersion(name: string): string {
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve(name)))
    for (let i = 0; i < 6; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
          name?: string
          version?: string
        }
        if (pkg.name === name && typeof pkg.version === 'string') return pkg.version
      } catch {
        // no package.json at this level
      }
      dir = dirname(dir)
    }
  } catch {
    // not resolvable
  }
  return '?'
}
