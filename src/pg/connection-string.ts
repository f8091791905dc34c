/**
 * Splits a `postgres://` URL into libpq keywords. Values stay strings here; `config.ts` checks
 * them. The parser is hand-written rather than `new URL()` or `pg-connection-string` because it has
 * to name the part at fault (`port`, not "Invalid URL"), split host lists (`h1:p1,h2:p2`) as libpq does, keep `+` literal as
 * libpq does, and above all know which characters may belong to a password so that no error echoes
 * one, even when the URL is malformed.
 */
import { PgConfigError } from './errors.js'

/** One setting found in the connection string. */
export interface UrlParam {
  /**
   * The name shown in errors: a libpq keyword (`port`, `dbname`, `pool_max_conns`), printable and
   * at most 40 characters, or `'connection string'` when the name itself may be part of a password.
   */
  readonly field: string
  /** The decoded value. */
  readonly value: string
  /** The value may contain (part of) a password: errors must not show it. */
  readonly hidden: boolean
}

/** A connection string split into settings. Query parameters override the URL's parts, as in libpq. */
export interface ParsedConnectionString {
  readonly params: ReadonlyMap<string, UrlParam>
  /** Password texts found, raw and decoded, for callers that must scrub them from messages. */
  readonly secrets: readonly string[]
}

const SCHEME = /^postgres(?:ql)?:\/\//i

const AMBIGUOUS_AT =
  'an @ after the host is ambiguous: percent-encode @ / ? : in the user name and password (%40 %2F %3F %3A)'

interface Slice {
  readonly text: string
  readonly start: number
}

/**
 * Parses `postgres[ql]://[user[:password]@][host][:port][,host[:port]...][/dbname][?name=value&...]`. The host may
 * be an IPv6 literal in brackets (`[::1]:5432`) or a percent-encoded Unix socket directory
 * (`%2Fvar%2Frun%2Fpostgresql`). Every part is percent-decoded; `+` stays a plus sign (libpq).
 *
 * @throws PgConfigError naming the part at fault, with the value withheld where it may hold a password.
 */
