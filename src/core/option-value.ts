/**
 * What an error may show of a value a caller passed. One rule for every option error of berth: the
 * value is withheld, and only its type is named, when the caller asks for it (an argument that holds
 * user data, such as SQL parameters), when the option's name looks secret, or when a string looks
 * like it carries a credential. Everything else is shown short: strings cut at 80 characters,
 * objects and arrays by their kind only, never dumped.
 */

/** A name part that marks a secret wherever it stands: `password`, `PGPASSWORD`, `sslpassword`, `clientSecret`. */
const SECRET_NAME = /password|passwd|passphrase|secret|token|authorization/i
/** Name words that mark a secret only as a whole word: `key`, `tls.key`, `privateKey`, `x-api-key` (not `keys`, `sslkey`). */
const SECRET_WORDS = new Set(['key', 'pwd'])
/** Splits an option path into words: at dots, brackets, quotes, `-`, `_` and camelCase humps. */
const WORD_BREAK = /[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])/
/** A URL with a password in its user info, or a `password=...`-style setting inside a string. */
const CREDENTIAL_IN_TEXT = /:\/\/[^/?#@\s]*:[^/?#@\s]*@|(?:password|passwd|pwd|passphrase|secret|token)\s*=/i

/** Whether an option's name (a path such as `tls.key` or `postgres.password`) looks like it holds a secret. */
export function isSecretOption(option: string): boolean {
  if (SECRET_NAME.test(option)) return true
  return option.split(WORD_BREAK).some((word) => SECRET_WORDS.has(word.toLowerCase()))
}

/** Whether a value looks like it carries a credential: a URL with a password, `password=...`. */
export function carriesCredential(value: unknown): boolean {
  return typeof value === 'string' && CREDENTIAL_IN_TEXT.test(value)
}

/** Whether an error about `option` must withhold `value`: asked to, a secret-looking name, or a credential in it. */
export function withholdsValue(option: string, value: unknown, asked: boolean): boolean {
  return asked || isSecretOption(option) || carriesCredential(value)
}

/** Names a value's type only (`a string`, `null`, `an array`), for values that must not be shown. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/** Renders a value for an error message without dumping large objects. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  if (typeof value === 'bigint') return `${value}n`
  return describeType(value)
}
