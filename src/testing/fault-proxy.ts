import { InvalidOptionError } from '../core/errors.js'
import { validateEndpoint, validateListen, validateRandom } from './fault-proxy-options.js'
import { TcpFaultProxy } from './fault-proxy-server.js'
import type { FaultProxy, StartFaultProxyOptions } from './fault-proxy-types.js'

export { BANDWIDTH_BURST_SECONDS } from './fault-proxy-pipe.js'
export {
  type BandwidthOptions,
  type FaultDirectionOption,
  type FaultProxy,
  type FaultProxyDirectionStats,
  type FaultProxyEndpoint,
  FaultProxyError,
  type FaultProxyErrorCode,
  type FaultProxyStats,
  type LatencyOptions,
  type RefuseMode,
  type RefuseNewOptions,
  type StartFaultProxyOptions,
} from './fault-proxy-types.js'

/**
 * Starts a fault proxy on loopback; see {@link FaultProxy}.
 *
 * @example
 * const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: pg.port } })
 * proxy.setLatency(50)
 * // connect the code under test to proxy.host:proxy.port ...
 * await proxy.close()
 */
export async function startFaultProxy(options: StartFaultProxyOptions): Promise<FaultProxy> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object { target, listen?, allowNonLoopback? }')
  }
  const target = validateEndpoint(options.target, 'target')
  const listen = validateListen(options.listen, options.allowNonLoopback)
  const proxy = new TcpFaultProxy(target, listen, validateRandom(options.random))
  await proxy.start()
  return proxy
}
