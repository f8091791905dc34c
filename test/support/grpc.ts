/**
 * Real grpc-js servers for berth's gRPC tests and benchmarks: the Echo service of
 * test/support/proto/echo.proto, bound to 127.0.0.1 on a free port (or a given one, to restart a
 * backend where it was). Each server counts its calls and the distinct peers (client connections)
 * it has seen, so tests can check where traffic went and how many connections carried it.
 */
import { after, before } from 'node:test'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { until } from './until.js'

const PROTO = fileURLToPath(new URL('./proto/echo.proto', import.meta.url))

export interface EchoRequest {
  message?: string
  delayMs?: number
  count?: number
  failWith?: number
}

export interface EchoReply {
  message: string
  serverId: string
  metadata: string[]
  peer: string
}

/** The client class proto-loader makes for berth.test.Echo (a grpc.Client subclass). */
export interface EchoClient extends grpc.Client {
  echo(
    request: EchoRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientUnaryCall
  echo(
    request: EchoRequest,
    callback: (err: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientUnaryCall
  echo(
    request: EchoRequest,
    metadata: grpc.Metadata,
    callback: (err: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientUnaryCall
  ticks(
    request: EchoRequest,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<EchoReply>
  chat(metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<EchoRequest, EchoReply>
}

export type EchoClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => EchoClient

interface EchoPackage {
  berth: { test: { Echo: grpc.ServiceClientConstructor } }
}

let loaded: EchoPackage | undefined

function load(): EchoPackage {
  loaded ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, defaults: true }),
  ) as unknown as EchoPackage
  return loaded
}

/** The Echo client constructor, as an application would get it from proto-loader. */
export function echoClientConstructor(): EchoClientConstructor {
  return load().berth.test.Echo as unknown as EchoClientConstructor
}

/** The Echo service definition, for `server.addService`. */
export function echoServiceDefinition(): grpc.ServiceDefinition {
  return load().berth.test.Echo.service
}

/** Promisified unary Echo call. */
export function echo(
  client: EchoClient,
  request: EchoRequest = {},
  options: grpc.CallOptions = {},
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    client.echo(request, metadata, options, (err, reply) => (err ? reject(err) : resolve(reply!)))
  })
}

export interface EchoServerOptions {
  /** Id reported in every reply. Default `server-<port>`. */
  id?: string
  /** Port to bind; 0 (default) picks a free one. */
  port?: number
  /** grpc-js server options, e.g. `{ 'grpc.max_concurrent_streams': 10 }`. */
  serverOptions?: grpc.ServerOptions
  credentials?: grpc.ServerCredentials
  /** Extra services to add before the server starts (health, say). */
  setup?: (server: grpc.Server) => void
}

export interface EchoServer {
  readonly id: string
  readonly port: number
  /** `127.0.0.1:<port>`. */
  readonly address: string
  readonly server: grpc.Server
  /** Calls this server has started (all methods). */
  readonly calls: number
  /** Calls running now. */
  readonly inFlight: number
  /** Most calls running at once since start (or `resetMaxInFlight()`). */
  readonly maxInFlight: number
  resetMaxInFlight(): void
  /** Distinct client connections seen (by peer address). */
  readonly peers: ReadonlySet<string>
  /** Graceful: tryShutdown, bounded by `timeoutMs` (then forced). */
  stop(timeoutMs?: number): Promise<void>
  /** Forced: every connection reset at once. */
  kill(): void
}

function metadataLines(metadata: grpc.Metadata): string[] {
  const out: string[] = []
  for (const [key, value] of Object.entries(metadata.getMap())) out.push(`${key}=${String(value)}`)
  return out.sort()
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Starts an Echo server on 127.0.0.1. */
export async function startEchoServer(options: EchoServerOptions = {}): Promise<EchoServer> {
  const server = new grpc.Server(options.serverOptions)
  let calls = 0
  let inFlight = 0
  let maxInFlight = 0
  const peers = new Set<string>()
  let id = options.id ?? ''
  const seen = (call: { getPeer(): string }) => {
    calls++
    peers.add(call.getPeer())
  }
  server.addService(echoServiceDefinition(), {
    echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      seen(call)
      inFlight++
      if (inFlight > maxInFlight) maxInFlight = inFlight
      const { message = '', delayMs = 0, failWith = 0 } = call.request
      const reply = () => {
        inFlight--
        if (failWith) callback({ code: failWith, details: `failed on request by ${id}` })
        else
          callback(null, {
            message,
            serverId: id,
            metadata: metadataLines(call.metadata),
            peer: call.getPeer(),
          })
      }
      if (delayMs > 0) setTimeout(reply, delayMs)
      else reply()
    },
    ticks: async (call: grpc.ServerWritableStream<EchoRequest, EchoReply>) => {
      seen(call)
      inFlight++
      const { message = '', delayMs = 0, count = 1 } = call.request
      try {
        for (let i = 0; i < count && !call.cancelled; i++) {
          if (delayMs > 0) await delay(delayMs)
          call.write({ message: `${message}#${i}`, serverId: id, metadata: [], peer: call.getPeer() })
        }
        call.end()
      } finally {
        inFlight--
      }
    },
    chat: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
      seen(call)
      inFlight++
      call.on('data', (req: EchoRequest) => {
        call.write({ message: req.message ?? '', serverId: id, metadata: [], peer: call.getPeer() })
      })
      call.on('end', () => {
        inFlight--
        call.end()
      })
      call.on('error', () => {})
    },
  })
  options.setup?.(server)
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `127.0.0.1:${options.port ?? 0}`,
      options.credentials ?? grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    )
  })
  if (id === '') id = `server-${port}`
  let stopped = false
  return {
    id,
    port,
    address: `127.0.0.1:${port}`,
    server,
    get calls() {
      return calls
    },
    get inFlight() {
      return inFlight
    },
    get maxInFlight() {
      return maxInFlight
    },
    resetMaxInFlight() {
      maxInFlight = inFlight
    },
    peers,
    stop(timeoutMs = 5000) {
      if (stopped) return Promise.resolve()
      stopped = true
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown()
          resolve()
        }, timeoutMs)
        server.tryShutdown(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    },
    kill() {
      stopped = true
      server.forceShutdown()
    },
  }
}

