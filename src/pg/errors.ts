/**
 * Errors of `berth/pg`. They extend core's `BerthError`, so `err.code` is stable and `instanceof
 * BerthError` catches every error berth throws. Errors of a query (`PgError`, `PgConnectionError`,
 * `PgArgumentError`) are in `pg-error.ts`, those of its signal and timeout in `pg-query.ts`.
 */
import { BerthError, InvalidOptionError, type OptionErrorFacts } from '../core/errors.js'

/**
 * A Postgres setting had a wrong type or an out-of-range value. Thrown by `resolvePgConfig` (and so
 * by `createPgPool` and `new Pool()`), so a bad connection string fails when the pool is built,
 * never on the first query; a missing `sslrootcert`/`sslcert`/`sslkey` file fails that connect.
 *
 * `field` names the setting as the user wrote it, which also tells where it came from:
 * `pool_max_conns` (connection string), `maxConns` (options object), `PGPORT` (environment).
 * `value` is the value at fault, unless it may contain a password: then `value` is `undefined`,
 * `hidden` is true and the message says the value was withheld.
 *
 * What to do: correct the setting the message names, where `field` says it came from. It is an
 * {@link InvalidOptionError} with its own code, `BERTH_PG_CONFIG`.
 */
export class PgConfigError extends InvalidOptionError {
  /** The setting as the user wrote it; the same as `option`. */
  readonly field: string
  /** What was wrong, without the value: `'expected an integer >= 1'`; the same as `expected`. */
  readonly reason: string

  protected static override readonly errorCode = 'BERTH_PG_CONFIG'

  protected static override formatMessage(facts: OptionErrorFacts): string {
    const shown = facts.hidden ? '(value withheld: it may contain the password)' : facts.shown
    return `Invalid Postgres setting ${facts.option}: ${shown} (${facts.expected})`
  }

  constructor(
    field: string,
    value: unknown,
    reason: string,
    options?: { cause?: unknown; hidden?: boolean },
  ) {
    super(field, value, reason, { hideValue: options?.hidden === true, cause: options?.cause })
    this.field = field
    this.reason = reason
  }
}

/**
 * A statement that would leave session state (SET, LISTEN, PREPARE, temporary objects, session
 * advisory locks) was refused with `pgbouncer: 'transaction'`, where PgBouncer hands the server
 * connection to other clients after each transaction. What to do: use `SET LOCAL` (and the like)
 * inside `db.tx()`, or connect to PgBouncer in session mode.
 */
export class SessionStateError extends BerthError {
  constructor() {
    super(
      'BERTH_PG_SESSION_STATE',
      "This statement leaves session state (SET, LISTEN, PREPARE, temporary objects, session locks) that PgBouncer in transaction mode would hand to other clients (pgbouncer: 'transaction'); use SET LOCAL inside db.tx()",
    )
  }
}

/**
 * `BEGIN` (or `START TRANSACTION`) was sent through the pool (`db.query`), where each call may run
 * on another connection, so the transaction would not hold. What to do: use `db.tx(fn)`, or
 * `db.acquire()` and run the whole transaction on that connection.
 */
export class UseTxError extends BerthError {
  constructor() {
    super(
      'BERTH_PG_USE_TX',
      'A transaction cannot span pool-level calls, which may each run on another connection: use db.tx() or db.acquire()',
    )
  }
}

/**
 * A `PgTransaction` was used after its `tx()` callback returned (kept in a variable, or used by a
 * promise the callback did not await). What to do: await every query inside the callback.
 */
export class TransactionClosedError extends BerthError {
  constructor() {
    super('BERTH_TX_CLOSED', 'This transaction has ended: use it only inside its tx() callback')
  }
}

/**
 * A `PgConnection` from `db.acquire()` was used after `release()`. What to do: acquire a new
 * connection; keep each one to one `await using` block or one `try`/`finally`.
 */
export class ConnectionReleasedError extends BerthError {
  constructor() {
    super('BERTH_CONNECTION_RELEASED', 'This connection was released: acquire a new one')
  }
}

/**
 * A `PgConnection` cannot be trusted any more: an earlier query on it was aborted and did not stop
 * cleanly, or its reset on release failed. Thrown by the next query on it; it is also the reason
 * the pool destroys it on release. What to do: release it and acquire another; retrying there is
 * safe.
 */
export class ConnectionBrokenError extends BerthError {
  constructor(when: 'query' | 'release') {
    super(
      'BERTH_CONNECTION_BROKEN',
      when === 'query' ? 'This connection was broken by an earlier aborted query' : 'connection not reusable',
    )
  }
}

/**
 * `end()` of the pg.Pool-compatible `Pool` was called a second time (pg.Pool's own message and
 * code `BERTH_POOL_CLOSED`). What to do: end a pool once.
 */
export class CompatPoolEndedError extends BerthError {
  constructor() {
    super('BERTH_POOL_CLOSED', 'Called end on pool more than once')
  }
}

/**
 * `release()` of a `PoolClient` from the pg.Pool-compatible `Pool` was called a second time
 * (pg.Pool's own message, code `BERTH_LEASE_RELEASED`). What to do: release each client once.
 */
export class CompatClientReleasedError extends BerthError {
  constructor() {
    super('BERTH_LEASE_RELEASED', 'Release called on client which has already been released to the pool.')
  }
}

/**
 * The cluster is closing or closed: it takes no new work, and calls that were waiting for a
 * primary end with this. What to do: nothing at shutdown; otherwise use an open cluster.
 */
export class PgClusterClosedError extends BerthError {
  constructor(cluster: string, options?: { cause?: unknown }) {
    super('BERTH_PG_CLUSTER_CLOSED', `Cluster '${cluster}' is closed`, options)
  }
}
