/**
 * TLS for gRPC channels and servers, and the plaintext guard. grpc-js takes certificates as Buffers
 * and reports a bad one as an OpenSSL message that names no field; these helpers take PEM strings or
 * Buffers, check each field on its own, and say which one is wrong (never echoing a private key).
 *
 * The guard: plaintext to loopback is how tests and sidecars talk, plaintext to anything else is
 * usually a mistake that leaks every request onto the network, so it needs `allowInsecure: true`
 * and even then it warns.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { BlockList, isIP, isIPv4 } from 'node:net'
import { type PeerCertificate, checkServerIdentity, createSecureContext } from 'node:tls'
import * as grpc from '@grpc/grpc-js'
import { BerthError, InvalidOptionError } from '../core/errors.js'

/** A PEM document, as a string or the Buffer read from a file. */
export type Pem = string | Buffer

/** Options of {@link tlsCredentials}. */
export interface TlsCredentialsOptions {
  /** CA certificate(s) that sign the server's certificate, PEM (a bundle is fine). Default: Node's bundled roots. */
  ca?: Pem
  /** Client certificate chain for mTLS, PEM. Give it with `key`, or neither. */
  cert?: Pem
  /** Private key of `cert`, PEM (PKCS#1, PKCS#8 or SEC1; unencrypted). Give it with `cert`, or neither. */
  key?: Pem
  /**
   * Name the server's certificate must carry, when it differs from the host dialed (dialing
   * `10.0.0.7:443` for a certificate issued to `billing.internal`, say). Only the check uses it: to
   * also send it as SNI, create the channel with {@link serverNameOverride}. Default: the host dialed.
   */
  serverName?: string
  /**
   * Verify the server's certificate chain and name. `false` accepts any certificate, which keeps the
   * wire encrypted but lets anyone in the middle read it: for local development only. Default `true`.
   */
  verify?: boolean
}

/** Options of {@link serverTlsCredentials}. */
export interface ServerTlsCredentialsOptions {
  /** The server's certificate chain, PEM. */
  cert: Pem
  /** Private key of `cert`, PEM (unencrypted). */
  key: Pem
  /** CA certificate(s) that sign client certificates, PEM. Needed when client certificates are required. */
  ca?: Pem
  /** Refuse clients that present no certificate signed by `ca` (mTLS). Default: `true` when `ca` is given. */
  requireClientCert?: boolean
}

/** Options of {@link checkTransportSecurity}. */
export interface TransportSecurityOptions {
  /** Permit plaintext to non-loopback addresses (a warning is still emitted). Default `false`. */
  allowInsecure?: boolean
  /**
   * Receives the warning when plaintext is allowed to a non-loopback address. Default:
   * `process.emitWarning` with type `'SecurityWarning'` and code `'BERTH_INSECURE_CHANNEL'`.
   */
  warn?: (message: string) => void
}

/**
 * Plaintext credentials were given for an address that is not loopback, without `allowInsecure:
 * true` (`checkTransportSecurity`, and so `createChannelPool`). What to do: use TLS
 * (`tlsCredentials()`); or, on a network you trust, set `allowInsecure: true`, which still warns
 * (`BERTH_INSECURE_CHANNEL`).
 */
export class InsecureChannelError extends BerthError {
  /** The first address at fault. */
  readonly address: string
  /** Every address at fault. */
  readonly addresses: readonly string[]

  constructor(addresses: readonly string[]) {
    super(
      'BERTH_INSECURE_CHANNEL',
      `Refusing plaintext gRPC to non-loopback ${listAddresses(addresses)}: use TLS credentials (tlsCredentials()) or set allowInsecure: true`,
    )
    this.address = addresses[0] ?? ''
    this.addresses = Object.freeze([...addresses])
  }
}

/**
 * Channel credentials for TLS, or mTLS when `cert` and `key` are given. Throws `InvalidOptionError`
 * naming the field at fault: a malformed PEM, a `cert` without its `key` (or the reverse), or a key
 * that does not belong to the certificate.
 */
