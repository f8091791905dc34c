/**
 * Maps libpq's `sslmode` and certificate files onto node-postgres's `ssl` option, keeping libpq's
 * meaning of each mode where node-postgres can express it.
 */
import { readFileSync } from 'node:fs'
import type { ClientConfig } from 'pg'
import { type Source, fromSource, isObject, text } from './config-source.js'
import { PgConfigError } from './errors.js'

const SSL_MODES: readonly string[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']

/** The settings this file reads. */
export type SslKey = 'sslmode' | 'sslrootcert' | 'sslcert' | 'sslkey' | 'ssl'

/**
 * libpq's `sslmode`. node-postgres cannot fall back between TLS and plaintext within one connect, so
 * `allow` and `prefer` both connect without TLS (see `PgConfigOptions.sslmode` in config.ts).
 */
export type PgSslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'

/** Certificate files named by the settings; they are read at each connect, not here. */
export interface PgSslFiles {
  readonly rootcert?: string
  readonly cert?: string
  readonly key?: string
}

/** What JSON and inspect show of `ssl`: our own object describes itself, a caller's is not shown. */
export function summariseSsl(ssl: ClientConfig['ssl']): unknown {
  if (typeof ssl !== 'object' || ssl === null) return ssl ?? false
  // Our own ssl object describes itself; a caller's may hold a private key, so it is not shown.
  const toJSON = (ssl as { toJSON?: unknown }).toJSON
  return typeof toJSON === 'function' ? toJSON.call(ssl) : '(custom ssl options)'
}

/** Maps sslmode and the certificate files onto node-postgres's `ssl`, as libpq would behave. */
export function resolveSsl(pick: (key: SslKey) => Source | undefined): {
  ssl: ClientConfig['ssl']
  mode: PgSslMode
  files: PgSslFiles
} {
  const rootcert = text(pick('sslrootcert'), false)
  const cert = text(pick('sslcert'), false)
  const key = text(pick('sslkey'), false)
  const files: PgSslFiles = Object.freeze({
    ...(rootcert === undefined ? {} : { rootcert }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  })
  const modeSource = pick('sslmode')
  const system = rootcert === 'system'
  let mode: PgSslMode = system ? 'verify-full' : 'prefer'
  if (modeSource !== undefined) {
    if (typeof modeSource.value !== 'string' || !SSL_MODES.includes(modeSource.value)) {
      throw fromSource(modeSource, `expected one of ${SSL_MODES.join(', ')}`)
    }
    mode = modeSource.value as PgSslMode
    if (system && mode !== 'verify-full') {
      throw fromSource(modeSource, 'sslrootcert=system requires sslmode=verify-full, as in libpq')
    }
  }
  if (mode === 'verify-ca' && rootcert === undefined) {
    throw fromSource(
      modeSource!,
      'verify-ca needs sslrootcert, the CA that signed the server certificate; use verify-full to trust the system CAs',
    )
  }
  const explicit = pick('ssl')
  if (explicit !== undefined) {
    const v = explicit.value
    if (typeof v !== 'boolean' && !isObject(v))
      throw fromSource(explicit, 'expected a boolean or tls options')
    return { ssl: v as ClientConfig['ssl'], mode, files }
  }
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return { ssl: false, mode, files }

  const ssl: Record<string, unknown> = {}
  const verifyChain = mode !== 'require' || (rootcert !== undefined && !system)
  const summary: Record<string, unknown> = {
    sslmode: mode,
    verifyChain,
    verifyHostName: mode === 'verify-full',
  }
  if (!verifyChain) ssl.rejectUnauthorized = false
  if (verifyChain && mode !== 'verify-full') ssl.checkServerIdentity = () => undefined
  if (rootcert !== undefined && !system) lazyFile(ssl, 'ca', rootcert, 'sslrootcert', true)
  if (cert !== undefined) lazyFile(ssl, 'cert', cert, 'sslcert', true)
  // Non-enumerable like node-postgres does it, which also lets node-postgres's own
  // `defineProperty(ssl, 'key', { enumerable: false })` succeed on this frozen object.
  if (key !== undefined) lazyFile(ssl, 'key', key, 'sslkey', false)
  Object.defineProperty(ssl, 'toJSON', { value: () => ({ ...summary, ...files }), enumerable: false })
  return { ssl: Object.freeze(ssl) as ClientConfig['ssl'], mode, files }
}

function lazyFile(target: object, prop: string, path: string, field: string, enumerable: boolean): void {
  Object.defineProperty(target, prop, {
    enumerable,
    get(): string {
      try {
        return readFileSync(path, 'utf8')
      } catch (err) {
        const why = (err as { code?: unknown }).code ?? 'unreadable'
        throw new PgConfigError(field, path, `could not read the file (${String(why)})`, { cause: err })
      }
    },
  })
}
