import type { Command } from 'commander'
import type { RunDemoOptions } from '../demo/index.js'
import { CliError } from './cli-error.js'
import { durationArg, portArg } from './cli-options.js'
import { type CommandIo, reportFailure } from './command-io.js'
import { ExitCode } from './exit-codes.js'
import { secretsOf } from './pg-target.js'

/** What the CLI hands to `runDemo` (src/demo): every option but the ones a program passes. */
export type DemoOptions = Pick<
  RunDemoOptions,
  'durationMs' | 'port' | 'dashboard' | 'databaseUrl' | 'signal' | 'out'
>

export interface DemoModule {
  runDemo(options: DemoOptions): Promise<void>
}

/**
 * Loads the demo when it is asked for, not at start: it pulls in grpc-js, the embedded PostgreSQL
 * and the dashboard, which `doctor` and `bench` do not need.
 */
export async function loadDemoModule(): Promise<DemoModule> {
  let mod: Partial<DemoModule>
  try {
    mod = await import('../demo/index.js')
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown }
    if (e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('/demo/index.')) {
      throw new CliError(
        ExitCode.missingPackage,
        'the demo is not part of this build of berth (no demo/index.js)',
        {
          cause: err,
        },
      )
    }
    throw err
  }
  if (typeof mod.runDemo !== 'function') {
    throw new CliError(ExitCode.internal, 'internal error: demo/index.js does not export runDemo()')
  }
  return mod as DemoModule
}

interface DemoFlags {
  duration?: number
  port: number
  dashboard: boolean
}

const HELP_AFTER = `
The demo starts an embedded PostgreSQL primary and streaming standby (or uses DATABASE_URL),
three gRPC billing backends (writes on the primary, reads on the standby) and a client under load,
all on 127.0.0.1, and serves a live dashboard (and /metrics) on --port. It prints the dashboard's
URL. From the dashboard you can stop a backend, terminate the database's connections, saturate the
pool or fail over to the standby, and watch berth recover.

Environment:
  DATABASE_URL   use this PostgreSQL instead of the embedded one (tables are created in it)

Ctrl-C shuts down gracefully and removes the embedded data; a second Ctrl-C exits at once.

Examples:
  berth demo                       # until Ctrl-C, dashboard on a free port
  berth demo --duration 30s --no-dashboard
  DATABASE_URL=postgres://localhost/demo berth demo --port 8080`

/** Registers `berth demo`. `loadDemo` is injectable for tests. */
export function registerDemo(
  program: Command,
  io: CommandIo,
  setExit: (code: number) => void,
  loadDemo: () => Promise<DemoModule> = loadDemoModule,
): void {
  program
    .command('demo')
    .summary('run a live demo: embedded PostgreSQL primary and standby, gRPC backends, load and a dashboard')
    .description('Runs a self-contained demo of berth with a live dashboard, until Ctrl-C or --duration.')
    .option(
      '--duration <duration>',
      'stop by itself after this long, e.g. 30s or 5m (default: until Ctrl-C)',
      durationArg(1),
    )
    .option('--port <port>', 'dashboard port on 127.0.0.1 (0 = a free port)', portArg, 0)
    .option('--no-dashboard', 'do not serve the dashboard page (the API and /metrics stay)')
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: DemoFlags) => {
      setExit(await runDemoCommand(flags, io, loadDemo))
    })
}

async function runDemoCommand(
  flags: DemoFlags,
  io: CommandIo,
  loadDemo: () => Promise<DemoModule>,
): Promise<number> {
  const databaseUrl = io.env['DATABASE_URL'] === '' ? undefined : io.env['DATABASE_URL']
  try {
    const demo = await loadDemo()
    await demo.runDemo({
      durationMs: flags.duration,
      port: flags.port,
      dashboard: flags.dashboard,
      databaseUrl,
      signal: io.signal,
      out: io.stdout,
    })
    return ExitCode.ok
  } catch (err) {
    // Ctrl-C is how the demo ends: a demo that stopped because of it has succeeded.
    if (io.signal.aborted && (err === io.signal.reason || isAbortError(err))) return ExitCode.ok
    const secrets = databaseUrl === undefined ? [] : secretsOf(databaseUrl, io.env)
    return reportFailure(io, 'demo', err, { secrets }, false)
  }
}

function isAbortError(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'AbortError'
}
