import { BerthError } from '../core/errors.js'

/** Thrown when a test PgBouncer cannot be set up; the message carries the tail of its log. */
export class PgBouncerError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }, code = 'BERTH_TEST_PGBOUNCER_START') {
    super(code, message, options)
  }
}

/** Thrown when there is no runnable `pgbouncer` executable; tests turn this into a skip. */
export class PgBouncerNotInstalledError extends PgBouncerError {
  constructor(message: string) {
    super(message, undefined, 'BERTH_TEST_PGBOUNCER_NOT_INSTALLED')
  }
}
