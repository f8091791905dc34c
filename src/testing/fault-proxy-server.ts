import net, { type Server, type Socket } from 'node:net'
import { ProxyConnection } from './fault-proxy-connection.js'
import {
  validateBytesPerSecond,
  validateDirection,
  validateEndpoint,
  validateMs,
  validateRefuseMode,
  validateSwitch,
} from './fault-proxy-options.js'
import type { ByteCounters, FaultDirection, FaultState } from './fault-proxy-pipe.js'
import {
  type BandwidthOptions,
  type FaultDirectionOption,
  type FaultProxy,
  type FaultProxyEndpoint,
  FaultProxyError,
  type FaultProxyStats,
  type LatencyOptions,
  type RefuseMode,
  type RefuseNewOptions,
} from './fault-proxy-types.js'

function noFaults(): FaultState {
  return clearFaults({ upstream: {}, downstream: {} } as FaultState)
}

function clearFaults(faults: FaultState): FaultState {
  for (const direction of ['upstream', 'downstream'] as const) {
    Object.assign(faults[direction], { latencyMs: 0, jitterMs: 0, bytesPerSecond: Number.POSITIVE_INFINITY })
  }
  faults.blackhole = false
  faults.halfOpen = false
  return faults
}

function directionsOf(direction: FaultDirectionOption): FaultDirection[] {
  return direction === 'both' ? ['upstream', 'downstream'] : [direction]
}

/** The {@link FaultProxy} implementation: one `net.Server` (re-created after refuseNew) and its connections. */
export class TcpFaultProxy implements FaultProxy {
  #target: FaultProxyEndpoint
  #listen: { host: string; port: number }
  readonly #random: () => number
  readonly #faults = noFaults()
  readonly #counters: ByteCounters = { upstream: 0, downstream: 0, dropped: 0 }
  readonly #connections = new Set<ProxyConnection>()
  #server: Server | undefined
  /** Listener changes run one after another, so refuseNew(true) + refuseNew(false) cannot interleave. */
  #listenerOp: Promise<void> = Promise.resolve()
  #refusing: false | RefuseMode = false
  #closing: Promise<void> | undefined
  #onDrained: (() => void) | undefined
  #accepted = 0
  #refused = 0
  #reset = 0
  #connectErrors = 0

  constructor(target: FaultProxyEndpoint, listen: { host: string; port: number }, random: () => number) {
    this.#target = target
    this.#listen = listen
    this.#random = random
  }

  get host(): string {
    return this.#listen.host
  }

  get port(): number {
    return this.#listen.port
  }