export function parseConnectionString(text: string): ParsedConnectionString {
  const scheme = SCHEME.exec(text)
  if (scheme === null) throw schemeError(text)
  const base = scheme[0].length

  // Any character between the first ':' after the scheme and the last '@' may be a password,
  // whatever a malformed URL makes of it: a value touching that span is never shown.
  const lastAt = text.lastIndexOf('@')
  const firstColon = text.indexOf(':', base)
  const secretStart = firstColon >= 0 && firstColon < lastAt ? firstColon + 1 : -1
  const secretEnd = secretStart >= 0 ? lastAt : -1
  // Likewise everything in the query after its first mention of a password (set below): a stray `?`
  // can turn `password=...` into another parameter's name or value, and a raw `&` can split a
  // password so that its tail looks like a parameter of its own.
  let querySecretStart = Number.POSITIVE_INFINITY
  const overlapsSecret = (s: Slice): boolean =>
    (secretStart >= 0 && s.start < secretEnd && s.start + s.text.length > secretStart) ||
    s.start + s.text.length > querySecretStart

  const rest = text.slice(base)
  const q = rest.indexOf('?')
  const beforeQuery = q < 0 ? rest : rest.slice(0, q)
  const slash = beforeQuery.indexOf('/')
  const authority = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash)
  const at = authority.lastIndexOf('@')
  const userinfo: Slice | undefined = at < 0 ? undefined : { text: authority.slice(0, at), start: base }
  const hostport: Slice = { text: authority.slice(at + 1), start: base + at + 1 }
  const path: Slice | undefined =
    slash < 0 ? undefined : { text: beforeQuery.slice(slash + 1), start: base + slash + 1 }

  let user: Slice | undefined
  let password: Slice | undefined
  if (userinfo !== undefined) {
    const colon = userinfo.text.indexOf(':')
    user = { text: colon < 0 ? userinfo.text : userinfo.text.slice(0, colon), start: userinfo.start }
    if (colon >= 0) password = { text: userinfo.text.slice(colon + 1), start: userinfo.start + colon + 1 }
  }

  const pieces: Slice[] = []
  if (q >= 0) {
    const query = rest.slice(q + 1)
    const mention = /password/i.exec(query)
    if (mention !== null) querySecretStart = base + q + 1 + mention.index + mention[0].length
    let start = base + q + 1
    for (const piece of query.split('&')) {
      if (piece !== '') pieces.push({ text: piece, start })
      start += piece.length + 1
    }
  }
  const pairs: { key: Slice; value: Slice }[] = []
  for (const piece of pieces) {
    const eq = piece.text.indexOf('=')
    const key = { text: eq < 0 ? piece.text : piece.text.slice(0, eq), start: piece.start }
    const value = { text: eq < 0 ? '' : piece.text.slice(eq + 1), start: piece.start + eq + 1 }
    // An encoded name (`p%61ssword=`) hides its value too.
    if (eq >= 0 && tryDecode(key.text)?.toLowerCase().includes('password') === true) {
      querySecretStart = Math.min(querySecretStart, value.start)
    }
    pairs.push({ key, value })
  }

  // Passwords are collected before anything is decoded, so that every later error can be checked.
  const secrets: string[] = []
  const addSecret = (raw: string): void => {
    if (raw === '') return
    secrets.push(raw)
    const decoded = tryDecode(raw)
    if (decoded !== undefined && decoded !== '') secrets.push(decoded)
  }
  if (password !== undefined) addSecret(password.text)
  for (const pair of pairs) if (tryDecode(pair.key.text) === 'password') addSecret(pair.value.text)

  const isHidden = (s: Slice, decoded?: string): boolean =>
    overlapsSecret(s) || secrets.some((p) => s.text.includes(p) || (decoded?.includes(p) ?? false))

  for (const piece of pieces) {
    if (piece.text.includes('=')) continue
    // A piece without `=` may be the tail of a password split by a raw `&`: name it only when it
    // cannot be, and never show it as a value.
    const decoded = tryDecode(piece.text)
    throw new PgConfigError(
      isHidden(piece, decoded) ? 'connection string' : displayName(decoded ?? piece.text),
      undefined,
      'expected name=value in the query string',
      { hidden: true },
    )
  }

  const params = new Map<string, UrlParam>()
  const put = (name: string, s: Slice, secret = false, inQuery = false, nameHidden = false): void => {
    const field = nameHidden ? 'connection string' : displayName(name)
    const hiddenRaw = secret || isHidden(s)
    // A malformed query value is never shown: a stray `?` or `&` may have put a password into it.
    const value = decode(field, s, hiddenRaw || inQuery)
    params.set(name, { field, value, hidden: hiddenRaw || isHidden(s, value) })
  }

  if (user !== undefined && user.text !== '') put('user', user)
  if (password !== undefined) put('password', password, true)
  // libpq's host list: `h1:p1,h2,h3:p3` gives host=h1,h2,h3 and port=p1,,p3 (an empty port is the default).
  const hosts: string[] = []
  const ports: string[] = []
  let hidden = false
  let start = hostport.start
  for (const part of hostport.text === '' ? [] : hostport.text.split(',')) {
    const slice = { text: part, start }
    start += part.length + 1
    if (part === '')
      throw new PgConfigError('host', undefined, 'an empty entry in the host list', { hidden: true })
    let host = ''
    let port = ''
    parseHostPort(slice, isHidden, (field, s) => {
      hidden ||= isHidden(s)
      const value = decode(field, s, isHidden(s))
      if (field === 'host') host = value
      else port = value
    })
    hosts.push(host)
    ports.push(port)
  }
  if (hosts.some((h) => h !== '')) params.set('host', { field: 'host', value: hosts.join(','), hidden })
  if (ports.some((p) => p !== '')) params.set('port', { field: 'port', value: ports.join(','), hidden })
  if (path !== undefined && path.text !== '') {
    if (path.text.includes('@')) {
      // Most likely a password with a raw '/' (`u:pa/ss@host/db`): refuse rather than guess.
      const hidden = isHidden(path)
      throw new PgConfigError('dbname', hidden ? undefined : path.text, AMBIGUOUS_AT, { hidden })
    }
    put('dbname', path)
  }
  for (const { key, value } of pairs) {
    // A name inside the user info: the URL is derailed (`u:pa?ss=x@h`), refuse rather than guess.
    if (secretStart >= 0 && key.start < secretEnd && key.start + key.text.length > secretStart) {
      throw nameLooksLikePassword()
    }
    // A name that may be part of a password is accepted but never shown.
    const name = tryDecode(key.text)
    const nameHidden = isHidden(key, name)
    if (name === undefined) {
      throw new PgConfigError(
        nameHidden ? 'connection string' : displayName(key.text),
        undefined,
        'malformed percent-encoding in a query parameter name',
        { hidden: true },
      )
    }
    put(name, value, name === 'password', true, nameHidden)
  }
  return { params, secrets }
}

