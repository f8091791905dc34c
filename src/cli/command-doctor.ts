import type { Command } from 'commander'
import { connectTimeoutOption, intArg } from './cli-options.js'
import type { CommandIo } from './command-io.js'
import { runDoctor } from './doctor-run.js'

interface DoctorFlags {
  instances: number
  concurrency?: number
  queriesPerRequest: number
  maxConns?: number
  samples: number
  connectTimeout: number
  json?: boolean
  cluster?: boolean
}

const HELP_AFTER = `
What it does (read-only; one connection, application_name 'berth doctor'):
  - reads max_connections, superuser_reserved_connections and reserved_connections
  - counts the sessions open now by application_name (active, idle, idle in transaction)
  - times the connect, N round trips (select 1) and N primary-key catalog lookups
  - recommends pool_max_conns per instance by the seed's formula:
      min(concurrency x queries per request, (max_connections - reserved) / instances)
  - lists pitfalls: pool x instances over the budget, little headroom, sessions idle in a
    transaction, no TLS to a non-loopback server, high latency, no statement_timeout, ...

The URL is berth/pg's (pool_* parameters, sslmode, PG* environment variables as defaults).
The password is never printed.

A host list (postgres://app@h1:5432,h2:5432/db?target_session_attrs=read-write) probes every
host at once: its role (primary or standby, read-only), whether it answers, a standby's lag, and
its max_connections against what points at it. With --cluster (createPgCluster) that is
(maxConns + 1 role probe) x instances on every host; without, createPgPool's one pool on the
first host that fits target_session_attrs. A host that does not answer is a warning (HOST_DOWN).

Exit status: 0 nothing to act on, 1 warnings found, 2 usage, 3 cannot connect, 4 bad URL,
5 login refused, 6 a statement was refused, 130 interrupted. See docs/cli.md.

Examples:
  berth doctor postgres://app@db.internal/billing --instances 6 --concurrency 50
  berth doctor "$DATABASE_URL" --json | jq .recommendation`

/** Registers `berth doctor`. `setExit` receives the command's exit status. */
export function registerDoctor(program: Command, io: CommandIo, setExit: (code: number) => void): void {
  program
    .command('doctor')
    .summary("check a server's connection budget, latency and sessions; recommend pool settings")
    .description(
      "Reads a PostgreSQL server's connection limits and sessions, measures latency, and prints recommended pool settings with the pitfalls it finds.",
    )
    .argument('<postgres-url>', 'postgres://user:password@host:port/database?...')
    .option('--instances <n>', 'instances of the service sharing the server (replicas, pods)', intArg(1), 1)
    .option('--concurrency <n>', 'requests in flight per instance at peak (default: unknown)', intArg(1))
    .option('--queries-per-request <n>', 'queries a request runs at once, on average', intArg(1), 1)
    .option(
      '--max-conns <n>',
      "the pool size to judge (default: the URL's pool_max_conns, else berth's default)",
      intArg(1),
    )
    .option('--samples <n>', 'round trips and lookups to time', intArg(1, 100_000), 50)
    .addOption(connectTimeoutOption())
    .option(
      '--cluster',
      'judge the URL as createPgCluster does: every host has a pool of maxConns and a role probe (default: createPgPool, one pool on the first host that fits target_session_attrs)',
    )
    .option('--json', 'print the report as JSON (errors too, as {"error": ...})')
    .addHelpText('after', HELP_AFTER)
    .action(async (url: string, flags: DoctorFlags) => {
      setExit(
        await runDoctor(
          url,
          {
            instances: flags.instances,
            concurrency: flags.concurrency,
            queriesPerRequest: flags.queriesPerRequest,
            maxConns: flags.maxConns,
            samples: flags.samples,
            connectTimeoutMs: flags.connectTimeout,
            json: flags.json === true,
            cluster: flags.cluster === true,
          },
          io,
        ),
      )
    })
}
