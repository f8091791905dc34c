import { randomBytes } from 'node:crypto'
import { after } from 'node:test'
import pg from 'pg'
import { type PostgresServer, startPostgres } from '../../src/testing/index.js'

/** Where tests connect; `url` embeds the password, so never print it. */
export interface PostgresConnectionInfo {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: string
  readonly database: string
  readonly url: string
}

/** Set by `scripts/run-tests.ts` so every test process shares one server instead of starting its own. */
export const TEST_PG_URL_ENV = 'BERTH_TEST_PG_URL'

let ownServer: Promise<PostgresServer> | undefined
let databaseCounter = 0

// Registered at import time so it lands on the file's root test: a hook registered from inside a test
// would run (and destroy the shared server) as soon as that one test finished.
after(async () => {
  const server = await ownServer?.catch(() => undefined)
  await server?.destroy()
})

/**
 * The PostgreSQL server for this test run.
 *
 * Uses `BERTH_TEST_PG_URL` when the test runner provides one; otherwise (a single file run directly with
 * `node --import tsx --test`) starts a private server once per process, destroyed after the file's tests.
 */
export async function testPostgres(): Promise<PostgresConnectionInfo> {
  const shared = process.env[TEST_PG_URL_ENV]
  if (shared) return parsePostgresUrl(shared)
  ownServer ??= startPostgres().catch((error: unknown) => {
    ownServer = undefined
    throw error
  })
  const { host, port, user, password, database, url } = await ownServer
  return { host, port, user, password, database, url }
}

/**
 * Creates an empty database on the test server and returns its URL, so a test can own its data.
 *
 * `prefix` is only a readable hint: a pid/counter/random suffix is always appended, which keeps names
 * unique across parallel test processes sharing one server. Databases are not dropped; they disappear
 * with the server at the end of the run.
 */
export async function createDatabase(prefix = 'berth_test'): Promise<string> {
  const info = await testPostgres()
  const hint = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30)
  const name = `${hint}_${process.pid}_${++databaseCounter}_${randomBytes(3).toString('hex')}`
  const client = new pg.Client({ connectionString: info.url })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`)
  } finally {
    await client.end()
  }
  const url = new URL(info.url)
  url.pathname = `/${name}`
  return url.toString()
}

function parsePostgresUrl(raw: string): PostgresConnectionInfo {
  const url = new URL(raw)
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)) || 'postgres',
    url: raw,
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
