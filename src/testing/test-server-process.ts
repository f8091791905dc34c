/**
 * Process plumbing shared by the test servers (PostgreSQL, PgBouncer): a private temp dir the
 * unprivileged user owns, children spawned as that user with their output split into lines, how a
 * child ended, and a free loopback port.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type { RunAs } from './postgres-binaries.js'

/** Every test server listens on loopback only. */
export const HOST = '127.0.0.1'

/** How long to wait for a child's pipes to close once it has exited; see {@link waitForExit}. */
const CLOSE_GRACE_MS = 1_000

/** How a child ended; `error` when it could not be run at all. */
export interface ExitStatus {
  readonly code: number | null
  readonly signal: string | null
  readonly error?: Error
}

/**
 * Creates `os.tmpdir()/<prefix>XXXXXX`, private to `runAs` (or to us). Under `os.tmpdir()` rather than
 * the repo so that an unprivileged user can reach it even when the repo lives under /root.
 */
export async function makeTempDir(prefix: string, runAs: RunAs | undefined): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
  await fs.chmod(dir, 0o700)
  if (runAs) await fs.chown(dir, runAs.uid, runAs.gid)
  return dir
}

/** Writes `dir/name` readable by `runAs` only (it may hold a password) and returns its path. */
export async function writePrivateFile(
  dir: string,
  name: string,
  content: string,
  runAs: RunAs | undefined,
): Promise<string> {
  const file = path.join(dir, name)
  await fs.writeFile(file, content, { mode: 0o600 })
  if (runAs) await fs.chown(file, runAs.uid, runAs.gid)
  return file
}

/** Spawns `binary` in `cwd` as `runAs`, in the C locale, handing every line it prints to `onLine`. */
export function spawnLogged(
  binary: string,
  args: readonly string[],
  options: { cwd: string; runAs: RunAs | undefined; onLine: (line: string) => void },
): ChildProcess {
  const { cwd, runAs, onLine } = options
  const child = spawn(binary, args, {
    cwd,
    // Detached: the child's lifetime is ours to manage, not the terminal's process group's.
    detached: true,
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(runAs && { uid: runAs.uid, gid: runAs.gid }),
  })
  for (const stream of [child.stdout, child.stderr]) {
    let pending = ''
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) onLine(line)
    })
  }
  return child
}

/** Lets a started child (and its pipes) run on without keeping this process alive. */
export function unrefChild(child: ChildProcess): void {
  child.unref()
  for (const stream of [child.stdout, child.stderr]) (stream as net.Socket | null)?.unref()
}

/** Resolves (never rejects) once `child` has ended. */
export function waitForExit(child: ChildProcess): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  }
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }))
    // 'close' rather than 'exit': by then the last log lines have been read, for the error message
    // and to recognize a failed bind. But a postgres backend that outlives a SIGKILLed postmaster can
    // hold the pipes open, so 'exit' is enough after a short grace.
    child.once('close', (code, signal) => resolve({ code, signal }))
    child.once('exit', (code, signal) => {
      setTimeout(() => resolve({ code, signal }), CLOSE_GRACE_MS).unref()
    })
  })
}

/** `exit code 1, signal null`, or why it could not be run. */
export function describeExit(binary: string, { code, signal, error }: ExitStatus): string {
  return error ? `cannot run ${binary}: ${error.message}` : `exit code ${code}, signal ${signal}`
}

/** Asks the kernel for a free port; it can be taken before the server binds it, hence the callers' retries. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()))
    })
  })
}
