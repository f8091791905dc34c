/**
 * Pool names become metric labels and attributes. A pool is often named after where it connects,
 * and that can be a connection string carrying a password: labels keep the name but never a
 * credential.
 */

/** `scheme://user:password@host` -> `scheme://host`. */
const USERINFO = /(\/\/)[^/?#@\s]*@/g
/** `password=...` in a query string or a libpq keyword/value string. */
const SECRET_PARAM =
  /(^|[?&;\s])(password|passwd|pwd|pass|sslpassword|sslkey|secret|token)=("[^"]*"|'[^']*'|[^&;\s]*)/gi

/** The name with any URL userinfo removed and any password-like parameter's value masked. */
export function redactLabel(name: string): string {
  return name.replace(USERINFO, '$1').replace(SECRET_PARAM, '$1$2=***')
}
