/**
 * Metadata propagation: a server handler's outgoing calls carry selected metadata of the request
 * it is serving (a request id, a trace context, the caller's credentials when asked), plus static
 * metadata of the client's own (`x-client: billing`).
 *
 * The request's metadata travels in an `AsyncLocalStorage` scope, not through function arguments:
 * the server side opens the scope (`propagationServerInterceptor()` on the server, or
 * `propagationScope(call, fn)` inside a handler), and the client interceptor reads it when a call
 * is made. Each request has its own scope, so concurrent requests never see each other's values.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import {
  type InterceptingListener,
  type Interceptor,
  Metadata,
  type MetadataValue,
  type NextCall,
  ServerInterceptingCall,
  type ServerInterceptor,
} from '@grpc/grpc-js'
import { InvalidOptionError } from '../core/errors.js'
import { ForwardingCall } from './interceptors.js'

const scope = new AsyncLocalStorage<Metadata>()

/** Keys propagated when `keys` is not given: request correlation and W3C trace context. */
export const DEFAULT_PROPAGATED_KEYS: readonly string[] = Object.freeze([
  'x-request-id',
  'traceparent',
  'tracestate',
])

const METADATA_KEY = /^[0-9a-z_.-]+$/

function checkKey(option: string, key: unknown): string {
  const lower = typeof key === 'string' ? key.toLowerCase() : ''
  if (!METADATA_KEY.test(lower) || lower.startsWith('grpc-')) {
    throw new InvalidOptionError(option, key, 'a metadata key of 0-9 a-z _ . - not starting with "grpc-"')
  }
  return lower
}

/**
 * Runs `fn` with `source`'s metadata as the request metadata that `metadataPropagationInterceptor`
 * propagates, for everything `fn` does, synchronously and in every asynchronous continuation it starts.
 * `source` is a grpc-js server call (anything with a `metadata`) or a `Metadata`. Scopes nest: the
 * innermost wins.
 *
 * ```ts
 * server.addService(def, {
 *   getInvoice: (call, callback) =>
 *     propagationScope(call, async () => callback(null, await loadInvoice(call.request))),
 * })
 * ```
 */
export function propagationScope<T>(source: Metadata | { readonly metadata: Metadata }, fn: () => T): T {
  const metadata =
    source instanceof Metadata
      ? source
      : typeof source === 'object' && source !== null
        ? source.metadata
        : undefined
  if (!(metadata instanceof Metadata)) {
    throw new InvalidOptionError('source', source, 'a grpc-js server call or a Metadata')
  }
  if (typeof fn !== 'function') throw new InvalidOptionError('fn', fn, 'a function')
  return scope.run(metadata, fn)
}

/** The request metadata of the current propagation scope, if any (read-only by convention). */
export function currentRequestMetadata(): Metadata | undefined {
  return scope.getStore()
}

/**
 * A grpc-js server interceptor (`new Server({ interceptors: [propagationServerInterceptor()] })`)
 * that opens a propagation scope with each call's request metadata around its handler, its
 * continuations and its `data` and `end` events, so handlers need no `propagationScope` of their
 * own. (The `cancelled` event runs outside the scope: grpc-js gives interceptors no hook around it.)
 */
export function propagationServerInterceptor(): ServerInterceptor {
  return (_method, call) => {
    let incoming: Metadata | undefined
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, forward) => {
            incoming = metadata
            scope.run(metadata, forward, metadata)
          },
          onReceiveMessage: (message, forward) =>
            incoming ? scope.run(incoming, forward, message) : forward(message),
          onReceiveHalfClose: (forward) => (incoming ? scope.run(incoming, forward) : forward()),
        }),
    })
  }
}

interface PropagationConfig {
  readonly keys: readonly string[]
  readonly statics: readonly (readonly [string, MetadataValue])[]
}

/** Adds the propagated and static metadata the caller did not set, as the call starts. */
class PropagatingCall extends ForwardingCall {
  readonly #config: PropagationConfig
  readonly #incoming: Metadata | undefined

  constructor(next: ReturnType<NextCall>, config: PropagationConfig, incoming: Metadata | undefined) {
    super(next)
    this.#config = config
    this.#incoming = incoming
  }

  override start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    // grpc-js hands down the caller's own Metadata object, which callers may reuse for many calls:
    // copy it before the first addition, or one request's values would leak into others.
    let out = metadata
    const incoming = this.#incoming
    if (incoming !== undefined) {
      for (const key of this.#config.keys) {
        const values = incoming.get(key)
        if (values.length === 0 || metadata.get(key).length > 0) continue
        if (out === metadata) out = metadata.clone()
        for (const value of values) out.add(key, value)
      }
    }
    for (const [key, value] of this.#config.statics) {
      if (out.get(key).length > 0) continue
      if (out === metadata) out = metadata.clone()
      out.add(key, value)
    }
    super.start(out, listener)
  }
}

/** Options of `metadataPropagationInterceptor` (and of a pool's `propagate`). */
export interface MetadataPropagationOptions {
  /**
   * Keys copied from the current request's metadata (see `propagationScope`) to each outgoing
   * call. Default `DEFAULT_PROPAGATED_KEYS` (`x-request-id`, `traceparent`, `tracestate`).
   * Credentials such as `authorization` are only propagated when listed here. Keys are
   * case-insensitive; `-bin` keys carry binary values.
   */
  keys?: readonly string[]
  /**
   * Metadata added to every outgoing call, e.g. `{ 'x-client': 'billing' }`. Values are strings,
   * or Buffers for `-bin` keys. Default: none.
   */
  static?: Readonly<Record<string, MetadataValue>>
}

/**
 * Makes the client interceptor. For each outgoing call, each key the caller did not set itself is
 * filled from the current request's metadata (all its values), and then each `static` key still
 * unset is added: the caller's own metadata always wins, then the propagated, then the static.
 * Outside any propagation scope only the static metadata is added.
 *
 * @throws InvalidOptionError when a key is not a valid metadata key (or is reserved: `grpc-*`), or a
 *   static value is not a string (a Buffer for a `-bin` key).
 */
export function metadataPropagationInterceptor(options: MetadataPropagationOptions = {}): Interceptor {
  const keys = [
    ...new Set((options.keys ?? DEFAULT_PROPAGATED_KEYS).map((k, i) => checkKey(`keys[${i}]`, k))),
  ]
  const statics: (readonly [string, MetadataValue])[] = []
  for (const [rawKey, value] of Object.entries(options.static ?? {})) {
    const key = checkKey(`static[${JSON.stringify(rawKey)}]`, rawKey)
    const binary = key.endsWith('-bin')
    if (binary ? !Buffer.isBuffer(value) : typeof value !== 'string') {
      throw new InvalidOptionError(
        `static[${JSON.stringify(rawKey)}]`,
        value,
        binary ? 'a Buffer' : 'a string',
      )
    }
    statics.push([key, value])
  }

  const config: PropagationConfig = { keys, statics }
  return (callOptions, nextCall) => {
    // Read when the call is made: this runs synchronously in the caller's async context.
    const incoming = keys.length === 0 ? undefined : scope.getStore()
    if (incoming === undefined && statics.length === 0) return new ForwardingCall(nextCall(callOptions))
    return new PropagatingCall(nextCall(callOptions), config, incoming)
  }
}
