/**
 * Records the events of a `diagnostics_channel` TracingChannel, for the tracing tests: each event's
 * name and the context object it carried, in order.
 */
import type { TracingChannel } from 'node:diagnostics_channel'

export type TraceEvent = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error'

export interface TraceRecord<C> {
  readonly event: TraceEvent
  readonly ctx: C
  /** A shallow copy of the context when the event fired (fields set later are not in it). */
  readonly snapshot: Record<string, unknown>
}

export interface TraceRecorder<C> {
  readonly records: TraceRecord<C>[]
  /** The event names, in order. */
  events(): TraceEvent[]
  /** The distinct context objects, in the order of their start. */
  contexts(): C[]
  /** Unsubscribes every handler. */
  stop(): void
}

// biome-ignore lint/suspicious/noExplicitAny: any store type
export function recordTrace<C extends object>(tc: TracingChannel<any, C>): TraceRecorder<C> {
  const records: TraceRecord<C>[] = []
  const on = (event: TraceEvent) => (ctx: C) => {
    records.push({ event, ctx, snapshot: { ...(ctx as Record<string, unknown>) } })
  }
  const handlers = {
    start: on('start'),
    end: on('end'),
    asyncStart: on('asyncStart'),
    asyncEnd: on('asyncEnd'),
    error: on('error'),
  }
  tc.subscribe(handlers)
  return {
    records,
    events: () => records.map((r) => r.event),
    contexts: () => records.filter((r) => r.event === 'start').map((r) => r.ctx),
    stop: () => {
      tc.unsubscribe(handlers)
    },
  }
}

/** Every string in a value, deeply (for asserting that no parameter value leaked into a context). */
export function allStrings(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') return [value]
  if (typeof value !== 'object' || value === null || seen.has(value)) return []
  seen.add(value)
  return Object.values(value).flatMap((v) => allStrings(v, seen))
}
