/**
 * Turns whatever a command threw into one printable line and an exit status. The cause chain is
 * searched for the error that says what went wrong (a CreateFailedError's cause is the refused
 * login; a PgConnectionError's cause is the socket error), and every known secret is scrubbed from
 * the line, whatever produced it.
 */
import { CliError } from './cli-error.js'
import { ExitCode, type ExitCodeValue } from './exit-codes.js'

/** What the CLI prints for a failure. */
export interface ClassifiedError {
  readonly exitCode: ExitCodeValue
  /** One line, without the password. */
  readonly message: string
}

/** Facts that make a message actionable, and the texts it must never contain. */
export interface ErrorContext {
  /** The server as it may be shown: `user@host:port/database`, no password. */
  readonly target?: string
  /** Passwords (raw and decoded) and anything else that must not be printed. */
  readonly secrets?: readonly string[]
}

interface ErrorLike {
  readonly name?: unknown
  readonly code?: unknown
  readonly sqlState?: unknown
  readonly message?: unknown
  readonly cause?: unknown
}

const MAX_DEPTH = 8

/** Classifies `err` by the most specific error in its cause chain. */
export function classifyError(err: unknown, context: ErrorContext = {}): ClassifiedError {
  const c = classifyChain(err, context.target === undefined ? 'the server' : context.target)
  return { exitCode: c.exitCode, message: scrub(oneLine(c.message), context.secrets ?? []) }
}

function classifyChain(err: unknown, target: string): ClassifiedError {
  const chain = causes(err)
  for (const e of chain) {
    if (e instanceof CliError) return { exitCode: e.exitCode, message: e.message }
  }
  for (const e of chain) {
    const x = e as ErrorLike
    if (x.code === 'BERTH_PG_CONFIG') {
      return { exitCode: ExitCode.badUrl, message: `bad connection URL: ${text(x.message)}` }
    }
    if (typeof x.sqlState === 'string' && x.code === 'BERTH_PG_QUERY') return fromSqlState(x, target)
    if (x.code === 'BERTH_PG_CONNECTION') return fromConnection(chain, target)
  }
  for (const e of chain) {
    const x = e as ErrorLike
    if (x.code === 'ERR_MODULE_NOT_FOUND') {
      const pkg = /Cannot find package '([^']+)'/.exec(text(x.message))?.[1]
      if (pkg !== undefined) {
        return {
          exitCode: ExitCode.missingPackage,
          message: `this command needs the package '${pkg}', which is not installed: npm install ${pkg}`,
        }
      }
    }
    if (x.code === 'BERTH_ACQUIRE_TIMEOUT') {
      return {
        exitCode: ExitCode.unreachable,
        message: `cannot connect to ${target}: no connection within the time allowed (${text(x.message).split(' (')[0]})`,
      }
    }
  }
  const first = chain[0] as ErrorLike | undefined
  return {
    exitCode: ExitCode.internal,
    message: `internal error (a bug in berth, please report it): ${text(first?.name)}: ${text(first?.message ?? err)}`,
  }
}

function fromSqlState(e: ErrorLike, target: string): ClassifiedError {
  const state = String(e.sqlState)
  const message = text(e.message)
  if (state === '28P01') {
    return {
      exitCode: ExitCode.loginRefused,
      message: `login refused by ${target}: ${message} (check the password in the URL or PGPASSWORD)`,
    }
  }
  if (state === '28000') {
    return {
      exitCode: ExitCode.loginRefused,
      message: `login refused by ${target}: ${message} (check the user name and the server's pg_hba.conf)`,
    }
  }
  if (state === '3D000') {
    return { exitCode: ExitCode.loginRefused, message: `login refused by ${target}: ${message}` }
  }
  if (state === '53300' || state.startsWith('08') || state === '57P03') {
    return {
      exitCode: ExitCode.unreachable,
      message: `cannot connect to ${target}: ${message} (SQLSTATE ${state})`,
    }
  }
  return {
    exitCode: ExitCode.serverRefused,
    message: `the server refused a statement: ${message} (SQLSTATE ${state})`,
  }
}

const SOCKET_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (is PostgreSQL running and listening on that host and port?)',
  ENOTFOUND: 'unknown host name',
  EAI_AGAIN: 'the host name could not be resolved (DNS)',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'the connection was reset',
  ENOENT: 'no Unix socket at that path (is PostgreSQL running?)',
}

function fromConnection(chain: readonly unknown[], target: string): ClassifiedError {
  let reason: string | undefined
  for (const e of chain) {
    const x = e as ErrorLike
    if (typeof x.code === 'string' && SOCKET_REASONS[x.code] !== undefined) {
      reason = SOCKET_REASONS[x.code]
      break
    }
  }
  const last = chain[chain.length - 1] as ErrorLike
  const detail = text(last.message)
  if (reason === undefined) {
    if (/timeout/i.test(detail)) reason = `no answer within the connect timeout (${detail})`
    else reason = detail.replace(/^Connection to PostgreSQL failed: /, '')
  }
  return { exitCode: ExitCode.unreachable, message: `cannot connect to ${target}: ${reason}` }
}

function causes(err: unknown): unknown[] {
  const out: unknown[] = []
  let e: unknown = err
  while (e !== undefined && e !== null && out.length < MAX_DEPTH && !out.includes(e)) {
    out.push(e)
    e = (e as ErrorLike).cause
  }
  return out
}

function text(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Error) return value.message
  return String(value)
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim()
}

/** Replaces every secret in `s`; secrets shorter than 3 characters are left (they would mangle words). */
export function scrub(s: string, secrets: readonly string[]): string {
  let out = s
  const sorted = [...new Set(secrets)].filter((x) => x.length >= 3).sort((a, b) => b.length - a.length)
  for (const secret of sorted) out = out.split(secret).join('*****')
  return out
}