/** Tallies of a bounded load run: replies per server id, and failures by status code. */
export interface LoadTally {
  calls: number
  ok: number
  byServer: Map<string, number>
  failures: { code: number | undefined; details: string }[]
}

export interface LoadOptions {
  /** Concurrent callers. Default 8. */
  workers?: number
  /** Stop after this many calls in all. Default 10000. */
  maxCalls?: number
  /** Stop after this long, in ms. Default 10000. */
  maxMs?: number
  /** Request to send. Default `{ message: 'load' }`. */
  request?: EchoRequest
  /** Call options per call (a deadline, say). */
  callOptions?: () => grpc.CallOptions
}

/**
 * Drives Echo calls from `workers` callers, each calling again as soon as its last call ended,
 * until `stop()` is called, `maxCalls` or `maxMs` is reached. Bounded in count and time.
 */
export function startLoad(
  client: EchoClient,
  options: LoadOptions = {},
): { tally: LoadTally; stop(): Promise<LoadTally> } {
  const tally: LoadTally = { calls: 0, ok: 0, byServer: new Map(), failures: [] }
  const { workers = 8, maxCalls = 10_000, maxMs = 10_000, request = { message: 'load' } } = options
  const until = Date.now() + maxMs
  let stopped = false
  const worker = async () => {
    while (!stopped && tally.calls < maxCalls && Date.now() < until) {
      tally.calls++
      try {
        const reply = await echo(client, request, options.callOptions?.() ?? {})
        tally.ok++
        tally.byServer.set(reply.serverId, (tally.byServer.get(reply.serverId) ?? 0) + 1)
      } catch (err) {
        const e = err as grpc.ServiceError
        tally.failures.push({ code: e.code, details: e.details ?? String(err) })
      }
    }
  }
  const running = Promise.all(Array.from({ length: workers }, worker))
  return {
    tally,
    async stop() {
      stopped = true
      await running
      return tally
    },
  }
}

/** One Echo server for a `describe` block, and plain grpc-js clients on it; all closed after the block. */
export interface EchoFixture {
  readonly server: EchoServer
  /** A bare grpc-js Echo client with these interceptors, closed with the fixture. */
  client(interceptors?: grpc.Interceptor[]): EchoClient
}

/** Call inside `describe`: registers `before`/`after` hooks that start and stop the server. */
export function echoFixture(options: EchoServerOptions = {}): EchoFixture {
  let server: EchoServer | undefined
  const clients: EchoClient[] = []
  before(async () => {
    server = await startEchoServer(options)
  })
  after(async () => {
    for (const c of clients) c.close()
    await server?.stop()
  })
  return {
    get server() {
      if (server === undefined) throw new Error('echoFixture: the server starts in a before() hook')
      return server
    },
    client(interceptors = []) {
      const Echo = echoClientConstructor()
      const c = new Echo(this.server.address, grpc.credentials.createInsecure(), { interceptors })
      clients.push(c)
      return c
    },
  }
}

/** Runs `fn` with a fresh Echo server, killed afterwards whatever happens. */
export async function withEchoServer(fn: (server: EchoServer) => Promise<void>): Promise<void> {
  const server = await startEchoServer()
  try {
    await fn(server)
  } finally {
    server.kill()
  }
}

/**
 * Call at the top of a test file: a function that starts an Echo server, every server it started
 * stopped (1 s grace) after the file.
 */
export function echoServers(): (options?: EchoServerOptions) => Promise<EchoServer> {
  const servers: EchoServer[] = []
  after(async () => {
    await Promise.all(servers.map((s) => s.stop(1000)))
  })
  return async (options = {}) => {
    const s = await startEchoServer(options)
    servers.push(s)
    return s
  }
}

/**
 * Starts `n` Echo calls of `delayMs` each on `client` and resolves, with the calls, once `server`
 * is running all of them: for tests of what happens to calls in flight.
 */
export async function callsAtServer(
  client: EchoClient,
  server: EchoServer,
  n: number,
  delayMs: number,
): Promise<Promise<EchoReply>[]> {
  const before = server.inFlight
  const calls = Array.from({ length: n }, () => echo(client, { delayMs }))
  await until(() => server.inFlight === before + n, 5000, `${n} calls at the server`)
  return calls
}
