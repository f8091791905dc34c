/**
 * The Postgres server a command works on: the URL resolved as berth/pg resolves it (so doctor
 * judges exactly what a pool would use), a printable name without the password, and the secrets to
 * scrub from anything printed.
 */
import { isIP } from 'node:net'
import type { PgConfigOptions, PgEnv, ResolvedPgConfig } from '../pg/config.js'
import { resolvePgConfig } from '../pg/config.js'
import { parseConnectionString } from '../pg/connection-string.js'
import type { PgPoolOptions } from '../pg/pg-pool-options.js'
import type { PgPool } from '../pg/pg-pool.js'
import type { ErrorContext } from './classify-error.js'

export interface PgTarget extends ErrorContext {
  /** As given; holds the password: never print it. */
  readonly url: string
  readonly config: ResolvedPgConfig
  /** `user@host:port/database`, no password. */
  readonly target: string
  readonly host: string
  readonly port: number
  /** Loopback address, `localhost` or a Unix socket: traffic never leaves the machine. */
  readonly local: boolean
  readonly secrets: readonly string[]
}

/**
 * Collects what must never be printed: the URL's password (raw and decoded), PGPASSWORD, and the
 * URL itself. Works on malformed URLs too, where the parser's answer is not available: then
 * everything between the scheme's first ':' and the last '@' counts as secret.
 */
export function secretsOf(url: string, env: PgEnv): string[] {
  const out = [url]
  try {
    out.push(...parseConnectionString(url).secrets)
  } catch {
    const start = url.indexOf(':', url.indexOf('://') + 3)
    const end = url.lastIndexOf('@')
    if (start >= 0 && end > start) {
      const raw = url.slice(start + 1, end)
      out.push(raw)
      try {
        out.push(decodeURIComponent(raw))
      } catch {
        // a malformed escape: the raw text is scrubbed already
      }
    }
  }
  const pw = env['PGPASSWORD']
  if (typeof pw === 'string' && pw !== '') out.push(pw)
  return out
}

/**
 * Resolves `url` with `options` (which win over the URL, as in berth/pg) and the PG* environment.
 *
 * @throws PgConfigError when the URL or a setting is invalid (the message never holds the password)
 */
export function resolveTarget(url: string, options: PgConfigOptions, env: PgEnv): PgTarget {
  const secrets = secretsOf(url, env)
  const config = resolvePgConfig(url, options, env)
  const host = config.client.host ?? 'localhost'
  const port = config.client.port ?? 5432
  const where = host.startsWith('/') ? `${host} (socket, port ${port})` : `${hostForUrl(host)}:${port}`
  return {
    url,
    config,
    target: `${config.client.user ?? ''}@${where}/${config.client.database ?? ''}`,
    host,
    port,
    local: isLocalHost(host),
    secrets,
  }
}

/** Whether `host` is a Unix socket directory, `localhost` or a loopback address. */
export function isLocalHost(host: string): boolean {
  if (host.startsWith('/')) return true
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  const family = isIP(h)
  if (family === 4) return h.startsWith('127.')
  if (family === 6) return h === '::1' || /^::ffff:127\./.test(h)
  return false
}

/** `host` as a URL writes it: an IPv6 address in brackets. */
export function hostForUrl(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host
}

/**
 * Opens a berth/pg pool on the target. berth/pg (and with it the `pg` package) is loaded here,
 * not at start, so that `berth --help` and `berth demo` work without `pg` installed.
 */
export async function openPool(target: PgTarget, options: PgPoolOptions): Promise<PgPool> {
  const { createPgPool } = await import('../pg/pg-pool.js')
  return createPgPool(target.url, options)
}
