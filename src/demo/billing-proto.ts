/**
 * The billing service of the demo. It is defined in code (protobufjs' JSON form, handed to
 * proto-loader's `fromJSON`) rather than in a .proto file: `tsc` copies no .proto files to dist/,
 * and the wire format stays real protobuf, so grpcurl and other clients can call it. The
 * equivalent .proto:
 *
 * ```proto
 * syntax = "proto3";
 * package billing;
 *
 * service Billing {
 *   rpc FindInvoice (FindInvoiceRequest) returns (Invoice);
 *   rpc Transfer (TransferRequest) returns (TransferReply);
 * }
 * message FindInvoiceRequest { int64 id = 1; }
 * message Invoice {
 *   int64 id = 1; int64 account_id = 2; int64 total_cents = 3; string currency = 4;
 *   string created_at = 5;   // ISO 8601
 *   string served_by = 6;    // the backend's id
 * }
 * message TransferRequest {
 *   string transfer_id = 1;  // idempotency key (a UUID): a retried transfer is applied once
 *   int64 from_account = 2; int64 to_account = 3; int64 cents = 4;
 * }
 * message TransferReply {
 *   string transfer_id = 1;
 *   bool applied = 2;        // false when this id had been applied before (a retry)
 *   string served_by = 3;
 * }
 * ```
 */
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

/** Full name of the service, as in method paths (`/billing.Billing/Transfer`). */
export const BILLING_SERVICE = 'billing.Billing'

const DESCRIPTOR: Parameters<typeof protoLoader.fromJSON>[0] = {
  nested: {
    billing: {
      nested: {
        Billing: {
          methods: {
            FindInvoice: { requestType: 'FindInvoiceRequest', responseType: 'Invoice', comment: '' },
            Transfer: { requestType: 'TransferRequest', responseType: 'TransferReply', comment: '' },
          },
        },
        FindInvoiceRequest: { fields: { id: { type: 'int64', id: 1 } } },
        Invoice: {
          fields: {
            id: { type: 'int64', id: 1 },
            accountId: { type: 'int64', id: 2 },
            totalCents: { type: 'int64', id: 3 },
            currency: { type: 'string', id: 4 },
            createdAt: { type: 'string', id: 5 },
            servedBy: { type: 'string', id: 6 },
          },
        },
        TransferRequest: {
          fields: {
            transferId: { type: 'string', id: 1 },
            fromAccount: { type: 'int64', id: 2 },
            toAccount: { type: 'int64', id: 3 },
            cents: { type: 'int64', id: 4 },
          },
        },
        TransferReply: {
          fields: {
            transferId: { type: 'string', id: 1 },
            applied: { type: 'bool', id: 2 },
            servedBy: { type: 'string', id: 3 },
          },
        },
      },
    },
  },
}

export interface FindInvoiceRequest {
  id: number
}

export interface Invoice {
  id: number
  accountId: number
  totalCents: number
  currency: string
  createdAt: string
  servedBy: string
}

export interface TransferRequest {
  transferId: string
  fromAccount: number
  toAccount: number
  cents: number
}

export interface TransferReply {
  transferId: string
  applied: boolean
  servedBy: string
}

type Callback<R> = (err: grpc.ServiceError | null, reply?: R) => void

/** The client class of billing.Billing (a grpc.Client subclass, as proto-loader makes it). */
export interface BillingClient extends grpc.Client {
  findInvoice(
    request: FindInvoiceRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: Callback<Invoice>,
  ): grpc.ClientUnaryCall
  transfer(
    request: TransferRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: Callback<TransferReply>,
  ): grpc.ClientUnaryCall
}

export type BillingClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => BillingClient

/** Server-side handlers of billing.Billing. */
export interface BillingHandlers extends grpc.UntypedServiceImplementation {
  findInvoice: grpc.handleUnaryCall<FindInvoiceRequest, Invoice>
  transfer: grpc.handleUnaryCall<TransferRequest, TransferReply>
}

let loaded: grpc.ServiceClientConstructor | undefined

function load(): grpc.ServiceClientConstructor {
  if (loaded === undefined) {
    // longs as Numbers: every id and amount of the demo is far below 2^53.
    const definition = protoLoader.fromJSON(DESCRIPTOR, { keepCase: false, longs: Number, defaults: true })
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      billing: { Billing: grpc.ServiceClientConstructor }
    }
    loaded = pkg.billing.Billing
  }
  return loaded
}

/** The billing.Billing client constructor, for `channelPool.client(...)`. */
export function billingClientConstructor(): BillingClientConstructor {
  return load() as unknown as BillingClientConstructor
}

/** The billing.Billing service definition, for `server.addService`. */
export function billingServiceDefinition(): grpc.ServiceDefinition {
  return load().service
}
