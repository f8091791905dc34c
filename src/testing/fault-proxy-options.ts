import net from 'node:net'
import { InvalidOptionError } from '../core/errors.js'
import type { FaultDirectionOption, FaultProxyEndpoint, RefuseMode } from './fault-proxy-types.js'

const DEFAULT_LISTEN_HOST = '127.0.0.1'
const DIRECTIONS: readonly FaultDirectionOption[] = ['both', 'upstream', 'downstream']
const REFUSE_MODES: readonly RefuseMode[] = ['refuse', 'reset']

const loopback = new net.BlockList()
loopback.addSubnet('127.0.0.0', 8, 'ipv4')
loopback.addAddress('::1', 'ipv6')

/** True for `localhost`, 127.0.0.0/8 and ::1 (also written long-hand or IPv4-mapped). */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true
  const family = net.isIP(host)
  if (family === 4) return loopback.check(host, 'ipv4')
  if (family === 6) return loopback.check(host, 'ipv6')
  return false
}

export function validateEndpoint(value: unknown, option: string): FaultProxyEndpoint {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(option, value, 'an object { host, port }')
  }
  const { host, port } = value as { host?: unknown; port?: unknown }
  if (typeof host !== 'string' || host === '') {
    throw new InvalidOptionError(`${option}.host`, host, 'a non-empty host name or IP address')
  }
  if (!isPort(port) || port === 0) {
    throw new InvalidOptionError(`${option}.port`, port, 'an integer port from 1 to 65535')
  }
  return { host, port }
}

export function validateListen(value: unknown, allowNonLoopback: unknown): { host: string; port: number } {
  if (allowNonLoopback !== undefined && typeof allowNonLoopback !== 'boolean') {
    throw new InvalidOptionError('allowNonLoopback', allowNonLoopback, 'a boolean')
  }
  if (value === undefined) return { host: DEFAULT_LISTEN_HOST, port: 0 }
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError('listen', value, 'an object { host?, port? }')
  }
  const { host = DEFAULT_LISTEN_HOST, port = 0 } = value as { host?: unknown; port?: unknown }
  if (typeof host !== 'string' || host === '') {
    throw new InvalidOptionError('listen.host', host, 'a non-empty host name or IP address')
  }
  if (!allowNonLoopback && !isLoopbackHost(host)) {
    throw new InvalidOptionError(
      'listen.host',
      host,
      'a loopback address (127.0.0.0/8, ::1 or localhost); pass allowNonLoopback: true to listen elsewhere',
    )
  }
  if (!isPort(port)) throw new InvalidOptionError('listen.port', port, 'an integer port from 0 to 65535')
  return { host, port }
}

export function validateMs(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError(option, value, 'a finite number of milliseconds >= 0')
  }
  return value
}

export function validateBytesPerSecond(value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new InvalidOptionError('bytesPerSecond', value, 'a number > 0, or Infinity for no limit')
  }
  return value
}

export function validateDirection(value: unknown): FaultDirectionOption {
  if (value === undefined) return 'both'
  if (!DIRECTIONS.includes(value as FaultDirectionOption)) {
    throw new InvalidOptionError('direction', value, `one of ${DIRECTIONS.join(', ')}`)
  }
  return value as FaultDirectionOption
}

export function validateRefuseMode(value: unknown): RefuseMode {
  if (value === undefined) return 'refuse'
  if (!REFUSE_MODES.includes(value as RefuseMode)) {
    throw new InvalidOptionError('mode', value, `one of ${REFUSE_MODES.join(', ')}`)
  }
  return value as RefuseMode
}

export function validateSwitch(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, value, 'a boolean')
  return value
}

export function validateRandom(value: unknown): () => number {
  if (value === undefined) return Math.random
  if (typeof value !== 'function')
    throw new InvalidOptionError('random', value, 'a function returning [0, 1)')
  return value as () => number
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535
}
