/**
 * What a statement needs from its connection, judged from its text:
 * - `shareable`: a plain statement (select, insert, update, delete, with, values, table, merge,
 *   show, explain); it leaves nothing behind on the connection, so it may be pipelined on a
 *   connection that others use at the same time.
 * - `exclusive`: anything else that leaves no session state (DDL, utility commands): it runs on a
 *   connection of its own.
 * - `session`: it changes session state (SET, RESET, LISTEN, PREPARE, DECLARE, temporary objects,
 *   session advisory locks, set_config, several statements in one string): it runs on a connection
 *   of its own, which is reset with DISCARD ALL before anyone else gets it.
 * - `begin`: it opens a transaction, which a pool-level call cannot keep: use `db.tx()`.
 *
 * The judgement is conservative: when in doubt a statement is not shared.
 */
export type StatementKind = 'shareable' | 'exclusive' | 'session' | 'begin'

const SHAREABLE = new Set([
  'select',
  'insert',
  'update',
  'delete',
  'with',
  'values',
  'table',
  'merge',
  'show',
  'explain',
])
const SESSION = new Set([
  'set',
  'reset',
  'listen',
  'unlisten',
  'prepare',
  'deallocate',
  'declare',
  'discard',
  'load',
])
const BEGIN = new Set(['begin', 'start'])
const SESSION_CALLS =
  /\b(?:pg_(?:try_)?advisory_lock(?:_shared)?|set_config|pg_listening_channels|lo_open)\s*\(/i
const TEMPORARY = /^create\s+(?:(?:global|local)\s+)?(?:temp|temporary)\b/i

export function statementKind(text: string): StatementKind {
  const body = stripLeadingComments(text)
  const keyword = /^[A-Za-z]+/.exec(body)?.[0]?.toLowerCase() ?? ''
  if (BEGIN.has(keyword)) return 'begin'
  // SET LOCAL and SET TRANSACTION last until the end of the transaction: no session state.
  if (keyword === 'set' && /^set\s+(?:local|transaction|constraints)\b/i.test(body)) return 'exclusive'
  if (
    SESSION.has(keyword) ||
    TEMPORARY.test(body) ||
    SESSION_CALLS.test(body) ||
    hasSeveralStatements(body)
  ) {
    return 'session'
  }
  return SHAREABLE.has(keyword) ? 'shareable' : 'exclusive'
}

function stripLeadingComments(text: string): string {
  let s = text.trimStart()
  for (;;) {
    if (s.startsWith('--')) {
      const nl = s.indexOf('\n')
      s = nl < 0 ? '' : s.slice(nl + 1).trimStart()
    } else if (s.startsWith('/*')) {
      const end = s.indexOf('*/')
      s = end < 0 ? '' : s.slice(end + 2).trimStart()
    } else {
      return s
    }
  }
}

/** A `;` with more text after it. Semicolons inside literals count too: that errs on the safe side. */
function hasSeveralStatements(body: string): boolean {
  const i = body.indexOf(';')
  return i >= 0 && body.slice(i + 1).trim().length > 0
}

/**
 * The statement's first SQL keyword, upper-cased (`SELECT`, `INSERT`, `WITH`...), past leading
 * whitespace and comments; '' when there is none. The `operation` of a `berth:pg:query` trace.
 */
export function sqlOperation(text: string): string {
  return /^[A-Za-z]+/.exec(stripLeadingComments(text))?.[0]?.toUpperCase() ?? ''
}
