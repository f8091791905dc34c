/**
 * The demo's HTTP API, shared by the demo server (src/demo/http-server.ts) and the dashboard page
 * (src/demo/dashboard/). All routes are on the demo's loopback port.
 *
 * - `GET /`                      the dashboard page
 * - `GET /static/<file>`         the dashboard's script and style, and uPlot (`uplot.iife.min.js`, `uPlot.min.css`)
 * - `GET /metrics`               Prometheus text (berth/metrics)
 * - `GET /api/state`             a {@link DemoState} snapshot (the page polls it about once a second)
 * - `POST /api/backends/<id>/stop`   stop one billing backend (graceful shutdown)
 * - `POST /api/backends/<id>/start`  start it again on the same port
 * - `POST /api/db/terminate`     pg_terminate_backend() every connection of the demo's pools
 * - `POST /api/pool/saturate`    hold every connection of the primary's pool for `ms` (JSON body `{ "ms": 3000 }`, default 3000)
 * - `POST /api/db/failover`      stop the embedded primary and promote its standby (once: 409 after,
 *                                and 400 when the demo runs on DATABASE_URL)
 * Actions answer `200 { "ok": true, "message": "..." }` or `4xx/5xx { "ok": false, "message": "..." }`.
 */

/** One berth/pg pool, from its `stats()`. */
export interface DemoPgPool {
  readonly name: string
  readonly totalConns: number
  readonly idleConns: number
  readonly acquiredConns: number
  readonly maxConns: number
  /** Callers waiting for a connection now. */
  readonly waiting: number
  /** Acquire wait percentiles, ms. */
  readonly acquireWaitP50Ms: number
  readonly acquireWaitP99Ms: number
  /** Ages of the open connections, ms, oldest first. */
  readonly connectionAgesMs: readonly number[]
}

/** One berth/grpc channel pool, from its `stats()` and `connectivity()`. */
export interface DemoChannelPool {
  readonly name: string
  /** 'READY' | 'CONNECTING' | 'IDLE' | 'TRANSIENT_FAILURE' | 'SHUTDOWN' */
  readonly state: string
  readonly channels: number
  readonly callsInFlight: number
  readonly reconnects: number
}

/** One billing backend the demo runs. */
export interface DemoBackend {
  /** Stable id used in the action routes: 'a', 'b', 'c'. */
  readonly id: string
  readonly address: string
  /** Whether the demo has it running. */
  readonly up: boolean
  /** Calls it has served since the demo started. */
  readonly calls: number
  /** Its health as the client pool sees it: 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | ... */
  readonly health: string
}

/** One server of the demo's Postgres cluster, from the cluster's `stats()`. */
export interface DemoPgClusterHost {
  /** `host:port` */
  readonly host: string
  /** 'primary' | 'standby' | 'unknown', from its last probe. */
  readonly role: string
  /** 'up' | 'down' | 'unknown' (before the first probe). */
  readonly state: string
  /** How far behind the primary it is, ms; 0 for the primary, null when unknown. */
  readonly lagMs: number | null
  /** Reads are sent to it now. */
  readonly inRotation: boolean
  /** Reads it answered. */
  readonly reads: number
  /** Times it became the primary in place of another. */
  readonly promotions: number
}

/** The demo's Postgres cluster (berth/pg's createPgCluster), which the billing backends share. */
export interface DemoPgCluster {
  readonly name: string
  /** The server taking writes (`host:port`), null during a failover. */
  readonly primary: string | null
  readonly failovers: number
  /** From losing the primary to electing the next, for the last failover, ms. */
  readonly lastFailoverMs: number | null
  /** How long it has been without a primary, ms; null while it has one. */
  readonly noPrimaryForMs: number | null
  readonly readsOnReplicas: number
  readonly readsOnPrimary: number
  /** Whether `POST /api/db/failover` can run: an embedded cluster with a standby left, no failover running. */
  readonly canFailOver: boolean
  readonly hosts: readonly DemoPgClusterHost[]
}

/** The client calls of one kind, since start (`qps` over the last second). */
export interface DemoCallKind {
  readonly calls: number
  readonly errors: number
  readonly qps: number
}

export interface DemoState {
  /** `Date.now()` of the snapshot. */
  readonly time: number
  /** Seconds since the demo started. */
  readonly uptimeS: number
  /** Client calls per second over the last second. */
  readonly qps: number
  /** Client calls completed and failed since start. */
  readonly calls: number
  readonly errors: number
  /** Failed calls by gRPC status name, since start. */
  readonly errorsByStatus: Readonly<Record<string, number>>
  /** Client-side call latency over the last second, ms. */
  readonly latencyP50Ms: number
  readonly latencyP99Ms: number
  /** FindInvoice calls (reads, served by the standby when one is in rotation). */
  readonly reads: DemoCallKind
  /** Transfer calls (writes, on the primary). */
  readonly writes: DemoCallKind
  readonly cluster: DemoPgCluster
  /** Each server's pool of the cluster, and the admin pools. */
  readonly pgPools: readonly DemoPgPool[]
  readonly channelPools: readonly DemoChannelPool[]
  readonly backends: readonly DemoBackend[]
  /** The last few things that happened (a backend stopped, connections terminated), newest last. */
  readonly events: readonly { readonly time: number; readonly message: string }[]
}
