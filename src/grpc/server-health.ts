/**
 * The grpc.health.v1 service, server and client side, on top of the `grpc-health-check` package
 * (an optional peer dependency, loaded on first use so that `berth/grpc` works without it).
 *
 * Server side, berth adds what shutdown needs: `shutdown()` marks every service NOT_SERVING, ignores
 * later changes, and ends open Watch streams after telling them. A Watch stream is a call that never
 * finishes on its own, so without that a graceful `tryShutdown` would always run into its deadline.
 */
import { createRequire } from 'node:module'
import * as grpc from '@grpc/grpc-js'
import type { HealthImplementation } from 'grpc-health-check'
import { InvalidOptionError, describe } from '../core/errors.js'

/** What a service reports through Check. */
export type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN'

/** What a Watch stream reports: a {@link ServingStatus}, or `'SERVICE_UNKNOWN'` for a service never registered. */
export type WatchStatus = ServingStatus | 'SERVICE_UNKNOWN'

export interface HealthCheckRequest {
  /** Service name; `''` is the server as a whole. */
  service?: string
}

export interface HealthCheckResponse {
  status: WatchStatus
}

/** The grpc.health.v1.Health client (a grpc.Client subclass). Unknown services fail Check with NOT_FOUND. */
export interface HealthClient extends grpc.Client {
  check(
    request: HealthCheckRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, response?: HealthCheckResponse) => void,
  ): grpc.ClientUnaryCall
  check(
    request: HealthCheckRequest,
    callback: (err: grpc.ServiceError | null, response?: HealthCheckResponse) => void,
  ): grpc.ClientUnaryCall
  watch(
    request: HealthCheckRequest,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<HealthCheckResponse>
}

export type HealthClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => HealthClient

/** The health service of one server (or several: `addTo` may be called for each). */
export interface HealthService {
  /** Registers grpc.health.v1.Health on `server`. Call before the server starts. */
  addTo(server: grpc.Server): void
  /** Sets one service's status; watchers hear of it at once. Ignored after `shutdown()`. */
  setStatus(service: string, status: ServingStatus): void
  /** Sets every registered service (including `''`) to `status`. Ignored after `shutdown()`. */
  setAll(status: ServingStatus): void
  /** A service's status, or `undefined` if it was never registered. */
  status(service: string): ServingStatus | undefined
  /** A snapshot of every registered service's status. */
  statuses(): Readonly<Record<string, ServingStatus>>
  /**
   * For server shutdown: marks every service NOT_SERVING, ignores later changes, and ends every
   * Watch stream (with status OK, after the NOT_SERVING update). Idempotent.
   */
  shutdown(): void
  /** Whether `shutdown()` was called. */
  readonly isShutdown: boolean
}

const STATUSES: readonly ServingStatus[] = ['SERVING', 'NOT_SERVING', 'UNKNOWN']

type HealthModule = typeof import('grpc-health-check')

let healthModule: HealthModule | undefined
let clientConstructor: HealthClientConstructor | undefined

function loadHealthModule(): HealthModule {
  healthModule ??= createRequire(import.meta.url)('grpc-health-check') as HealthModule
  return healthModule
}

/**
 * Creates a health service. `initial` maps service names to statuses; `''` is the server as a whole.
 * Default `{ '': 'SERVING' }`. Throws `InvalidOptionError` for a status that is not one of
 * `'SERVING'`, `'NOT_SERVING'`, `'UNKNOWN'`.
 */
