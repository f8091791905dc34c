/**
 * The configuration layer of `berth/pg`: turns a connection string, an options object and the libpq
 * environment variables into a frozen {@link ResolvedPgConfig}, with the node-postgres client
 * settings on one side and the pool settings (in milliseconds, named as in berth's core
 * `PoolOptions`) on the other. Precedence, highest first: options object, connection string (or the
 * first-argument object), environment, defaults.
 */
import { availableParallelism } from 'node:os'
import { inspect } from 'node:util'
import {
  type Source,
  connectTimeout,
  duration,
  fromSource,
  integer,
  isObject,
  pgMilliseconds,
  port,
  text,
} from './config-source.js'
import { type PgSslFiles, type PgSslMode, resolveSsl, summariseSsl } from './config-ssl.js'
import type {
  PgClientConfig,
  PgConfigOptions,
  PgEnv,
  PgHost,
  PgPassword,
  PgPoolSettings,
  PgTargetSessionAttrs,
  ResolvedPgConfig,
} from './config-types.js'
import { parseConnectionString } from './connection-string.js'
import { formatDuration } from './duration.js'
import { PgConfigError } from './errors.js'

export type { PgSslFiles, PgSslMode } from './config-ssl.js'
export type {
  PgClientConfig,
  PgConfigOptions,
  PgEnv,
  PgPassword,
  PgHost,
  PgPoolSettings,
  PgTargetSessionAttrs,
  ResolvedPgConfig,
} from './config-types.js'

const MASK = '*****'

/** Option keys handled here, with their connection-string and environment names. */
const KEYS = {
  host: ['host', 'PGHOST'],
  port: ['port', 'PGPORT'],
  user: ['user', 'PGUSER'],
  password: ['password', 'PGPASSWORD'],
  database: ['dbname', 'PGDATABASE'],
  sslmode: ['sslmode', 'PGSSLMODE'],
  sslrootcert: ['sslrootcert', 'PGSSLROOTCERT'],
  sslcert: ['sslcert', 'PGSSLCERT'],
  sslkey: ['sslkey', 'PGSSLKEY'],
  ssl: [undefined, undefined],
  applicationName: ['application_name', 'PGAPPNAME'],
  statementTimeout: ['statement_timeout', undefined],
  connectTimeout: ['connect_timeout', 'PGCONNECT_TIMEOUT'],
  options: ['options', 'PGOPTIONS'],
  targetSessionAttrs: ['target_session_attrs', 'PGTARGETSESSIONATTRS'],
  loadBalanceHosts: ['load_balance_hosts', 'PGLOADBALANCEHOSTS'],
  maxConns: ['pool_max_conns', undefined],
  minConns: ['pool_min_conns', undefined],
  minIdleConns: ['pool_min_idle_conns', undefined],
  maxConnLifetime: ['pool_max_conn_lifetime', undefined],
  maxConnLifetimeJitter: ['pool_max_conn_lifetime_jitter', undefined],
  maxConnIdleTime: ['pool_max_conn_idle_time', undefined],
  healthCheckPeriod: ['pool_health_check_period', undefined],
} as const satisfies Record<keyof PgConfigOptions, readonly [string | undefined, string | undefined]>

type Key = keyof typeof KEYS
const URL_TO_KEY = new Map<string, Key>(
  (Object.keys(KEYS) as Key[]).flatMap((k) => {
    const urlName = KEYS[k][0]
    return urlName === undefined ? [] : [[urlName, k] as const]
  }),
)

/**
 * Resolves a Postgres pool configuration.
 *
 * @param input a `postgres://` / `postgresql://` URL, or an object of {@link PgConfigOptions}, or
 *   nothing (environment and defaults only).
 * @param options {@link PgConfigOptions} that override `input`; unknown keys go to `extra`.
 * @param env the libpq environment variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
 *   `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`, `PGAPPNAME`,
 *   `PGCONNECT_TIMEOUT`, `PGOPTIONS`) and `USER`/`USERNAME`. Default `process.env`. Empty values
 *   count as unset.
 * @throws PgConfigError naming the field and the bad value; a value that may contain a password is
 *   withheld.
 */
