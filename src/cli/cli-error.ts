import { BerthError } from '../core/errors.js'
import { ExitCode, type ExitCodeValue } from './exit-codes.js'

/**
 * An error the `berth` command reports as one line and an exit status (`exitCode`, one of `ExitCode`:
 * a usage error, a server unreachable or refusing, a bad URL, an interruption, a bug). `message` must already be fit to print: no
 * password, no stack. What to do: what the line says; `berth <command> --help` for usage.
 */
export class CliError extends BerthError {
  readonly exitCode: ExitCodeValue

  constructor(exitCode: ExitCodeValue, message: string, options?: { cause?: unknown }) {
    super('BERTH_CLI', message, options)
    this.exitCode = exitCode
  }
}

/**
 * In `berth bench`, a library that is not installed (postgres.js, an optional peer) was asked to
 * make a client. The bench lists such a library as unavailable and never measures it, so seeing
 * this is a bug in the bench. What to do: report it; `npm install postgres` to compare with it.
 */
export class BenchLibraryUnavailableError extends BerthError {
  constructor(library: string) {
    super('BERTH_BENCH_UNAVAILABLE', `${library} is not installed`)
  }
}

/** A bad command line: unknown option, value out of range, missing argument. */
export function usageError(message: string): CliError {
  return new CliError(ExitCode.usage, message)
}
