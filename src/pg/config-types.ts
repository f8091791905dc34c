/**
 * The types of `berth/pg`'s configuration layer (config.ts): the options a Postgres pool takes,
 * and the frozen configuration they resolve to (client settings on one side, pool settings on the
 * other).
 */
import type { ClientConfig } from 'pg'
import type { PgSslFiles, PgSslMode } from './config-ssl.js'

export type { PgSslFiles, PgSslMode }

/** libpq's `target_session_attrs` values. */
export type PgTargetSessionAttrs =
  | 'any'
  | 'read-write'
  | 'read-only'
  | 'primary'
  | 'standby'
  | 'prefer-standby'

/** One server of a host list. */
export interface PgHost {
  readonly host: string
  readonly port: number
}

/** A password, or a function called before each connect (for rotating tokens such as IAM auth). */
export type PgPassword = string | (() => string | Promise<string>)

/**
 * Settings of a Postgres pool, all optional. Each has a connection-string twin (in parentheses)
 * and some an environment variable; see `docs/pg-configuration.md`. Durations are milliseconds
 * (a number; `Infinity` turns a limit off) or a Go duration string such as `'1h30m'`.
 * Keys this layer does not know are passed through untouched in {@link ResolvedPgConfig.extra}.
 */
export interface PgConfigOptions {
  /**
   * Server host name, IP address or Unix socket directory (`host`, `PGHOST`). Default
   * `'localhost'`. A comma list (`'pg-a,pg-b'`) names several servers, tried as libpq tries them
   * (see `targetSessionAttrs`, `loadBalanceHosts`).
   */
  host?: string
  /**
   * Server port, 1..65535 (`port`, `PGPORT`). Default 5432. With several hosts: one port for all,
   * or a comma list with one entry per host (an empty entry is 5432), as in libpq.
   */
  port?: number | string
  /**
   * Which server of a host list a connection must reach (`target_session_attrs`,
   * `PGTARGETSESSIONATTRS`), as in libpq: `'any'` (default), `'read-write'`, `'read-only'`,
   * `'primary'`, `'standby'`, or `'prefer-standby'` (a standby, else any server).
   */
  targetSessionAttrs?: PgTargetSessionAttrs
  /**
   * Order in which the hosts are tried (`load_balance_hosts`, `PGLOADBALANCEHOSTS`): `'disable'`
   * (default: as listed) or `'random'` (shuffled for every connection).
   */
  loadBalanceHosts?: 'disable' | 'random'
  /** User name (`user`, `PGUSER`). Default: the `USER` (or `USERNAME`) environment variable. */
  user?: string
  /**
   * Password, or a function returning one before each connect (`password`, `PGPASSWORD`). Default
   * none. Never shown in errors, `inspect` or JSON.
   */
  password?: PgPassword
  /** Database name (`dbname`, `PGDATABASE`). Default: the user name, as libpq. */
  database?: string
  /**
   * TLS policy (`sslmode`, `PGSSLMODE`). Default `'prefer'`, or `'verify-full'` when `sslrootcert`
   * is `'system'`. Mapped onto node-postgres's `ssl`:
   * - `disable`, `allow`, `prefer`: no TLS. node-postgres cannot retry with or without TLS, and a
   *   default must work with a server that has no TLS; ask for `require` or stronger to encrypt.
   * - `require`: encrypted, certificate not verified (as libpq); with `sslrootcert` it acts as
   *   `verify-ca`, as libpq does.
   * - `verify-ca`: the chain is verified against `sslrootcert` (required), the host name is not.
   * - `verify-full`: chain and host name verified, against `sslrootcert` or the system CAs.
   */
  sslmode?: PgSslMode
  /**
   * File of trusted CA certificates, or `'system'` for the system store (`sslrootcert`,
   * `PGSSLROOTCERT`). Read lazily, at each connect, so a rotated file is picked up. Default none.
   */
  sslrootcert?: string
  /** Client certificate file (`sslcert`, `PGSSLCERT`). Read lazily at each connect. Default none. */
  sslcert?: string
  /** Client private key file (`sslkey`, `PGSSLKEY`). Read lazily at each connect. Default none. */
  sslkey?: string
  /** node-postgres `ssl` options used as-is, replacing what `sslmode` and the `ssl*` files would give. */
  ssl?: ClientConfig['ssl']
  /** `application_name` reported to the server (`application_name`, `PGAPPNAME`). Default none. */
  applicationName?: string
  /**
   * Server-side `statement_timeout` (`statement_timeout`): milliseconds, or a string in Postgres
   * syntax (`'5s'`, `'1min'`, a bare number = ms). 0 = the server's default. Default not set.
   */
  statementTimeout?: number | string
  /**
   * Time allowed to open a connection (`connect_timeout` in seconds, `PGCONNECT_TIMEOUT`): ms or a
   * Go duration. 0 or `Infinity` = no limit. Default no limit (as libpq).
   */
  connectTimeout?: number | string
  /** Command-line options sent to the server, e.g. `'-c search_path=app'` (`options`, `PGOPTIONS`). Default none. */
  options?: string
  /** Most connections at once (`pool_max_conns`). Default `max(4, os.availableParallelism())`, as pgxpool. */
  maxConns?: number
  /** Connections opened at start and kept (`pool_min_conns`). Default 0. */
  minConns?: number
  /** Idle connections kept ready (`pool_min_idle_conns`). Default 0. */
  minIdleConns?: number
  /** Age after which a connection is closed, once released (`pool_max_conn_lifetime`). Default 1 hour. */
  maxConnLifetime?: number | string
  /**
   * Up to this much random extra lifetime per connection (`pool_max_conn_lifetime_jitter`). Default
   * 10% of `maxConnLifetime` (6 minutes for the default hour). pgxpool defaults to 0; berth jitters
   * by default so that connections opened together (at start, after a failover) do not all retire
   * and reconnect in the same instant.
   */
  maxConnLifetimeJitter?: number | string
  /** Idle time after which a connection above `minConns` is closed (`pool_max_conn_idle_time`). Default 30 minutes. */
  maxConnIdleTime?: number | string
  /** Period of the background health check (`pool_health_check_period`). Default 1 minute. */
  healthCheckPeriod?: number | string
}

