import { BerthError } from '../core/errors.js'

/**
 * Thrown by `startPgBouncer` when a test PgBouncer cannot be set up; the message carries the tail
 * of its log. What to do: read that log tail (a port in use, a bad `extra` setting, a refused login
 * to the target PostgreSQL).
 */
export class PgBouncerError extends BerthError {
  constructor(
    message: string,
    options?: { cause?: unknown },
    code: 'BERTH_TEST_PGBOUNCER_START' | 'BERTH_TEST_PGBOUNCER_NOT_INSTALLED' = 'BERTH_TEST_PGBOUNCER_START',
  ) {
    super(code, message, options)
  }
}

/**
 * Thrown by `startPgBouncer` and `findPgBouncer` when there is no runnable `pgbouncer` executable.
 * What to do: install PgBouncer (`apt-get install pgbouncer`) or pass `binary`; tests turn this
 * into a skip.
 */
export class PgBouncerNotInstalledError extends PgBouncerError {
  constructor(message: string) {
    super(message, undefined, 'BERTH_TEST_PGBOUNCER_NOT_INSTALLED')
  }
}
