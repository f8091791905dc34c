#!/usr/bin/env node
/**
 * The `berth` command: `berth demo`, `berth doctor <postgres-url>`, `berth bench <postgres-url>`.
 * bin/berth.js runs `main()` from the build (dist/cli/main.js); `node --import tsx
 * src/cli/main.ts ...` runs it from source.
 */
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { trapInterrupts } from './interrupt.js'
import { type CliHooks, runCli } from './program.js'

export { ExitCode } from './exit-codes.js'
export { runCli } from './program.js'

/** How long the process may linger after the command finished (an open handle), before it is ended. */
const EXIT_GRACE_MS = 2_000

/**
 * Runs the CLI on this process: traps SIGINT/SIGTERM for the command (first: graceful, second:
 * exit 130 at once), sets `process.exitCode`, and makes sure the process ends even if a library
 * left a handle open.
 */
export async function main(
  argv: readonly string[] = process.argv.slice(2),
  hooks: CliHooks = {},
): Promise<number> {
  // A reader that went away (`berth doctor ... | head`) is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  })
  const trap = trapInterrupts(process.stderr)
  let code: number
  try {
    code = await runCli(
      argv,
      {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
        signal: trap.signal,
      },
      hooks,
    )
  } finally {
    trap.dispose()
  }
  process.exitCode = code
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref()
  return code
}

function isEntryPoint(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url
  } catch {
    return false
  }
}

if (isEntryPoint()) await main()