export function resolvePgConfig(
  input?: string | PgConfigOptions,
  options?: PgConfigOptions,
  env: PgEnv = process.env,
): ResolvedPgConfig {
  const secrets: string[] = []
  try {
    return resolve(input, options, env, secrets)
  } catch (err) {
    throw scrub(err, secrets)
  }
}

function resolve(
  input: string | PgConfigOptions | undefined,
  options: PgConfigOptions | undefined,
  env: PgEnv,
  secrets: string[],
): ResolvedPgConfig {
  if (input !== undefined && typeof input !== 'string' && !isObject(input)) {
    throw new PgConfigError('connection string', input, 'expected a postgres:// URL or an options object')
  }
  if (options !== undefined && !isObject(options)) {
    throw new PgConfigError('options', options, 'expected an object')
  }
  if (!isObject(env)) {
    // Not shown: whatever was passed instead may hold PGPASSWORD.
    throw new PgConfigError(
      'env',
      undefined,
      'expected an object of environment variables, like process.env',
      {
        hidden: true,
      },
    )
  }
  for (const pw of [options?.password, isObject(input) ? input.password : undefined, env.PGPASSWORD]) {
    if (typeof pw === 'string' && pw !== '') secrets.push(pw)
  }
  const url = typeof input === 'string' ? parseConnectionString(input) : undefined
  if (url !== undefined) secrets.push(...url.secrets)
  for (const [name, param] of url?.params ?? []) {
    if (!URL_TO_KEY.has(name)) {
      // Never the value: a stray `?` or `&` may have made a password (or its tail) this parameter's value.
      throw new PgConfigError(
        param.field,
        undefined,
        `unknown connection string parameter; known: ${[...URL_TO_KEY.keys()].join(', ')}`,
        { hidden: true },
      )
    }
  }
  const objects = [options, isObject(input) ? input : undefined].filter(isObject) as Record<string, unknown>[]
  const extra: Record<string, unknown> = {}
  for (const object of objects.slice().reverse()) {
    for (const key of Object.keys(object)) {
      if (Object.hasOwn(KEYS, key)) continue
      const twin = URL_TO_KEY.get(key)
      if (twin !== undefined) {
        throw new PgConfigError(key, object[key], `a connection-string name; the option is ${twin}`)
      }
      if (key === 'connectionString') {
        throw new PgConfigError(key, undefined, 'pass the connection string as the first argument', {
          hidden: true,
        })
      }
      // defineProperty, not assignment: a `__proto__` key must stay a plain key.
      Object.defineProperty(extra, key, {
        value: object[key],
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
  }

  const pick = (key: Key): Source | undefined => {
    for (const object of objects) {
      if (object[key] !== undefined)
        return { field: key, value: object[key], hidden: key === 'password', from: 'options' }
    }
    const [urlName, envName] = KEYS[key]
    const param = urlName === undefined ? undefined : url?.params.get(urlName)
    if (param !== undefined)
      // The keyword, not `param.field`: a known name is safe to show even where a password may be.
      return { field: urlName!, value: param.value, hidden: param.hidden, from: 'url' }
    const fromEnv = envName === undefined ? undefined : env[envName]
    if (fromEnv !== undefined && fromEnv !== '') {
      return { field: envName!, value: fromEnv, hidden: key === 'password', from: 'env' }
    }
    return undefined
  }

  // Client settings.
  const hosts = hostList(pick('host'), pick('port'))
  const targetSessionAttrs = oneOf(pick('targetSessionAttrs'), TARGET_SESSION_ATTRS) ?? 'any'
  const loadBalanceHosts = oneOf(pick('loadBalanceHosts'), LOAD_BALANCE_HOSTS) ?? 'disable'
  const user = text(pick('user'), false) ?? nonEmpty(env.USER) ?? nonEmpty(env.USERNAME)
  const passwordSource = pick('password')
  let password: PgPassword | undefined
  if (passwordSource !== undefined) {
    const pw = passwordSource.value
    if (typeof pw !== 'string' && typeof pw !== 'function') {
      throw new PgConfigError(passwordSource.field, undefined, 'expected a string or a function', {
        hidden: true,
      })
    }
    password = pw as PgPassword
  }
  const client: Record<string, unknown> = {
    host: hosts[0]!.host,
    port: hosts[0]!.port,
    user,
    database: text(pick('database'), false) ?? user,
  }
  const applicationName = text(pick('applicationName'), true)
  if (applicationName !== undefined) client.application_name = applicationName
  const statementTimeout = pgMilliseconds(pick('statementTimeout'))
  if (statementTimeout !== undefined) client.statement_timeout = statementTimeout
  client.connectionTimeoutMillis = connectTimeout(pick('connectTimeout')) ?? 0
  const pgOptions = text(pick('options'), true)
  if (pgOptions !== undefined) client.options = pgOptions

  const tls = resolveSsl(pick)
  client.ssl = tls.ssl
  Object.defineProperty(client, 'password', { value: password, enumerable: false })
  // Even `inspect(client, { showHidden: true })` must not show the password.
  Object.defineProperty(client, inspect.custom, {
    value: (_depth: number, opts: object) => inspect(masked(client), opts),
    enumerable: false,
  })
  Object.freeze(client)

  // Pool settings.
  const maxSource = pick('maxConns')
  const max = integer(maxSource, 1) ?? Math.max(4, availableParallelism())
  const minSource = pick('minConns')
  const min = integer(minSource, 0) ?? 0
  if (min > max) throw fromSource(minSource!, `at most the max connections (${max})`)
  const minIdleSource = pick('minIdleConns')
  const minIdle = integer(minIdleSource, 0) ?? 0
  if (minIdle > max) throw fromSource(minIdleSource!, `at most the max connections (${max})`)
  const maxLifetimeMs = duration(pick('maxConnLifetime'), false) ?? 3_600_000
  const defaultJitter = Number.isFinite(maxLifetimeMs) ? maxLifetimeMs / 10 : 0
  const maxLifetimeJitterMs = duration(pick('maxConnLifetimeJitter'), true) ?? defaultJitter
  if (!Number.isFinite(maxLifetimeJitterMs)) {
    throw fromSource(pick('maxConnLifetimeJitter')!, 'expected a finite duration >= 0')
  }
  const pool: PgPoolSettings = Object.freeze({
    max,
    min,
    minIdle,
    maxLifetimeMs,
    maxLifetimeJitterMs,
    maxIdleMs: duration(pick('maxConnIdleTime'), false) ?? 1_800_000,
    healthCheckPeriodMs: duration(pick('healthCheckPeriod'), false) ?? 60_000,
  })

  return new Resolved(
    client as PgClientConfig,
    hosts,
    targetSessionAttrs,
    loadBalanceHosts,
    pool,
    tls.mode,
    tls.files,
    Object.freeze(extra),
  )
}

const TARGET_SESSION_ATTRS = [
  'any',
  'read-write',
  'read-only',
  'primary',
  'standby',
  'prefer-standby',
] as const
const LOAD_BALANCE_HOSTS = ['disable', 'random'] as const

/** One of `values`, as libpq spells them. */
function oneOf<const V extends readonly string[]>(
  source: Source | undefined,
  values: V,
): V[number] | undefined {
  if (source === undefined) return undefined
  if (!values.includes(source.value as string))
    throw fromSource(source, `expected one of ${values.join(', ')}`)
  return source.value as V[number]
}

/**
 * libpq's host list: hosts and ports as comma lists, one port for every host or one per host (an
 * empty entry is 5432), an empty host list `localhost`.
 */
function hostList(hostSource: Source | undefined, portSource: Source | undefined): readonly PgHost[] {
  const hostText = text(hostSource, false) ?? 'localhost'
  const names = hostText.split(',')
  if (names.some((h) => h === '')) throw fromSource(hostSource!, 'an empty entry in the host list')
  let ports: (number | undefined)[]
  if (portSource === undefined) ports = [undefined]
  else if (typeof portSource.value === 'string' && portSource.value.includes(',')) {
    ports = portSource.value.split(',').map((p) => (p === '' ? undefined : port({ ...portSource, value: p })))
  } else ports = [port(portSource)]
  if (ports.length !== 1 && ports.length !== names.length) {
    throw fromSource(portSource!, `expected one port, or one per host (${names.length})`)
  }
  return Object.freeze(
    names.map((host, i) => Object.freeze({ host, port: (ports.length === 1 ? ports[0] : ports[i]) ?? 5432 })),
  )
}

class Resolved implements ResolvedPgConfig {
  constructor(
    readonly client: PgClientConfig,
    readonly hosts: readonly PgHost[],
    readonly targetSessionAttrs: PgTargetSessionAttrs,
    readonly loadBalanceHosts: 'disable' | 'random',
    readonly pool: PgPoolSettings,
    readonly sslmode: PgSslMode,
    readonly sslFiles: PgSslFiles,
    readonly extra: Readonly<Record<string, unknown>>,
  ) {
    Object.freeze(this)
  }

  /** A JSON-safe summary: the password is masked, `ssl` is summarised, `extra` shows its keys only. */
  toJSON(): Record<string, unknown> {
    return {
      client: { ...masked(this.client), ssl: summariseSsl(this.client.ssl) },
      hosts: this.hosts.map((h) => `${h.host}:${h.port}`),
      targetSessionAttrs: this.targetSessionAttrs,
      loadBalanceHosts: this.loadBalanceHosts,
      pool: { ...this.pool },
      sslmode: this.sslmode,
      sslFiles: { ...this.sslFiles },
      extra: Object.keys(this.extra),
    }
  }

  /** A connection string with the password masked, for logs. */
  toString(): string {
    const c = this.client
    const auth =
      c.user === undefined
        ? ''
        : `${encodeURIComponent(c.user)}${c.password === undefined ? '' : `:${MASK}`}@`
    const hosts = this.hosts
      .map((h) => `${h.host.includes(':') ? `[${h.host}]` : encodeURIComponent(h.host)}:${h.port}`)
      .join(',')
    const p = this.pool
    const query = [
      ...(this.targetSessionAttrs === 'any' ? [] : [`target_session_attrs=${this.targetSessionAttrs}`]),
      ...(this.loadBalanceHosts === 'disable' ? [] : [`load_balance_hosts=${this.loadBalanceHosts}`]),
      `sslmode=${this.sslmode}`,
      `pool_max_conns=${p.max}`,
      `pool_min_conns=${p.min}`,
      `pool_min_idle_conns=${p.minIdle}`,
      `pool_max_conn_lifetime=${formatDuration(p.maxLifetimeMs)}`,
      `pool_max_conn_lifetime_jitter=${formatDuration(p.maxLifetimeJitterMs)}`,
      `pool_max_conn_idle_time=${formatDuration(p.maxIdleMs)}`,
      `pool_health_check_period=${formatDuration(p.healthCheckPeriodMs)}`,
    ]
    return `postgres://${auth}${hosts}/${encodeURIComponent(c.database ?? '')}?${query.join('&')}`
  }

  [inspect.custom](_depth: number, opts: object): string {
    return `ResolvedPgConfig ${inspect(this.toJSON(), opts)}`
  }
}

/** The client's enumerable settings, with `password` shown as a mask when one is set. */
function masked(client: PgClientConfig): Record<string, unknown> {
  return { ...client, ...(client.password === undefined ? {} : { password: MASK }) }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value
}

/** Last line of defence: an error that would echo a known password is rebuilt without its value. */
function scrub(err: unknown, secrets: readonly string[]): unknown {
  if (!(err instanceof PgConfigError) || secrets.length === 0) return err
  const leaks = (s: string): boolean => secrets.some((p) => s.includes(p))
  const valueText = typeof err.value === 'string' ? err.value : ''
  if (!leaks(err.message) && !leaks(valueText)) return err
  const field = leaks(err.field) ? 'connection string' : err.field
  return new PgConfigError(field, undefined, leaks(err.reason) ? 'invalid value' : err.reason, {
    hidden: true,
    cause: err.cause,
  })
}
