/** The two files a test PgBouncer reads: its `pgbouncer.ini` and the `userlist.txt` it authenticates with. */
import { InvalidOptionError } from '../core/errors.js'

/** What goes into `pgbouncer.ini`. */
export interface PgBouncerIni {
  readonly listenHost: string
  readonly listenPort: number
  readonly authFile: string
  /** Logs in to the server, and is the admin and stats user of the console. */
  readonly user: string
  readonly poolMode: string
  readonly defaultPoolSize: number | undefined
  readonly maxClientConn: number | undefined
  /** Applied after (and so overriding) the generated settings. */
  readonly extra: Record<string, string | number> | undefined
  /** The server every database name is forwarded to. */
  readonly target: { readonly host: string; readonly port: number }
}

/**
 * `pgbouncer.ini` forwarding every database to `target`.
 *
 * @throws {InvalidOptionError} for a setting name or value that would break the file's syntax.
 */
export function pgBouncerIni(ini: PgBouncerIni): string {
  const settings: Record<string, string | number> = {
    listen_addr: ini.listenHost,
    listen_port: ini.listenPort,
    // No unix socket: nothing to clean up, and no collision with a system pgbouncer's socket.
    unix_socket_dir: '',
    pidfile: '',
    logfile: '',
    syslog: 0,
    auth_type: 'scram-sha-256',
    auth_file: ini.authFile,
    admin_users: ini.user,
    stats_users: ini.user,
    pool_mode: ini.poolMode,
    ...(ini.defaultPoolSize !== undefined && { default_pool_size: ini.defaultPoolSize }),
    ...(ini.maxClientConn !== undefined && { max_client_conn: ini.maxClientConn }),
    server_tls_sslmode: 'disable',
    client_tls_sslmode: 'disable',
    // Sent by some drivers (pgjdbc, psycopg); harmless to ignore for tests.
    ignore_startup_parameters: 'extra_float_digits',
    ...ini.extra,
  }
  const target = `host=${connectValue(ini.target.host)} port=${ini.target.port}`
  const lines = ['[databases]', `* = ${target}`, '', '[pgbouncer]']
  for (const [name, value] of Object.entries(settings)) {
    if (!/^\w+$/.test(name) || /[\r\n]/.test(String(value))) {
      throw new InvalidOptionError(
        `extra[${JSON.stringify(name)}]`,
        value,
        'a setting name of letters, digits and _ with a value on one line',
      )
    }
    lines.push(`${name} = ${value}`)
  }
  return `${lines.join('\n')}\n`
}

/** `userlist.txt` with the one user; PgBouncer uses the plain password for SCRAM both ways. */
export function pgBouncerUserList(user: string, password: string): string {
  return `${quote(user)} ${quote(password)}\n`
}

/** userlist.txt syntax: double-quoted, with embedded double quotes doubled. */
function quote(value: string): string {
  return `"${value.replaceAll('"', '""')}"`
}

/** libpq-style connect-string value, as PgBouncer's `[databases]` section parses it. */
function connectValue(value: string): string {
  return /^[\w.:-]+$/.test(value) ? value : `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}
