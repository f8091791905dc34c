/**
 * The ConnectionManager's types and errors live in core (`berth`); `berth/grpc` re-exports them
 * for code written when the manager was gRPC's.
 */
import type { ManagedOwner } from '../core/owner.js'

export * from '../core/connection-manager-types.js'

/**
 * What `postgres()` takes: a berth `PgPool`, or any `ManagedOwner`.
 * @deprecated use `ManagedOwner` from 'berth'
 */
export type PostgresPoolLike = ManagedOwner
