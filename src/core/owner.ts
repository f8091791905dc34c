/**
 * What a ConnectionManager needs from an owner of connections, whatever it connects to: the
 * lifecycle contract, a readiness probe and a health summary. A Postgres pool and a channel pool
 * register the same way, so the manager never branches on what a resource is.
 */
import type { Closeable, LifecycleState } from './lifecycle.js'

/** A health summary of one owner, for readiness endpoints. Frozen. */
export interface OwnerHealth {
  /** What it is, for people reading a health report: `'postgres'`, `'grpc'`, `'pool'`... */
  readonly kind: string
  /** It can serve work now. */
  readonly ready: boolean
  /** Work in flight (calls, connections in use): what a forced close would cut. */
  readonly inUse: number
  /** Owner-specific facts (connection counts, connectivity, the last connect error). */
  readonly detail: Readonly<Record<string, unknown>>
}

/** An owner a ConnectionManager can start, watch and shut down. */
export interface ManagedOwner extends Closeable {
  /**
   * Resolves once the owner can serve now (a connection opened, a channel READY); rejects with the
   * reason it cannot. Aborted by `signal`. Safe to call again.
   */
  probe(options?: { signal?: AbortSignal }): Promise<void>
  /** A frozen health summary. */
  health(): OwnerHealth
}

/** The fields every owner's `stats()` starts with, so that exporters and dashboards agree. */
export interface OwnerStats {
  readonly name: string
  /** The lifecycle state (never a connectivity state: that has its own name). */
  readonly state: LifecycleState
}
