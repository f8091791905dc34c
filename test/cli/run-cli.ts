/** Runs the CLI from source in a child process, as a user would run `berth`. */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { until } from '../support/until.js'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const MAIN = 'src/cli/main.ts'

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv
  /** Killed after this long (a generous bound, not a performance assertion). Default 120 s. */
  readonly killAfterMs?: number
  /** Called once the child is spawned (to send it signals). */
  readonly onSpawn?: (child: ChildProcess) => void
  /** The script to run instead of the CLI's entry point. */
  readonly script?: string
}

export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const started = performance.now()
  // A DATABASE_URL of the environment must not reach the demo unless a test gives one.
  const { DATABASE_URL: _ignored, ...inherited } = process.env
  const env = { ...inherited, ...options.env }
  const child = spawn(process.execPath, ['--import', 'tsx', options.script ?? MAIN, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  options.onSpawn?.(child)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s
  })
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 120_000)
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => {
      clearTimeout(killer)
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started })
    })
  })
}

/** Waits (bounded) until `read()` contains `text`. */
export async function waitForOutput(read: () => string, text: string, ms = 60_000): Promise<void> {
  await until(() => read().includes(text), ms, {
    intervalMs: 25,
    message: () => `timed out waiting for ${JSON.stringify(text)} in: ${read()}`,
  })
}
