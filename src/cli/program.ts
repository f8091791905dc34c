import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { registerBench } from './command-bench.js'
import { type DemoModule, registerDemo } from './command-demo.js'
import { registerDoctor } from './command-doctor.js'
import type { CommandIo } from './command-io.js'
import { ExitCode } from './exit-codes.js'

/** Seams for tests. */
export interface CliHooks {
  /** Replaces the dynamic import of src/demo. */
  readonly loadDemo?: () => Promise<DemoModule>
}

const HELP_AFTER = `
Exit status: 0 ok, 1 findings (doctor warnings, bench problems), 2 usage error,
3 cannot connect, 4 bad connection URL, 5 login refused, 6 a statement was refused,
69 a needed package is missing, 70 internal error, 130 interrupted. See docs/cli.md.`

/**
 * Runs the `berth` command line (`argv` without the node and script paths) and returns the exit
 * status. Never throws, never calls process.exit: the caller decides.
 */
export async function runCli(argv: readonly string[], io: CommandIo, hooks: CliHooks = {}): Promise<number> {
  let exitCode: number = ExitCode.ok
  const setExit = (code: number) => {
    exitCode = code
  }
  const program = new Command('berth')
    .description('berth: connection management for Node.js services (Postgres and gRPC pools)')
    .version(version(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride()
    .addHelpText('after', HELP_AFTER)
  registerDemo(program, io, setExit, hooks.loadDemo)
  registerDoctor(program, io, setExit)
  registerBench(program, io, setExit)
  for (const command of program.commands) {
    command.exitOverride().configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    command.showHelpAfterError(`(run berth ${command.name()} --help for usage)`)
  }
  if (argv.length === 0) {
    program.outputHelp({ error: true })
    return ExitCode.usage
  }
  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with "errors" of exit code 0
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    }
    io.stderr.write(`berth: internal error (a bug in berth, please report it): ${String(err)}\n`)
    return ExitCode.internal
  }
  return exitCode
}

function version(): string {
  try {
    // src/cli/ and dist/cli/ both sit two levels below package.json
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown
    }
    return typeof pkg.version === 'string' ? pkg.version : 'unknown'
  } catch {
    return 'unknown'
  }
}
