/**
 * Checks the options of `startPgBouncer`, `findPgBouncer` and `startPostgres` before anything is
 * spawned or written, so that a wrong option is an `InvalidOptionError` naming it rather than a
 * TypeError from deep inside, or a server that fails to start for an unclear reason. The password
 * is never shown.
 */
import { InvalidOptionError } from '../core/errors.js'

const POOL_MODES: readonly string[] = ['session', 'transaction', 'statement']

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function optionalPositiveInt(option: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 1)) {
    throw new InvalidOptionError(option, value, 'an integer >= 1')
  }
}

function optionalPositiveMs(option: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'number' || Number.isNaN(value) || value <= 0)) {
    throw new InvalidOptionError(option, value, 'a duration in milliseconds > 0')
  }
}

function optionalFunction(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function')
    throw new InvalidOptionError(option, value, 'a function')
}

function optionalSettings(option: string, value: unknown): void {
  if (value === undefined) return
  if (!isObject(value)) throw new InvalidOptionError(option, value, 'an object of name: value settings')
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw new InvalidOptionError(`${option}[${JSON.stringify(name)}]`, v, 'a string or a number')
    }
  }
}

/** `binary` of `findPgBouncer` and `startPgBouncer`: undefined, or a non-empty path. */
export function checkPgBouncerBinary(option: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    throw new InvalidOptionError(option, value, 'the path of a pgbouncer executable')
  }
}

export function checkStartPgBouncerOptions(options: unknown): void {
  if (!isObject(options)) {
    throw new InvalidOptionError('options', options, 'an object { postgres, poolMode, ... }')
  }
  const target = options.postgres
  if (!isObject(target)) {
    throw new InvalidOptionError('postgres', target, 'an object { host, port, user, password, database? }')
  }
  if (typeof target.host !== 'string' || target.host === '') {
    throw new InvalidOptionError('postgres.host', target.host, 'a non-empty host name or IP address')
  }
  const port = target.port
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidOptionError('postgres.port', port, 'an integer port from 1 to 65535')
  }
  if (typeof target.user !== 'string' || target.user === '') {
    throw new InvalidOptionError('postgres.user', target.user, 'a non-empty user name')
  }
  if (typeof target.password !== 'string' || target.password === '') {
    throw new InvalidOptionError('postgres.password', target.password, 'a non-empty string', {
      hideValue: true,
    })
  }
  if (target.database !== undefined && (typeof target.database !== 'string' || target.database === '')) {
    throw new InvalidOptionError('postgres.database', target.database, 'a non-empty database name')
  }
  if (typeof options.poolMode !== 'string' || !POOL_MODES.includes(options.poolMode)) {
    throw new InvalidOptionError('poolMode', options.poolMode, "'session', 'transaction' or 'statement'")
  }
  optionalPositiveInt('defaultPoolSize', options.defaultPoolSize)
  optionalPositiveInt('maxClientConn', options.maxClientConn)
  optionalSettings('extra', options.extra)
  checkPgBouncerBinary('binary', options.binary)
  optionalFunction('onLog', options.onLog)
  optionalPositiveMs('startTimeoutMs', options.startTimeoutMs)
}

export function checkStartPostgresOptions(options: unknown): void {
  if (!isObject(options)) throw new InvalidOptionError('options', options, 'an object')
  optionalSettings('postgresFlags', options.postgresFlags)
  optionalFunction('onLog', options.onLog)
  optionalPositiveMs('startTimeoutMs', options.startTimeoutMs)
}
