import { type Command, Option } from 'commander'
import { LIBRARY_NAMES, type LibraryName } from './bench-clients.js'
import { runBench } from './bench-run.js'
import { WORKLOAD_NAMES, type WorkloadName } from './bench-workloads.js'
import { choiceListArg, connectTimeoutOption, durationArg, intArg, intListArg } from './cli-options.js'
import type { CommandIo } from './command-io.js'

interface BenchFlags {
  queries: WorkloadName[]
  libs: LibraryName[]
  concurrency: number[]
  size: number
  runs: number
  duration: number
  warmup: number
  rows: number
  connectTimeout: number
  yes?: boolean
  json?: boolean
}

const HELP_AFTER = `
Compares, against your server, queries/s and latency of berth/pg (pipelined and not),
node-postgres' pg.Pool and postgres.js (when installed), each a pool of --size connections:
c callers each loop one awaited query, every result checked. Rounds interleave the libraries
and rotate their order; the ratios are paired by round (berth / pg.Pool, berth / postgres.js).

Writes to the server: the pk and range workloads read a table that bench creates, with
--rows rows, in a new schema (berth_bench_<pid>_<random>) and drops with the schema at the
end, also after Ctrl-C. On a server that is not on this machine (not loopback or a Unix
socket) it asks for --yes first. select1 alone writes nothing.

The load is real: up to --size connections per library and as many queries as they can run.
Point it at a test or staging server, not at production under traffic.

Exit status: 0 ok, 1 a run failed or a pool opened more than --size connections or left
some open, 2 usage (or --yes missing), 3 cannot connect, 4 bad URL, 5 login refused, 6 a
statement was refused (e.g. no CREATE permission, a read-only replica: try --queries
select1) or too few free connections.

Examples:
  berth bench postgres://localhost/postgres
  berth bench "$STAGING_URL" --yes --concurrency 1,64 --runs 5
  berth bench "$REPLICA_URL" --queries select1 --json`

/** Registers `berth bench`. */
export function registerBench(program: Command, io: CommandIo, setExit: (code: number) => void): void {
  program
    .command('bench')
    .summary('compare berth/pg with pg.Pool and postgres.js on your own server')
    .description(
      'Runs the bench:pg comparison (berth/pg vs pg.Pool vs postgres.js) against your PostgreSQL server.',
    )
    .argument('<postgres-url>', 'postgres://user:password@host:port/database?...')
    .addOption(
      new Option('--queries <list>', `workloads: ${WORKLOAD_NAMES.join(', ')}`)
        .argParser(choiceListArg(WORKLOAD_NAMES))
        .default(['select1', 'pk'], 'select1,pk'),
    )
    .addOption(
      new Option('--libs <list>', `libraries: ${LIBRARY_NAMES.join(', ')}`)
        .argParser(choiceListArg(LIBRARY_NAMES))
        .default([...LIBRARY_NAMES], 'all'),
    )
    .addOption(
      new Option('--concurrency <list>', 'concurrent callers, comma-separated')
        .argParser(intListArg(1, 10_000))
        .default([1, 16, 64], '1,16,64'),
    )
    .option('--size <n>', 'most connections per pool', intArg(1, 1_000), 8)
    .option('--runs <n>', 'rounds; each measures every cell once', intArg(1, 100), 3)
    .addOption(
      new Option('--duration <duration>', 'timed phase of each run, e.g. 2s')
        .argParser(durationArg(1))
        .default(2_000, '2s'),
    )
    .addOption(
      new Option('--warmup <duration>', 'warm-up of each run (0 = none)')
        .argParser(durationArg(0))
        .default(300, '300ms'),
    )
    .option('--rows <n>', 'rows in the table of the pk and range workloads', intArg(100, 10_000_000), 10_000)
    .addOption(connectTimeoutOption())
    .option('--yes', 'allow creating the schema on a server that is not on this machine')
    .option('--json', 'print the report as JSON (errors too, as {"error": ...})')
    .addHelpText('after', HELP_AFTER)
    .action(async (url: string, flags: BenchFlags) => {
      setExit(
        await runBench(
          url,
          {
            workloads: flags.queries,
            libraries: flags.libs,
            concurrency: flags.concurrency,
            size: flags.size,
            runs: flags.runs,
            durationMs: flags.duration,
            warmupMs: flags.warmup,
            rows: flags.rows,
            connectTimeoutMs: flags.connectTimeout,
            yes: flags.yes === true,
            json: flags.json === true,
          },
          io,
        ),
      )
    })
}
