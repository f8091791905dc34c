import { BerthError, InvalidOptionError, type OptionErrorFacts } from '../core/errors.js'

/** The fields of a server error (ErrorResponse) that node-postgres exposes. */
interface ServerErrorFields {
  code?: string
  severity?: string
  detail?: string
  hint?: string
  position?: string
  internalPosition?: string
  internalQuery?: string
  where?: string
  schema?: string
  table?: string
  column?: string
  dataType?: string
  constraint?: string
  routine?: string
}

/**
 * An error the PostgreSQL server reported for a query, with the SQLSTATE (`sqlState`) and the
 * server's detail, hint, position and the object it concerns. `cause` is node-postgres' error.
 * What to do: branch on `sqlState` (23505 unique_violation, say); `retryable` (or
 * {@link isRetryable}) tells whether running the same work again may succeed.
 */
export class PgError extends BerthError {
  /** The five-character SQLSTATE, e.g. '23505' (unique_violation). */
  readonly sqlState: string
  readonly severity: string | undefined
  readonly detail: string | undefined
  readonly hint: string | undefined
  /** 1-based character position in the query text, as a string (as the server sends it). */
  readonly position: string | undefined
  readonly where: string | undefined
  readonly schema: string | undefined
  readonly table: string | undefined
  readonly column: string | undefined
  readonly dataType: string | undefined
  readonly constraint: string | undefined
  readonly routine: string | undefined

  constructor(fields: ServerErrorFields & { message: string }, cause: unknown) {
    super('BERTH_PG_QUERY', fields.message, { cause })
    this.sqlState = fields.code ?? ''
    this.severity = fields.severity
    this.detail = fields.detail
    this.hint = fields.hint
    this.position = fields.position
    this.where = fields.where
    this.schema = fields.schema
    this.table = fields.table
    this.column = fields.column
    this.dataType = fields.dataType
    this.constraint = fields.constraint
    this.routine = fields.routine
  }

  /** Whether running the same work again may succeed; see {@link isRetryable}. */
  get retryable(): boolean {
    return isRetryableSqlState(this.sqlState)
  }
}

/**
 * The connection to the server failed or broke (not an error the server reported for a query):
 * refused, reset, terminated, a TLS failure. `cause` is node-postgres' error. What to do: retry
 * the work (it is always {@link isRetryable}), unless it was a write that may have committed.
 */
export class PgConnectionError extends BerthError {
  constructor(message: string, cause: unknown) {
    super('BERTH_PG_CONNECTION', message, { cause })
  }
}

/**
 * SQLSTATEs after which trying again can succeed: connection exceptions (class 08), admin
 * shutdown and crash recovery (57P01-57P03), too many connections (53300), serialization failure
 * (40001) and deadlock (40P01).
 */
export function isRetryableSqlState(sqlState: string): boolean {
  return (
    sqlState.startsWith('08') ||
    sqlState === '57P01' ||
    sqlState === '57P02' ||
    sqlState === '57P03' ||
    sqlState === '53300' ||
    sqlState === '40001' ||
    sqlState === '40P01'
  )
}

/**
 * node-postgres refused a statement's arguments before sending it: a bug in the calling code, not
 * a broken connection, so never retryable. `option` names the argument (`text` or `params`),
 * `expected` is node-postgres' message; the value is never shown (it is user data). What to do:
 * pass the SQL text as a string and the parameters as an array. An {@link InvalidOptionError}.
 */
export class PgArgumentError extends InvalidOptionError {
  declare readonly option: 'text' | 'params'

  protected static override formatMessage(facts: OptionErrorFacts): string {
    return `Invalid query ${facts.option}: ${facts.expected}`
  }

  constructor(option: 'text' | 'params', message: string, cause: unknown) {
    super(option, undefined, message, { hideValue: true, cause })
  }
}

/** Errors node-postgres raises, without a server round trip, for arguments it cannot send. */
const ARGUMENT_ERRORS: readonly (readonly [string, 'text' | 'params'])[] = [
  ['Query values must be an array', 'params'],
  ['A query must have either text or a name', 'text'],
]

/** Whether an error from berth/pg is worth retrying: a retryable SQLSTATE or a broken connection. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof PgError) return err.retryable
  if (err instanceof PgConnectionError) return true
  if (err instanceof PgFailoverError || err instanceof PgNoPrimaryError) return true
  return false
}

/**
 * Wraps node-postgres' errors: server errors become PgError, arguments it refuses PgArgumentError,
 * socket errors PgConnectionError.
 */
export function toPgError(err: unknown): unknown {
  if (err instanceof BerthError) return err
  if (err instanceof Error) {
    const fields = err as Error & ServerErrorFields
    if (typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code) && 'severity' in fields) {
      return new PgError({ ...fields, message: err.message }, err)
    }
    for (const [prefix, option] of ARGUMENT_ERRORS) {
      if (err.message.startsWith(prefix)) return new PgArgumentError(option, err.message, err)
    }
    return new PgConnectionError(`Connection to PostgreSQL failed: ${err.message}`, err)
  }
  return err
}

/**
 * A statement was in flight on the primary when it went away (shut down, unreachable, or turned
 * read-only: a failover). It was **not** re-sent, and whether it took effect is unknown: a write
 * may have committed just before. `host` is the server it was sent to, `cause` the connection's
 * error. Always retryable ({@link isRetryable}). What to do: retry work that is safe to repeat, or
 * use `db.tx(fn, { retries })`, which re-runs the whole transaction.
 */
export class PgFailoverError extends BerthError {
  readonly host: string
  readonly retryable = true

  constructor(host: string, cause: unknown) {
    super(
      'BERTH_PG_FAILOVER',
      `The primary ${host} went away while the statement was in flight (${(cause as Error)?.message ?? String(cause)}); it was not re-sent`,
      { cause },
    )
    this.host = host
  }
}

/**
 * No server of the cluster took writes within the wait (`failoverTimeout`, the call's `timeoutMs`
 * or its signal): every host was down, a standby, or read-only. `hosts` says what each one was
 * last seen as. The statement was never sent, so it is always safe to retry.
 */
export class PgNoPrimaryError extends BerthError {
  readonly hosts: readonly string[]
  readonly retryable = true

  constructor(cluster: string, waitedMs: number, hosts: readonly string[], cause?: unknown) {
    super(
      'BERTH_PG_NO_PRIMARY',
      `Cluster '${cluster}': no primary after ${Math.round(waitedMs)} ms (${hosts.join('; ')}); the statement was not sent`,
      { cause },
    )
    this.hosts = hosts
  }
}

/** A serialization failure or a deadlock: `tx()` with `retries` runs the function again. */
export function retryableTxError(err: unknown): boolean {
  return err instanceof PgError && (err.sqlState === '40001' || err.sqlState === '40P01')
}
