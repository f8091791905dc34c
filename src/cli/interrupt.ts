import { CliError } from './cli-error.js'
import { ExitCode } from './exit-codes.js'

/** The CLI's handling of SIGINT and SIGTERM for one command run. */
export interface InterruptTrap {
  /** Aborts at the first SIGINT or SIGTERM; the reason is a CliError with exit status 130. */
  readonly signal: AbortSignal
  /** Removes the handlers. */
  dispose(): void
}

/** What the trap needs of `process`; injectable for tests. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']

/**
 * The first SIGINT or SIGTERM aborts `signal`, so the command stops and cleans up (closes pools,
 * drops the bench schema, shuts the demo down). A second one means "now": `forceExit(130)` without
 * waiting for the cleanup.
 */
export function trapInterrupts(
  stderr: NodeJS.WritableStream,
  source: SignalSource = process,
  forceExit: (code: number) => void = (code) => process.exit(code),
): InterruptTrap {
  const controller = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      stderr.write(`\nberth: ${signal} again, exiting without cleaning up\n`)
      forceExit(ExitCode.interrupted)
      return
    }
    stderr.write(`\nberth: ${signal} received, shutting down (press Ctrl-C again to force)\n`)
    controller.abort(new CliError(ExitCode.interrupted, `interrupted by ${signal}`))
  }
  for (const s of SIGNALS) source.on(s, onSignal)
  return {
    signal: controller.signal,
    dispose: () => {
      for (const s of SIGNALS) source.off(s, onSignal)
    },
  }
}
