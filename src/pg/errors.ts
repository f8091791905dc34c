/**
 * Errors of `berth/pg`. They extend core's `BerthError`, so `err.code` is stable and `instanceof
 * BerthError` catches every error berth throws.
 */
import { BerthError, describe } from '../core/errors.js'

/**
 * A Postgres setting had a wrong type or an out-of-range value. Thrown by `resolvePgConfig`, so a
 * bad connection string fails when the pool is built, never on the first query.
 *
 * `field` names the setting as the user wrote it, which also tells where it came from:
 * `pool_max_conns` (connection string), `maxConns` (options object), `PGPORT` (environment).
 * `value` is the value at fault, unless it may contain a password: then `value` is `undefined`,
 * `hidden` is true and the message says the value was withheld.
 */
export class PgConfigError extends BerthError {
  readonly field: string
  readonly value: unknown
  /** What was wrong, without the value: `'expected an integer >= 1'`. */
  readonly reason: string
  /** True when the value was withheld from this error because it may contain a password. */
  readonly hidden: boolean

  constructor(
    field: string,
    value: unknown,
    reason: string,
    options?: { cause?: unknown; hidden?: boolean },
  ) {
    const hidden = options?.hidden === true
    const shown = hidden ? '(value withheld: it may contain the password)' : describe(value)
    super(
      'BERTH_PG_CONFIG',
      `Invalid Postgres setting ${field}: ${shown} (${reason})`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.field = field
    this.value = hidden ? undefined : value
    this.reason = reason
    this.hidden = hidden
  }
}
