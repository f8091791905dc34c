/**
 * A default deadline: a grpc-js client interceptor that gives a deadline to calls made without
 * one, so that a call to a server that never answers fails with `DEADLINE_EXCEEDED` instead of
 * holding its caller (and its slot in a pool) forever. Calls that carry a deadline keep it.
 */
import type { Interceptor, InterceptorOptions } from '@grpc/grpc-js'
import { InvalidOptionError } from '../core/errors.js'
import { ForwardingCall } from './interceptors.js'

/** Options of `deadlineInterceptor` (and of a pool's `defaultDeadlineMs`). */
export interface DeadlineInterceptorOptions {
  /**
   * Deadline in milliseconds from the call's start, for unary calls made without a deadline.
   * Required; a positive finite number.
   */
  defaultMs: number
  /**
   * Per-method deadlines in milliseconds, which take the place of `defaultMs` for calls of any kind
   * (streams included). Keys are a method's full path, `'/pkg.Service/Method'`, or the same without
   * the leading slash. `Infinity` means no deadline for that method. Default: none.
   */
  perMethod?: Readonly<Record<string, number>>
  /**
   * Whether `defaultMs` also applies to streaming calls (client, server or bidirectional). Default
   * `false`: a stream's life is often meant to be long (a watch, a subscription), so streams get a
   * deadline only from `perMethod` or from their caller.
   */
  streams?: boolean
}

const METHOD_PATH = /^\/?[^/\s]+\/[^/\s]+$/

function validMs(value: unknown): value is number {
  return typeof value === 'number' && value > 0 && !Number.isNaN(value)
}

/**
 * Makes the interceptor. A call has no deadline when its `deadline` option is `undefined` or
 * `Infinity`; such a call gets `Date.now() + ms`, where `ms` is its method's `perMethod` entry, or
 * else `defaultMs` for a unary call (and for a stream when `streams` is set). A deadline the caller
 * set, even a later one, is never changed; neither is a deadline the call inherits from a parent
 * server call (grpc-js applies the earlier of the two).
 *
 * @throws InvalidOptionError when `defaultMs` is not a positive finite number, a `perMethod` key is
 *   not a method path, or a `perMethod` value is not a positive number.
 */
export function deadlineInterceptor(options: DeadlineInterceptorOptions): Interceptor {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object { defaultMs, perMethod?, streams? }')
  }
  const { defaultMs, perMethod = {}, streams = false } = options
  if (!validMs(defaultMs) || defaultMs === Number.POSITIVE_INFINITY) {
    throw new InvalidOptionError('defaultMs', defaultMs, 'a positive finite number of milliseconds')
  }
  if (typeof streams !== 'boolean') throw new InvalidOptionError('streams', streams, 'a boolean')
  if (typeof perMethod !== 'object' || perMethod === null) {
    throw new InvalidOptionError('perMethod', perMethod, "an object { '/pkg.Service/Method': ms }")
  }
  const byPath = new Map<string, number>()
  for (const [key, ms] of Object.entries(perMethod)) {
    if (!METHOD_PATH.test(key)) {
      throw new InvalidOptionError(
        `perMethod[${JSON.stringify(key)}]`,
        key,
        "a method path like '/pkg.Service/Method'",
      )
    }
    if (!validMs(ms)) {
      throw new InvalidOptionError(
        `perMethod[${JSON.stringify(key)}]`,
        ms,
        'a positive number of milliseconds',
      )
    }
    byPath.set(key.startsWith('/') ? key : `/${key}`, ms)
  }

  return (callOptions: InterceptorOptions, nextCall) => {
    const deadline = callOptions.deadline
    if (deadline !== undefined && deadline !== Number.POSITIVE_INFINITY) {
      return new ForwardingCall(nextCall(callOptions))
    }
    const method = callOptions.method_definition
    let ms = byPath.size === 0 ? undefined : byPath.get(method.path)
    if (ms === undefined && (streams || !(method.requestStream || method.responseStream))) ms = defaultMs
    if (ms === undefined || ms === Number.POSITIVE_INFINITY) return new ForwardingCall(nextCall(callOptions))
    return new ForwardingCall(nextCall({ ...callOptions, deadline: Date.now() + ms }))
  }
}