export function createHealthService(
  initial: Readonly<Record<string, ServingStatus>> = { '': 'SERVING' },
): HealthService {
  if (initial === null || typeof initial !== 'object' || Array.isArray(initial)) {
    throw new InvalidOptionError('initial', initial, 'an object mapping service names to statuses')
  }
  for (const [service, status] of Object.entries(initial)) {
    checkStatus(`initial[${describe(service)}]`, status)
  }
  const statuses = new Map<string, ServingStatus>(Object.entries(initial))
  const impl: HealthImplementation = new (loadHealthModule().HealthImplementation)(
    Object.fromEntries(statuses),
  )
  const watches = new Set<grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>()
  let isShutdown = false

  const set = (service: string, status: ServingStatus) => {
    statuses.set(service, status)
    impl.setStatus(service, status)
  }

  return {
    addTo(server) {
      if (server === null || typeof server !== 'object' || typeof server.addService !== 'function') {
        throw new InvalidOptionError('server', server, 'a grpc.Server')
      }
      // HealthImplementation registers its handlers through addService: wrap Watch to track open streams.
      impl.addToServer({
        addService(definition, handlers) {
          const watch = handlers['watch'] as (
            call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>,
          ) => void
          server.addService(definition as unknown as grpc.ServiceDefinition, {
            ...(handlers as grpc.UntypedServiceImplementation),
            watch(call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
              watch(call)
              if (isShutdown) {
                call.end()
                return
              }
              watches.add(call)
              const forget = () => watches.delete(call)
              call.once('cancelled', forget)
              call.once('finish', forget)
              call.once('close', forget)
            },
          })
        },
      })
    },
    setStatus(service, status) {
      if (typeof service !== 'string') {
        throw new InvalidOptionError('service', service, 'a service name string')
      }
      checkStatus('status', status)
      if (!isShutdown) set(service, status)
    },
    setAll(status) {
      checkStatus('status', status)
      if (!isShutdown) for (const service of statuses.keys()) set(service, status)
    },
    status: (service) => statuses.get(service),
    statuses: () => Object.freeze(Object.fromEntries(statuses)),
    shutdown() {
      if (isShutdown) return
      for (const service of statuses.keys()) set(service, 'NOT_SERVING')
      isShutdown = true
      for (const call of watches) call.end()
      watches.clear()
    },
    get isShutdown() {
      return isShutdown
    },
  }
}

/** The grpc.health.v1.Health client constructor, made on first use. */
export function healthClientConstructor(): HealthClientConstructor {
  clientConstructor ??= grpc.makeGenericClientConstructor(
    loadHealthModule().service as unknown as grpc.ServiceDefinition,
    'grpc.health.v1.Health',
  ) as unknown as HealthClientConstructor
  return clientConstructor
}

/** Options of {@link checkHealth}. */
export interface CheckHealthOptions {
  /** Cancels the call; the promise rejects with the signal's reason. */
  signal?: AbortSignal
  /**
   * gRPC deadline of the call: a `Date` or an epoch time in ms, as grpc-js takes it. `Infinity` for
   * none. Default: 5000 ms from now.
   */
  deadline?: grpc.Deadline
  /** Metadata sent with the call. */
  metadata?: grpc.Metadata
}

/** Default time a {@link checkHealth} call may take, in ms. */
export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 5000

/**
 * One Check call. Resolves with the service's status; rejects with the grpc `ServiceError` (code
 * NOT_FOUND for a service the server does not know, DEADLINE_EXCEEDED, UNAVAILABLE, ...), or with
 * `signal.reason` when the signal aborts.
 */
export function checkHealth(
  client: HealthClient,
  service = '',
  options: CheckHealthOptions = {},
): Promise<ServingStatus> {
  if (typeof service !== 'string') {
    return Promise.reject(new InvalidOptionError('service', service, 'a service name string'))
  }
  if (typeof client !== 'object' || client === null || typeof client.check !== 'function') {
    return Promise.reject(
      new InvalidOptionError('client', client, 'a health client (from healthClientConstructor())'),
    )
  }
  if (typeof options !== 'object' || options === null) {
    return Promise.reject(new InvalidOptionError('options', options, 'an object'))
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    return Promise.reject(new InvalidOptionError('signal', options.signal, 'an AbortSignal'))
  }
  const { signal, metadata = new grpc.Metadata() } = options
  const deadline = options.deadline ?? Date.now() + DEFAULT_HEALTH_CHECK_TIMEOUT_MS
  if (signal?.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      call.cancel()
      reject(signal!.reason)
    }
    const call = client.check({ service }, metadata, { deadline }, (err, response) => {
      signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve(response!.status as ServingStatus)
    })
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function checkStatus(field: string, status: unknown): asserts status is ServingStatus {
  if (!STATUSES.includes(status as ServingStatus)) {
    throw new InvalidOptionError(field, status, "'SERVING', 'NOT_SERVING' or 'UNKNOWN'")
  }
}
