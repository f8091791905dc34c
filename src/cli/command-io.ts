import { type ErrorContext, classifyError } from './classify-error.js'
import type { ExitCodeValue } from './exit-codes.js'

/** What a command gets from the CLI: its streams, the environment and the interrupt signal. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  readonly env: NodeJS.ProcessEnv
  /** Aborts at the first SIGINT/SIGTERM. */
  readonly signal: AbortSignal
}

/**
 * Reports a failed command: one line on stderr (`berth doctor: error: ...`), and with `--json` an
 * `{ "error": { exitCode, message } }` object on stdout so that a script parsing stdout gets JSON
 * either way. Returns the exit status.
 */
export function reportFailure(
  io: CommandIo,
  command: string,
  err: unknown,
  context: ErrorContext,
  json: boolean,
): ExitCodeValue {
  const { exitCode, message } = classifyError(err, context)
  io.stderr.write(`berth ${command}: error: ${message}\n`)
  if (json) io.stdout.write(`${JSON.stringify({ error: { exitCode, message } }, null, 2)}\n`)
  return exitCode
}
