/** Typed errors of the demo: an action refused (with its HTTP status) and a billing call failed (with its gRPC status). */
import type { status as GrpcStatus } from '@grpc/grpc-js'
import { BerthError } from '../core/errors.js'

export type DemoActionErrorCode = 'BERTH_DEMO_NOT_FOUND' | 'BERTH_DEMO_CONFLICT' | 'BERTH_DEMO_BAD_REQUEST'

const HTTP_STATUS: Record<DemoActionErrorCode, number> = {
  BERTH_DEMO_NOT_FOUND: 404,
  BERTH_DEMO_CONFLICT: 409,
  BERTH_DEMO_BAD_REQUEST: 400,
}

/**
 * A break-things action of `berth demo` that cannot run: an unknown backend (404), the wrong state
 * for it (409: already stopped, already saturated, a failover running or no standby left), a bad
 * request (400: a bad body, a failover on DATABASE_URL). The demo's API answers with `httpStatus`.
 * What to do: pick a listed backend, or wait for the state to change.
 */
export class DemoActionError extends BerthError {
  /** The HTTP status the demo's API answers with. */
  readonly httpStatus: number

  constructor(code: DemoActionErrorCode, message: string) {
    super(code, message)
    this.httpStatus = HTTP_STATUS[code]
  }
}

/**
 * A call to the demo's billing service refused for a business reason (an unknown invoice, say),
 * with the gRPC status to answer. Part of the demo's traffic, not a failure of berth: nothing to do.
 */
export class BillingError extends BerthError {
  readonly grpcStatus: GrpcStatus

  constructor(grpcStatus: GrpcStatus, message: string) {
    super('BERTH_DEMO_BILLING', message)
    this.grpcStatus = grpcStatus
  }
}

/**
 * A shutdown step of `berth demo` (stopping the load, a server, a pool, the database) did not
 * finish in time; it is printed as `shutdown: <step> failed: ...` and the demo goes on to the next
 * step. What to do: nothing; the process exits all the same.
 */
export class DemoShutdownTimeoutError extends BerthError {
  constructor(ms: number) {
    super('BERTH_DEMO_SHUTDOWN_TIMEOUT', `still running after ${ms} ms; moving on`)
  }
}
