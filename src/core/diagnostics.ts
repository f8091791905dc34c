import diagnostics from 'node:diagnostics_channel'

/**
 * Pool events on `diagnostics_channel`. Messages are built only when somebody subscribes, so the
 * hot path pays one `hasSubscribers` read. Subscribe with
 * `diagnostics_channel.subscribe('berth:pool:acquire', fn)`.
 */
export const channels = {
  create: diagnostics.channel('berth:pool:create'),
  acquire: diagnostics.channel('berth:pool:acquire'),
  release: diagnostics.channel('berth:pool:release'),
  destroy: diagnostics.channel('berth:pool:destroy'),
  leak: diagnostics.channel('berth:pool:leak'),
} as const

export type PoolChannelName = keyof typeof channels