function parseHostPort(
  hostport: Slice,
  isHidden: (s: Slice) => boolean,
  put: (field: string, s: Slice) => void,
): void {
  const { text, start } = hostport
  if (text === '') return
  const fail = (field: string, s: Slice, reason: string): never => {
    const hidden = isHidden(s)
    throw new PgConfigError(field, hidden ? undefined : s.text, reason, { hidden })
  }
  let host: Slice
  let portText: Slice | undefined
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0) fail('host', hostport, 'an IPv6 address opened with [ must be closed with ]')
    host = { text: text.slice(1, close), start: start + 1 }
    const after = text.slice(close + 1)
    if (after !== '' && !after.startsWith(':')) {
      fail('host', hostport, 'expected [ipv6-address] or [ipv6-address]:port')
    }
    if (after.length > 1) portText = { text: after.slice(1), start: start + close + 2 }
    if (host.text === '') fail('host', hostport, 'an empty IPv6 address')
  } else {
    const colon = text.indexOf(':')
    if (colon >= 0 && text.indexOf(':', colon + 1) >= 0) {
      fail('host', hostport, 'an IPv6 address must be written in brackets, e.g. [::1]:5432')
    }
    host = { text: colon < 0 ? text : text.slice(0, colon), start }
    if (colon >= 0 && colon < text.length - 1) {
      portText = { text: text.slice(colon + 1), start: start + colon + 1 }
    }
  }
  if (host.text !== '') put('host', host)
  if (portText !== undefined) put('port', portText)
}

function nameLooksLikePassword(): PgConfigError {
  return new PgConfigError('connection string', undefined, 'a query parameter name looks like a password', {
    hidden: true,
  })
}

/** A parameter name as errors show it: printable ASCII only (others become `?`), at most 40 characters. */
function displayName(name: string): string {
  if (name === '') return '(empty name)'
  const clean = name.replace(/[^\x21-\x7e]/g, '?')
  return clean.length > 40 ? `${clean.slice(0, 37)}...` : clean
}

function decode(field: string, s: Slice, hidden: boolean): string {
  const decoded = tryDecode(s.text)
  if (decoded === undefined) {
    throw new PgConfigError(field, hidden ? undefined : s.text, 'malformed percent-encoding', { hidden })
  }
  return decoded
}

function tryDecode(text: string): string | undefined {
  if (!text.includes('%')) return text
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

function schemeError(text: string): PgConfigError {
  const other = /^([a-zA-Z][a-zA-Z0-9+.-]{0,19}):\/\//.exec(text)
  if (other !== null) {
    return new PgConfigError(
      'connection string',
      `${other[1]}://`,
      'expected a URL starting with postgres:// or postgresql://',
    )
  }
  const reason = /^\s*[A-Za-z_]\w*\s*=/.test(text)
    ? 'key/value connection strings ("host=... dbname=...") are not supported; use a postgres:// URL'
    : 'expected a URL starting with postgres:// or postgresql://'
  return new PgConfigError('connection string', undefined, reason, { hidden: true })
}
