/**
 * Typed errors of berth/grpc. Calls that fail inside berth (pool closed, no address, connect
 * timeout) still reach grpc-js callers as a gRPC status, because that is what a grpc-js client
 * reports; the berth error rides along as the status error's `cause` and its code as `berthCode`,
 * so `err.code === status.UNAVAILABLE` and `err.cause instanceof PoolClosedError` both hold.
 */
import { BerthError, InvalidOptionError, type OptionErrorFacts } from '../core/errors.js'

/**
 * A target berth cannot parse (`createChannelPool(target)`, `setAddresses(list)`, a registry's or
 * manager's target), or a scheme it cannot serve; `xds:` without @grpc/grpc-js-xds installed.
 * What to do: write `host:port`, `dns:///host:port`, `ipv4:1.2.3.4:5,...`, `ipv6:[::1]:5`, a list
 * of `host:port`, or `xds:///name` with @grpc/grpc-js-xds installed. An {@link InvalidOptionError}
 * for the option `target`, with its own code.
 */
export class InvalidTargetError extends InvalidOptionError {
  /** The target as given; `undefined` when withheld (it looked like it carried a credential). */
  readonly target: unknown

  protected static override readonly errorCode = 'BERTH_INVALID_TARGET'

  protected static override formatMessage(facts: OptionErrorFacts): string {
    const shown = facts.hidden ? facts.shown : JSON.stringify(facts.value)
    return `Invalid gRPC target ${shown}: ${facts.expected}`
  }

  constructor(target: unknown, why: string) {
    super('target', target, why)
    this.target = this.value
  }
}

/**
 * The operation needs something the target kind does not have (`setAddresses` on an xds target,
 * whose addresses come from the control plane). What to do: drop the call for that target kind.
 */
export class UnsupportedOperationError extends BerthError {
  constructor(message: string) {
    super('BERTH_UNSUPPORTED', message)
  }
}

/**
 * An HTTP/2 connection attempt did not complete its handshake within `connectTimeoutMs` (a
 * black-holed address, a server that accepts but does not answer). It is the error of that
 * connection attempt (the socket's), counted in `stats()`; grpc-js goes on reconnecting with
 * backoff. What to do: check that the address is reachable and serves gRPC (TLS where TLS is
 * expected), or raise `connectTimeoutMs`.
 */
export class ConnectTimeoutError extends BerthError {
  readonly address: string
  readonly timeoutMs: number

  constructor(address: string, timeoutMs: number) {
    super(
      'BERTH_CONNECT_TIMEOUT',
      `Connecting to ${address} did not complete within ${timeoutMs} ms (connectTimeoutMs)`,
    )
    this.address = address
    this.timeoutMs = timeoutMs
  }
}

/**
 * `waitForReady()` ended (its signal, its `timeoutMs`, or no channel could be made: `cause`) before
 * any channel of the pool was READY. What to do: read `cause`, check the backends are up, or wait
 * longer.
 */
export class NotReadyError extends BerthError {
  readonly pool: string

  constructor(pool: string, why: string, options?: { cause?: unknown }) {
    super('BERTH_NOT_READY', `Channel pool '${pool}' is not ready: ${why}`, options)
    this.pool = pool
  }
}

// The manager's second-signal error lives in core with the manager; named here too for older imports.
export { SecondSignalError } from '../core/connection-manager-types.js'
