import { setTimeout as sleep } from 'node:timers/promises'
/**
 * One billing backend of the demo: a grpc-js server on 127.0.0.1 with the billing handlers and
 * grpc.health.v1, over the demo's berth/pg cluster (writes on the primary, reads on the standby),
 * which the three backends share. It can be stopped gracefully (NOT_SERVING first, then drain) and
 * started again on the same port, which is what the dashboard's stop/start buttons do.
 */
import * as grpc from '@grpc/grpc-js'
import { type HealthService, createHealthService } from '../grpc/server-health.js'
import { type ShutdownResult, shutdownServer } from '../grpc/server-shutdown.js'
import type { PgCluster } from '../pg/pg-cluster.js'
import { billingHandlers } from './billing-handlers.js'
import { BILLING_SERVICE, billingServiceDefinition } from './billing-proto.js'
import { DemoActionError } from './errors.js'

export type BackendState = 'stopped' | 'starting' | 'up' | 'stopping'

/** Options of {@link BillingBackend}. */
export interface BillingBackendOptions {
  /** Stable id: `'a'`, `'b'`, `'c'`. */
  id: string
  /** The Postgres cluster it reads from and writes to; owned by the caller (the backend does not close it). */
  db: PgCluster
  /** How long a graceful stop lets calls in flight finish before cutting them, ms. Default 5000. */
  stopTimeoutMs?: number
}

/** A restart right after a stop may find the port not yet released; bind is retried this often. */
const BIND_ATTEMPTS = 20
const BIND_RETRY_MS = 100

export class BillingBackend {
  readonly id: string
  readonly db: PgCluster
  readonly #stopTimeoutMs: number
  #state: BackendState = 'stopped'
  #port = 0
  #server: grpc.Server | undefined
  #health: HealthService | undefined
  #calls = 0

  constructor(options: BillingBackendOptions) {
    this.id = options.id
    this.db = options.db
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 5000
  }

  get state(): BackendState {
    return this.#state
  }

  get up(): boolean {
    return this.#state === 'up'
  }

  /** `127.0.0.1:<port>`; the port is fixed by the first start. */
  get address(): string {
    return `127.0.0.1:${this.#port}`
  }

  /** Calls answered since the demo started, over every run of the server. */
  get calls(): number {
    return this.#calls
  }

  /**
   * Starts the server: on a free port the first time, on the same port afterwards.
   * @throws DemoActionError (BERTH_DEMO_CONFLICT) unless stopped
   */
  async start(): Promise<void> {
    this.#transition('stopped', 'starting')
    const server = new grpc.Server()
    // A fresh health service each run: shutdown() leaves one NOT_SERVING for good.
    const health = createHealthService({ '': 'SERVING', [BILLING_SERVICE]: 'SERVING' })
    server.addService(
      billingServiceDefinition(),
      billingHandlers(this.db, this.id, () => this.#calls++),
    )
    health.addTo(server)
    try {
      this.#port = await bind(server, this.#port)
    } catch (err) {
      this.#transition('starting', 'stopped')
      server.forceShutdown()
      throw err
    }
    this.#server = server
    this.#health = health
    this.#transition('starting', 'up')
  }

  /**
   * Stops the server gracefully: health NOT_SERVING (clients watching move away), no new calls,
   * calls in flight finish (cut after `stopTimeoutMs`).
   * @throws DemoActionError (BERTH_DEMO_CONFLICT) unless up
   */
  async stop(): Promise<ShutdownResult> {
    this.#transition('up', 'stopping')
    const server = this.#server!
    const health = this.#health
    this.#server = undefined
    this.#health = undefined
    try {
      return await shutdownServer(server, { timeoutMs: this.#stopTimeoutMs, health })
    } finally {
      this.#transition('stopping', 'stopped')
    }
  }

  #transition(from: BackendState, to: BackendState): void {
    if (this.#state !== from) {
      throw new DemoActionError(
        'BERTH_DEMO_CONFLICT',
        `backend ${this.id} is ${this.#state}: it can only go to ${to} when ${from}`,
      )
    }
    this.#state = to
  }
}

async function bind(server: grpc.Server, port: number): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<number>((resolve, reject) => {
        server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
          err ? reject(err) : resolve(bound),
        )
      })
    } catch (err) {
      if (port === 0 || attempt >= BIND_ATTEMPTS || !/EADDRINUSE|address already in use/i.test(String(err)))
        throw err
      await sleep(BIND_RETRY_MS)
    }
  }
}
