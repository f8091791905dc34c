/**
 * prom-client is an optional peer dependency: it is loaded when the first Prometheus exporter is
 * made, not when berth/metrics is imported, so OpenTelemetry users need not install it.
 */
import { createRequire } from 'node:module'
import type * as PromClient from 'prom-client'
import { MissingPeerDependencyError } from './errors.js'

export type PromClientModule = typeof PromClient

let loaded: PromClientModule | undefined

export function loadPromClient(): PromClientModule {
  if (loaded) return loaded
  try {
    loaded = createRequire(import.meta.url)('prom-client') as PromClientModule
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND')
      throw new MissingPeerDependencyError('prom-client', 'PrometheusExporter', { cause: error })
    throw error
  }
  return loaded
}

/**
 * A value made once per prom-client module (a subclass of one of its metric classes): the module is
 * loaded at run time, so its classes cannot be extended at import.
 */
export function perClient<T extends object>(
  define: (client: PromClientModule) => T,
): (client: PromClientModule) => T {
  const made = new WeakMap<PromClientModule, T>()
  return (client) => {
    let value = made.get(client)
    if (value === undefined) {
      value = define(client)
      made.set(client, value)
    }
    return value
  }
}
