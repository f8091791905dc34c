/** Typed errors of the demo: an action refused (with its HTTP status) and a billing call failed (with its gRPC status). */
import type { status as GrpcStatus } from '@grpc/grpc-js'
import { BerthError } from '../core/errors.js'

export type DemoActionErrorCode = 'BERTH_DEMO_NOT_FOUND' | 'BERTH_DEMO_CONFLICT' | 'BERTH_DEMO_BAD_REQUEST'

const HTTP_STATUS: Record<DemoActionErrorCode, number> = {
  BERTH_DEMO_NOT_FOUND: 404,
  BERTH_DEMO_CONFLICT: 409,
  BERTH_DEMO_BAD_REQUEST: 400,
}

/** A break-things action that cannot run: unknown backend, wrong state, bad body. */
export class DemoActionError extends BerthError {
  /** The HTTP status the demo's API answers with. */
  readonly httpStatus: number

  constructor(code: DemoActionErrorCode, message: string) {
    super(code, message)
    this.httpStatus = HTTP_STATUS[code]
  }
}

/** A billing call refused for a business reason (an unknown invoice, say), with the gRPC status to answer. */
export class BillingError extends BerthError {
  readonly grpcStatus: GrpcStatus

  constructor(grpcStatus: GrpcStatus, message: string) {
    super('BERTH_DEMO_BILLING', message)
    this.grpcStatus = grpcStatus
  }
}