export function tlsCredentials(options: TlsCredentialsOptions = {}): grpc.ChannelCredentials {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', options, 'an object of TLS settings')
  }
  const { serverName, verify = true } = options
  const ca = options.ca === undefined ? null : certificates('ca', options.ca)
  const identity = keyPair(options.cert, options.key)
  if (typeof verify !== 'boolean') throw new InvalidOptionError('verify', verify, 'a boolean')
  if (serverName !== undefined && (typeof serverName !== 'string' || serverName === '')) {
    throw new InvalidOptionError('serverName', serverName, 'a non-empty host name')
  }
  const verifyOptions: grpc.VerifyOptions = {}
  if (!verify) verifyOptions.rejectUnauthorized = false
  else if (serverName !== undefined) {
    verifyOptions.checkServerIdentity = (_host: string, cert: PeerCertificate) =>
      checkServerIdentity(serverName, cert)
  }
  return grpc.credentials.createSsl(ca, identity?.key ?? null, identity?.cert ?? null, verifyOptions)
}

/**
 * Server credentials for TLS, or mTLS when client certificates are required. Throws
 * `InvalidOptionError` naming the field at fault, as {@link tlsCredentials} does.
 */
export function serverTlsCredentials(options: ServerTlsCredentialsOptions): grpc.ServerCredentials {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', options, 'an object with cert and key')
  }
  const identity = keyPair(options.cert, options.key)
  if (identity === undefined) throw new InvalidOptionError('cert', options.cert, 'a PEM certificate chain')
  const ca = options.ca === undefined ? null : certificates('ca', options.ca)
  const requireClientCert = options.requireClientCert ?? ca !== null
  if (typeof requireClientCert !== 'boolean') {
    throw new InvalidOptionError('requireClientCert', requireClientCert, 'a boolean')
  }
  if (requireClientCert && ca === null) {
    throw new InvalidOptionError(
      'ca',
      undefined,
      'the PEM CA that signs client certificates, as requireClientCert is true',
    )
  }
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ cert_chain: identity.cert, private_key: identity.key }],
    requireClientCert,
  )
}

/**
 * Channel options that send `serverName` as the TLS SNI and the HTTP/2 `:authority`, and check the
 * server's certificate against it: for dialing an address whose certificate carries another name
 * (through a proxy that routes on SNI, say). Spread them into the client's or channel's options.
 */
export function serverNameOverride(serverName: string): grpc.ChannelOptions {
  if (typeof serverName !== 'string' || serverName === '') {
    throw new InvalidOptionError('serverName', serverName, 'a non-empty host name')
  }
  return { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName }
}

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

/**
 * The plaintext guard. With insecure `credentials`, every address must be loopback (127.0.0.0/8,
 * `::1`, `localhost`, or a unix socket); otherwise this throws `InsecureChannelError` naming the
 * addresses, unless `allowInsecure` is set, in which case it calls `warn` once for all of them.
 * Secure credentials pass without a look at the addresses.
 *
 * Addresses are `host:port`, `[v6]:port`, a bare host, or a grpc-js target (`dns:`, `ipv4:`,
 * `ipv6:`, `unix:`). A host name other than `localhost` counts as non-loopback even if it resolves
 * to 127.0.0.1: DNS answers can change, and the check runs before any lookup.
 */
export function checkTransportSecurity(
  addresses: readonly string[],
  credentials: grpc.ChannelCredentials,
  options: TransportSecurityOptions = {},
): void {
  if (!Array.isArray(addresses) || addresses.some((a) => typeof a !== 'string' || a === '')) {
    throw new InvalidOptionError('addresses', addresses, 'an array of non-empty address strings')
  }
  if (
    credentials === null ||
    typeof credentials !== 'object' ||
    typeof credentials._isSecure !== 'function'
  ) {
    throw new InvalidOptionError('credentials', credentials, 'grpc.ChannelCredentials')
  }
  const { allowInsecure = false, warn = emitInsecureWarning } = options
  if (typeof allowInsecure !== 'boolean')
    throw new InvalidOptionError('allowInsecure', allowInsecure, 'a boolean')
  if (typeof warn !== 'function') throw new InvalidOptionError('warn', warn, 'a function')
  if (credentials._isSecure()) return
  const exposed = addresses.filter((address) => !hostsOf(address).every(isLoopbackHost))
  if (exposed.length === 0) return
  if (!allowInsecure) throw new InsecureChannelError(exposed)
  warn(
    `berth: plaintext gRPC (insecure credentials) to non-loopback ${listAddresses(exposed)}; traffic is unencrypted and unauthenticated`,
  )
}

