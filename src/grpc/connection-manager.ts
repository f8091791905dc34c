/**
 * `berth/grpc`'s ConnectionManager: the core manager (from `berth`) plus `grpc(name, target)`,
 * which makes the channel pool and adds it like any other owner.
 *
 * ```ts
 * import { ConnectionManager } from 'berth/grpc'
 * const connections = new ConnectionManager()
 * const billing = connections.grpc('billing', 'dns:///billing:50051')
 * const db = connections.postgres('db', createPgPool(process.env.DATABASE_URL))
 * await connections.start({ timeoutMs: 10_000 })
 * ```
 */
import { ConnectionManager as CoreConnectionManager } from '../core/connection-manager.js'
import { InvalidOptionError } from '../core/errors.js'
import type { ChannelPoolOptions } from './channel-pool-options.js'
import { ChannelPool, createChannelPool } from './channel-pool.js'

export class ConnectionManager extends CoreConnectionManager {
  /**
   * Makes a channel pool named `name` (or adopts one already made) and owns it.
   * @throws ManagerClosedError, InvalidOptionError (name taken), and what `createChannelPool` throws
   */
  grpc(
    name: string,
    target: string | readonly string[] | ChannelPool,
    options?: ChannelPoolOptions,
  ): ChannelPool {
    this.assertCanAdd(name)
    if (target instanceof ChannelPool && options !== undefined)
      throw new InvalidOptionError('options', options, 'none when an existing ChannelPool is given')
    const pool = target instanceof ChannelPool ? target : createChannelPool(target, { name, ...options })
    return this.add(name, pool)
  }
}
