/**
 * Finding a runnable `pgbouncer`, and who may run it: PgBouncer refuses to run as root, so as root it
 * runs as an unprivileged OS user.
 */
import { execFile } from 'node:child_process'
import { constants, promises as fs } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { PgBouncerError, PgBouncerNotInstalledError } from './pgbouncer-errors.js'
import { POSTGRES_OS_USER, type RunAs, lookupIds } from './postgres-binaries.js'
import { checkPgBouncerBinary } from './test-server-options.js'

const execFileAsync = promisify(execFile)

/** What {@link findPgBouncer} found. */
export interface PgBouncerBinary {
  readonly path: string
  readonly version: string
}

const FALLBACK_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin', '/opt/homebrew/bin']
/** The user PgBouncer runs as when we are root and there is no `postgres` user. */
const FALLBACK_OS_USER = 'nobody'

/**
 * Locates a runnable `pgbouncer` (`binary`, else PATH, else the usual sbin directories) and its version.
 *
 * @throws {PgBouncerNotInstalledError} when there is none.
 */
export async function findPgBouncer(binary?: string): Promise<PgBouncerBinary> {
  checkPgBouncerBinary('binary', binary)
  const candidates = binary
    ? [binary]
    : [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), ...FALLBACK_DIRS].map((dir) =>
        path.join(dir, 'pgbouncer'),
      )
  for (const candidate of new Set(candidates)) {
    const found = path.resolve(candidate)
    if (!(await isExecutableFile(found))) continue
    try {
      const { stdout } = await execFileAsync(found, ['--version'], { timeout: 10_000 })
      const version = /PgBouncer\s+(\d+(?:\.\d+)*)/i.exec(stdout)?.[1]
      if (version) return { path: found, version }
    } catch {
      // Not a working pgbouncer; try the next candidate.
    }
  }
  const where = binary ? `at ${binary}` : `on PATH or in ${FALLBACK_DIRS.join(', ')}`
  throw new PgBouncerNotInstalledError(
    `pgbouncer is not installed: no runnable pgbouncer executable ${where} (Debian/Ubuntu: apt-get install pgbouncer)`,
  )
}

/** The user to run PgBouncer as: undefined unless we are root, then `postgres` or else `nobody`. */
export async function pgBouncerUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined
  for (const name of [POSTGRES_OS_USER, FALLBACK_OS_USER]) {
    const ids = await lookupIds(name)
    if (ids && ids.uid !== 0) return ids
  }
  throw new PgBouncerError(
    `pgbouncer refuses to run as root and neither the "${POSTGRES_OS_USER}" nor the "${FALLBACK_OS_USER}" OS user exists`,
  )
}

/** Immediate shutdown: SIGTERM before PgBouncer 1.23, SIGQUIT since (SIGTERM now waits for clients). */
export function immediateShutdownSignal(version: string): NodeJS.Signals {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major > 1 || (major === 1 && minor >= 23) ? 'SIGQUIT' : 'SIGTERM'
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file)
    if (!stat.isFile()) return false
    await fs.access(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}