/** The node-postgres client settings: pass to `new pg.Client(config)`. `password` is non-enumerable. */
export type PgClientConfig = Readonly<
  Pick<
    ClientConfig,
    | 'host'
    | 'port'
    | 'user'
    | 'password'
    | 'database'
    | 'ssl'
    | 'application_name'
    | 'statement_timeout'
    | 'connectionTimeoutMillis'
    | 'options'
  >
>

/** Pool settings in milliseconds, named as in berth's core `PoolOptions`. */
export interface PgPoolSettings {
  /** From `maxConns`. */
  readonly max: number
  /** From `minConns`. */
  readonly min: number
  /** From `minIdleConns`. */
  readonly minIdle: number
  /** From `maxConnLifetime`, ms; `Infinity` = never retire. */
  readonly maxLifetimeMs: number
  /** From `maxConnLifetimeJitter`, ms. */
  readonly maxLifetimeJitterMs: number
  /** From `maxConnIdleTime`, ms; `Infinity` = never. */
  readonly maxIdleMs: number
  /** From `healthCheckPeriod`, ms; `Infinity` = off. */
  readonly healthCheckPeriodMs: number
}

/**
 * A validated, frozen configuration. Its `toString()`, `toJSON()` and `util.inspect` form mask the
 * password; `client.password` is non-enumerable, so spreading `client` drops it (pass `client`
 * itself to node-postgres).
 */
export interface ResolvedPgConfig {
  /** `client.host` and `client.port` are those of the first host. */
  readonly client: PgClientConfig
  /** Every host to try, in the order given (at least one). */
  readonly hosts: readonly PgHost[]
  readonly targetSessionAttrs: PgTargetSessionAttrs
  readonly loadBalanceHosts: 'disable' | 'random'
  readonly pool: PgPoolSettings
  /** The sslmode in effect (after defaults), before its mapping onto `client.ssl`. */
  readonly sslmode: PgSslMode
  readonly sslFiles: PgSslFiles
  /** Option keys this layer does not handle, untouched, for the pool layer to validate. */
  readonly extra: Readonly<Record<string, unknown>>
  toJSON(): Record<string, unknown>
  toString(): string
}

export type PgEnv = Readonly<Record<string, string | undefined>>
