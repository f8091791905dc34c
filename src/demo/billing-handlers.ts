/**
 * The billing handlers (seed 001's FindInvoice and Transfer) on berth/pg, and how their errors map
 * to gRPC statuses. The mapping is what makes the client side heal: a broken connection or a
 * terminated backend process is UNAVAILABLE, which the channel pool's retry policy tries again on
 * another attempt; a pool that cannot lend a connection in time is RESOURCE_EXHAUSTED, which it
 * does not retry (retrying would only add load to a saturated pool). A statement a failover cut
 * (PgFailoverError) or a wait for a primary that ran out (PgNoPrimaryError) is UNAVAILABLE too.
 * FindInvoice reads through `db.read` (the standby, when there is one in rotation); Transfer
 * writes on the primary.
 */
import * as grpc from '@grpc/grpc-js'
import { BerthError } from '../core/errors.js'
import type { PgCluster } from '../pg/pg-cluster.js'
import { PgError, isRetryable } from '../pg/pg-error.js'
import type {
  BillingHandlers,
  FindInvoiceRequest,
  Invoice,
  TransferReply,
  TransferRequest,
} from './billing-proto.js'
import { BillingError } from './errors.js'
import { BILLING_SCHEMA } from './schema.js'

/** Serialization failures and deadlocks are run again this many times before the call fails. */
export const TRANSFER_RETRIES = 3

const FIND_INVOICE = `SELECT id, account_id, total_cents, currency, created_at
  FROM ${BILLING_SCHEMA}.invoices WHERE id = $1`
const RECORD_TRANSFER = `INSERT INTO ${BILLING_SCHEMA}.transfers (id, from_account, to_account, cents)
  VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING id`
const MOVE = `UPDATE ${BILLING_SCHEMA}.accounts SET balance_cents = balance_cents + $1 WHERE id = $2`
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

interface InvoiceRow {
  id: string
  account_id: string
  total_cents: string
  currency: string
  created_at: Date
}

/**
 * The handlers of one backend. `servedBy` goes into every reply; `onServed` runs once per call,
 * when it has been answered (successfully or not).
 */
export function billingHandlers(db: PgCluster, servedBy: string, onServed: () => void): BillingHandlers {
  return {
    findInvoice(
      call: grpc.ServerUnaryCall<FindInvoiceRequest, Invoice>,
      callback: grpc.sendUnaryData<Invoice>,
    ) {
      findInvoice(db, call.request, servedBy).then(
        (invoice) => answer(callback, onServed, null, invoice),
        (err: unknown) => answer(callback, onServed, toServiceError(err)),
      )
    },
    transfer(
      call: grpc.ServerUnaryCall<TransferRequest, TransferReply>,
      callback: grpc.sendUnaryData<TransferReply>,
    ) {
      // A caller that gave up (deadline, cancel) cancels the wait for a connection and the statement.
      const abort = new AbortController()
      call.once('cancelled', () => abort.abort(new BillingError(grpc.status.CANCELLED, 'call cancelled')))
      transfer(db, call.request, servedBy, abort.signal).then(
        (reply) => answer(callback, onServed, null, reply),
        (err: unknown) => answer(callback, onServed, toServiceError(err)),
      )
    },
  }
}

function answer<R>(
  callback: grpc.sendUnaryData<R>,
  onServed: () => void,
  err: Partial<grpc.StatusObject> | null,
  reply?: R,
): void {
  onServed()
  callback(err, reply)
}

async function findInvoice(db: PgCluster, request: FindInvoiceRequest, servedBy: string): Promise<Invoice> {
  const id = request.id
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new BillingError(grpc.status.INVALID_ARGUMENT, `invoice id must be a positive integer, got ${id}`)
  }
  // A read, for a replica; plain statement, no signal: berth/pg pipelines it over a shared connection.
  const row = await db.read.queryRow<InvoiceRow>(FIND_INVOICE, [id])
  if (row === null) throw new BillingError(grpc.status.NOT_FOUND, `no invoice ${id}`)
  return {
    id: Number(row.id),
    accountId: Number(row.account_id),
    totalCents: Number(row.total_cents),
    currency: row.currency,
    createdAt: row.created_at.toISOString(),
    servedBy,
  }
}

async function transfer(
  db: PgCluster,
  request: TransferRequest,
  servedBy: string,
  signal: AbortSignal,
): Promise<TransferReply> {
  const { transferId, fromAccount, toAccount, cents } = request
  if (!UUID.test(transferId)) {
    throw new BillingError(grpc.status.INVALID_ARGUMENT, 'transfer_id must be a UUID')
  }
  for (const [name, value] of [
    ['from_account', fromAccount],
    ['to_account', toAccount],
    ['cents', cents],
  ] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new BillingError(grpc.status.INVALID_ARGUMENT, `${name} must be a positive integer`)
    }
  }
  if (fromAccount === toAccount) {
    throw new BillingError(grpc.status.INVALID_ARGUMENT, 'from_account and to_account must differ')
  }
  // The lower account id is updated first, so two opposite transfers never lock in opposite orders.
  const moves: [number, number][] =
    fromAccount < toAccount
      ? [
          [-cents, fromAccount],
          [cents, toAccount],
        ]
      : [
          [cents, toAccount],
          [-cents, fromAccount],
        ]
  const applied = await db.tx(
    async (tx) => {
      const fresh = await tx.queryRow(RECORD_TRANSFER, [transferId, fromAccount, toAccount, cents])
      if (fresh === null) return false // a retry of a transfer that did commit
      for (const [delta, account] of moves) {
        if ((await tx.exec(MOVE, [delta, account])) === 0) {
          throw new BillingError(grpc.status.NOT_FOUND, `no account ${account}`)
        }
      }
      return true
    },
    { isolation: 'serializable', retries: TRANSFER_RETRIES, signal },
  )
  return { transferId, applied, servedBy }
}

/** The gRPC status a handler answers for an error. */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  return { code: statusOf(err), details: err instanceof Error ? err.message : String(err) }
}

function statusOf(err: unknown): grpc.status {
  if (err instanceof BillingError) return err.grpcStatus
  if (err instanceof PgError) {
    if (err.sqlState === '23514') return grpc.status.FAILED_PRECONDITION // the balance would go below 0
    if (err.sqlState === '40001' || err.sqlState === '40P01') return grpc.status.ABORTED // still conflicting
  }
  if (err instanceof BerthError) {
    switch (err.code) {
      case 'BERTH_ACQUIRE_TIMEOUT':
      case 'BERTH_QUEUE_FULL':
        return grpc.status.RESOURCE_EXHAUSTED
      case 'BERTH_ACQUIRE_ABORTED':
      case 'BERTH_QUERY_ABORTED':
        return grpc.status.CANCELLED
      case 'BERTH_QUERY_TIMEOUT':
        return grpc.status.DEADLINE_EXCEEDED
      case 'BERTH_POOL_CLOSED':
      case 'BERTH_POOL_DESTROYED':
      case 'BERTH_CREATE_FAILED':
      case 'BERTH_PG_CLUSTER_CLOSED':
        return grpc.status.UNAVAILABLE
    }
  }
  // Broken connections, terminated server processes (57P01), too many connections.
  if (isRetryable(err)) return grpc.status.UNAVAILABLE
  return grpc.status.INTERNAL
}
