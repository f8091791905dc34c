/**
 * Parses the targets a channel pool accepts into what berth must do with them:
 * - `'host:port'`, `'dns:///host:port'`, `'dns://authority/host:port'`: names berth resolves
 *   itself (and again every `reresolveEveryMs`), so new backends get traffic without a failure;
 * - `'ipv4:a:p,b:p'`, `'ipv6:[a]:p,...'`, an array of `'host:port'`: a fixed list, changeable with
 *   `setAddresses()`;
 * - `'xds:///name'`: handed to grpc-js as is (needs @grpc/grpc-js-xds).
 * Literal IPs in a `host:port` target need no resolution at all.
 */
import { isIP } from 'node:net'
import { InvalidTargetError } from './errors.js'

export interface HostPort {
  readonly host: string
  readonly port: number
}

export type ParsedTarget =
  /** Names to resolve with DNS (a literal IP resolves to itself). */
  | { readonly kind: 'dns'; readonly names: readonly HostPort[]; readonly authority: string }
  /** A fixed list of addresses. */
  | { readonly kind: 'static'; readonly addresses: readonly HostPort[]; readonly authority: string }
  /** Passed to grpc-js untouched. */
  | { readonly kind: 'xds'; readonly target: string; readonly authority: string }

const DEFAULT_PORT = 443

/** `'host:port'`, `'[v6]:port'` or a bare host (port 443, as grpc-js assumes). */
export function parseHostPort(input: string, original: unknown = input): HostPort {
  let host: string
  let portText: string | undefined
  if (input.startsWith('[')) {
    const end = input.indexOf(']')
    if (end < 0) throw new InvalidTargetError(original, `unclosed '[' in ${JSON.stringify(input)}`)
    host = input.slice(1, end)
    const rest = input.slice(end + 1)
    if (rest !== '' && !rest.startsWith(':')) {
      throw new InvalidTargetError(original, `unexpected ${JSON.stringify(rest)} after ']'`)
    }
    portText = rest === '' ? undefined : rest.slice(1)
    if (isIP(host) !== 6)
      throw new InvalidTargetError(original, `${JSON.stringify(host)} is not an IPv6 address`)
  } else {
    const colons = input.split(':').length - 1
    if (colons > 1) {
      if (isIP(input) === 6) return { host: input, port: DEFAULT_PORT }
      throw new InvalidTargetError(original, `write IPv6 addresses in brackets: [${input}]:port`)
    }
    const at = input.lastIndexOf(':')
    host = at < 0 ? input : input.slice(0, at)
    portText = at < 0 ? undefined : input.slice(at + 1)
  }
  if (host === '') throw new InvalidTargetError(original, 'the host is empty')
  if (/[\s/?#@]/.test(host))
    throw new InvalidTargetError(original, `${JSON.stringify(host)} is not a host name`)
  let port = DEFAULT_PORT
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65_535) {
      throw new InvalidTargetError(
        original,
        `port ${JSON.stringify(portText)} is not a number from 1 to 65535`,
      )
    }
    port = Number(portText)
  }
  return { host, port }
}

/** `host:port` with brackets around IPv6 hosts. */
export function formatHostPort(hp: HostPort): string {
  return isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`
}

function authorityOf(hp: HostPort): string {
  return hp.port === DEFAULT_PORT ? hp.host : formatHostPort(hp)
}

/** @throws InvalidTargetError naming what is wrong */
export function parseTarget(target: unknown): ParsedTarget {
  if (Array.isArray(target)) {
    if (target.length === 0) throw new InvalidTargetError(target, 'the address list is empty')
    const addresses = target.map((a, i) => {
      if (typeof a !== 'string') throw new InvalidTargetError(target, `entry ${i} is not a string`)
      return parseHostPort(a.trim(), target)
    })
    return { kind: 'static', addresses, authority: authorityOf(addresses[0]!) }
  }
  if (typeof target !== 'string')
    throw new InvalidTargetError(target, "expected a string such as 'host:port'")
  const t = target.trim()
  if (t === '') throw new InvalidTargetError(target, 'the target is empty')
  if (t.startsWith('xds:')) return { kind: 'xds', target: t, authority: t.replace(/^xds:\/*/, '') }
  const ipList = /^(ipv4|ipv6):(.*)$/.exec(t)
  if (ipList) {
    const family = ipList[1] === 'ipv4' ? 4 : 6
    const parts = ipList[2]!.replace(/^\/\/\//, '').split(',')
    const addresses = parts.map((p) => {
      const hp = parseHostPort(p.trim(), target)
      if (isIP(hp.host) !== family)
        throw new InvalidTargetError(target, `${p} is not an IPv${family} address`)
      return hp
    })
    return { kind: 'static', addresses, authority: authorityOf(addresses[0]!) }
  }
  const dns = /^dns:(?:\/\/[^/]*\/)?(.*)$/.exec(t)
  const rest = dns ? dns[1]! : t
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest) || /^unix:/.test(rest)) {
    throw new InvalidTargetError(
      target,
      'unsupported scheme (berth serves dns:, ipv4:, ipv6: and xds: targets)',
    )
  }
  const names = rest.split(',').map((p) => parseHostPort(p.trim(), target))
  const first = names[0]!
  if (names.every((n) => isIP(n.host) !== 0))
    return { kind: 'static', addresses: names, authority: authorityOf(first) }
  return { kind: 'dns', names, authority: authorityOf(first) }
}