/** Whether `host` (no port, no brackets) is a loopback address or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '')
  if (h === 'localhost') return true
  const bare = h.replace(/%.*$/, '') // an IPv6 zone id names an interface, not an address
  const family = isIP(bare)
  if (family === 0) return false
  return LOOPBACK.check(bare, family === 4 ? 'ipv4' : 'ipv6')
}

/** The hosts an address names; `[]` for a unix socket, which is local by construction. */
function hostsOf(address: string): string[] {
  if (/^unix(-abstract)?:/i.test(address)) return []
  const ipList = /^ipv[46]:(.*)$/i.exec(address)
  if (ipList) return ipList[1]!.split(',').map(hostOfHostPort)
  return [hostOfHostPort(address.replace(/^dns:(\/\/[^/]*\/)?/i, ''))]
}

function hostOfHostPort(hostPort: string): string {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']')
    return end === -1 ? hostPort : hostPort.slice(1, end)
  }
  if (isIP(hostPort.replace(/%.*$/, '')) !== 0) return hostPort // bare IPv4 or IPv6, no port
  const colon = hostPort.lastIndexOf(':')
  return colon === -1 ? hostPort : hostPort.slice(0, colon)
}

function listAddresses(addresses: readonly string[]): string {
  return `address${addresses.length === 1 ? '' : 'es'} ${addresses.join(', ')}`
}

function emitInsecureWarning(message: string): void {
  process.emitWarning(message, { type: 'SecurityWarning', code: 'BERTH_INSECURE_CHANNEL' })
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g

/** Checks that `value` is PEM text whose every certificate parses; returns it as a Buffer. */
function certificates(field: string, value: unknown): Buffer {
  const pem = pemBuffer(field, value, 'a PEM certificate')
  const blocks = pem.toString('latin1').match(CERT_BLOCK) ?? []
  if (blocks.length === 0)
    throw new InvalidOptionError(field, value, 'a PEM certificate (no CERTIFICATE block)')
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block)
    } catch (err) {
      throw new InvalidOptionError(
        field,
        value,
        `PEM certificates (certificate #${i + 1}: ${messageOf(err)})`,
      )
    }
  })
  return pem
}

/** Checks a cert/key pair given both or neither, and that the key belongs to the certificate. */
function keyPair(cert: unknown, key: unknown): { cert: Buffer; key: Buffer } | undefined {
  if (cert === undefined && key === undefined) return undefined
  if (key === undefined) throw new InvalidOptionError('key', undefined, 'a PEM private key, as cert is given')
  if (cert === undefined)
    throw new InvalidOptionError('cert', undefined, 'a PEM certificate chain, as key is given')
  const certPem = certificates('cert', cert)
  // The option error withholds a `key`'s value by its name: no key material reaches a message.
  const keyPem = pemBuffer('key', key, 'a PEM private key')
  try {
    createPrivateKey(keyPem)
  } catch (err) {
    throw new InvalidOptionError('key', key, `an unencrypted PEM private key (${messageOf(err)})`)
  }
  try {
    // grpc-js builds a server's secure context only at bind time; a mismatch would surface there.
    createSecureContext({ cert: certPem, key: keyPem })
  } catch (err) {
    throw new InvalidOptionError('key', key, `the private key of cert (${messageOf(err)})`)
  }
  return { cert: certPem, key: keyPem }
}

function pemBuffer(field: string, value: unknown, expected: string): Buffer {
  const pem = typeof value === 'string' ? Buffer.from(value) : Buffer.isBuffer(value) ? value : undefined
  if (pem === undefined) throw new InvalidOptionError(field, value, `${expected}, as a string or Buffer`)
  if (!pem.includes('-----BEGIN ')) throw new InvalidOptionError(field, value, `${expected} (no PEM header)`)
  return pem
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