  get address(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`
  }

  get connections(): number {
    return this.#connections.size
  }

  get target(): FaultProxyEndpoint {
    return this.#target
  }

  async start(): Promise<void> {
    this.#server = await this.#startListening()
    const bound = this.#server.address() as net.AddressInfo
    // Pin the port so that listening again after refuseNew() comes back on the same one.
    this.#listen = { host: bound.address, port: bound.port }
  }

  stats(): FaultProxyStats {
    let bytesQueued = 0
    for (const connection of this.#connections) bytesQueued += connection.queuedBytes
    return Object.freeze({
      connections: this.#connections.size,
      accepted: this.#accepted,
      refused: this.#refused,
      reset: this.#reset,
      connectErrors: this.#connectErrors,
      bytesUpstream: this.#counters.upstream,
      bytesDownstream: this.#counters.downstream,
      bytesDropped: this.#counters.dropped,
      bytesQueued,
      listening: this.#server !== undefined,
      upstream: Object.freeze({ ...this.#faults.upstream }),
      downstream: Object.freeze({ ...this.#faults.downstream }),
      blackhole: this.#faults.blackhole,
      halfOpen: this.#faults.halfOpen,
      refusingNew: this.#refusing,
    })
  }

  setLatency(ms: number, options: LatencyOptions = {}): void {
    this.#assertOpen()
    const latencyMs = validateMs('latencyMs', ms)
    const jitterMs = validateMs('jitterMs', options.jitterMs ?? 0)
    for (const direction of directionsOf(validateDirection(options.direction))) {
      Object.assign(this.#faults[direction], { latencyMs, jitterMs })
    }
  }

  setBandwidth(bytesPerSecond: number, options: BandwidthOptions = {}): void {
    this.#assertOpen()
    const rate = validateBytesPerSecond(bytesPerSecond)
    for (const direction of directionsOf(validateDirection(options.direction))) {
      this.#faults[direction].bytesPerSecond = rate
    }
    this.#refreshAll()
  }

  refuseNew(on: boolean, options: RefuseNewOptions = {}): Promise<void> {
    this.#assertOpen()
    validateSwitch('on', on)
    const mode = validateRefuseMode(options.mode)
    this.#refusing = on ? mode : false
    return this.#syncListener()
  }

  resetAll(): void {
    this.#assertOpen()
    for (const connection of this.#connections) {
      this.#reset += 1
      connection.reset()
    }
  }

  blackhole(on = true): void {
    this.#assertOpen()
    this.#faults.blackhole = validateSwitch('on', on)
    this.#refreshAll()
  }

  halfOpen(on = true): void {
    this.#assertOpen()
    this.#faults.halfOpen = validateSwitch('on', on)
    this.#refreshAll()
  }

  heal(): Promise<void> {
    this.#assertOpen()
    clearFaults(this.#faults)
    this.#refreshAll()
    this.#refusing = false
    return this.#syncListener()
  }

  setTarget(target: FaultProxyEndpoint): void {
    this.#assertOpen()
    this.#target = validateEndpoint(target, 'target')
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async #shutdown(): Promise<void> {
    await this.#syncListener().catch(() => undefined)
    const drained = new Promise<void>((resolve) => {
      this.#onDrained = resolve
    })
    for (const connection of this.#connections) connection.destroy()
    if (this.#connections.size > 0) await drained
  }

  #assertOpen(): void {
    if (this.#closing) {
      throw new FaultProxyError('BERTH_FAULT_PROXY_CLOSED', `Fault proxy on ${this.address} is closed`)
    }
  }

  #refreshAll(): void {
    for (const connection of this.#connections) connection.refresh()
  }

  #syncListener(): Promise<void> {
    const op = this.#listenerOp.then(() => this.#applyListener())
    this.#listenerOp = op.catch(() => undefined)
    return op
  }

  async #applyListener(): Promise<void> {
    const wanted = this.#closing === undefined && this.#refusing !== 'refuse'
    if (wanted && this.#server === undefined) {
      this.#server = await this.#startListening()
    } else if (!wanted && this.#server !== undefined) {
      // close() takes the listening socket away at once (new connects get ECONNREFUSED); its callback
      // would wait for the connections it accepted, which are ours to manage, so it is not awaited.
      this.#server.close()
      this.#server = undefined
    }
  }

  #startListening(): Promise<Server> {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) =>
      this.#onConnection(socket),
    )
    return new Promise((resolve, reject) => {
      server.once('error', (error) => {
        reject(
          new FaultProxyError(
            'BERTH_FAULT_PROXY_LISTEN',
            `Fault proxy could not listen on ${this.#listen.host}:${this.#listen.port}: ${error.message}`,
            { cause: error },
          ),
        )
      })
      server.listen({ host: this.#listen.host, port: this.#listen.port }, () => {
        // Errors after listening (e.g. EMFILE on accept) must not crash the test process.
        server.removeAllListeners('error')
        server.on('error', () => undefined)
        resolve(server)
      })
    })
  }

  #onConnection(client: Socket): void {
    this.#accepted += 1
    if (this.#closing || this.#refusing === 'reset') {
      client.on('error', () => undefined)
      if (this.#closing) client.destroy()
      else {
        this.#refused += 1
        client.resetAndDestroy()
      }
      return
    }
    const target = this.#faults.blackhole ? undefined : this.#target
    const connection = new ProxyConnection(client, target, {
      faults: this.#faults,
      counters: this.#counters,
      random: this.#random,
      onClosed: (closed) => {
        this.#connections.delete(closed)
        if (this.#connections.size === 0) this.#onDrained?.()
      },
      onConnectError: () => {
        this.#connectErrors += 1
      },
    })
    this.#connections.add(connection)
  }
}
