/**
 * The exit statuses of the `berth` command, stable so that scripts can branch on them. The table in
 * docs/cli.md is the contract; keep the two in step.
 */
export const ExitCode = {
  /** The command did what it was asked and found nothing that needs attention. */
  ok: 0,
  /** `doctor` found pitfalls of warning level; `bench` finished but some cell failed or left connections open. */
  findings: 1,
  /** Unknown command or option, a bad option value, a missing argument, or a refusal to write without `--yes`. */
  usage: 2,
  /** The server could not be reached: refused, unknown host, timeout, TLS failure, too many connections. */
  unreachable: 3,
  /** The connection URL (or a PG* environment variable) is malformed or has an invalid setting. */
  badUrl: 4,
  /** The server refused the login: wrong password, unknown role, no pg_hba.conf entry, no such database. */
  loginRefused: 5,
  /** Logged in, but a statement the command needs failed (permission denied, read-only server, no free connections). */
  serverRefused: 6,
  /** A package the command needs is not installed (`pg`, or the demo's dependencies). */
  missingPackage: 69,
  /** A bug in berth: please report it with the output. */
  internal: 70,
  /** Interrupted by SIGINT or SIGTERM before the command finished (`demo` exits 0: Ctrl-C is how it ends). */
  interrupted: 130,
} as const

export type ExitCodeName = keyof typeof ExitCode
export type ExitCodeValue = (typeof ExitCode)[ExitCodeName]
