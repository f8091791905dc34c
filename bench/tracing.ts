/**
 * Tracing overhead benchmark: berth/pg `select 1` queries per second at 64 concurrent callers
 * with (a) nobody subscribed to berth's tracing channels and (b) no-op subscribers on every one of
 * them (berth:pool:acquire, berth:pool:create, berth:pg:query, berth:pg:transaction), against one
 * embedded PostgreSQL that the benchmark starts and destroys. The two cases alternate, their order
 * rotated per round, so the shared machine's load moves both alike; medians and the paired ratio.
 *
 *   npm run bench:tracing                  # default: 7 rounds of 3 s per case
 *   npm run bench:tracing -- --quick       # smoke test
 *   npm run bench:tracing -- --write       # also update bench/RESULTS.md
 */

import { parseArgs } from 'node:util'
import { poolTracing } from '../src/core/tracing.js'
import { createPgPool } from '../src/pg/index.js'
import { pgTracing } from '../src/pg/pg-tracing.js'
import { startPostgres } from '../src/testing/postgres-server.js'
import {
  COMMON_FLAGS,
  commandLine,
  countFlag,
  formatPaired,
  formatRate,
  machineLine,
  markdownTable,
  median,
  pairedRatios,
  readBenchFlags,
  rotate,
  runWorkers,
  writeResultsSection,
} from './harness.js'

const HELP = `Usage: npm run bench:tracing -- [options]

  --concurrency <n>   concurrent callers, default 64
  --pipeline <bool>   berth's pipeline option (true|false), default true
  --runs <n>          rounds (each measures both cases), default 7
  --time <ms>         timed phase per case, default 3000
  --warmup <ms>       warm-up per case, default 500
  --quick             smoke test: 2 rounds, 500 ms timed, 100 ms warm-up
  --write             replace the "tracing" section of bench/RESULTS.md with this run
  --help              this text
`

const flags = readBenchFlags(
  'tracing',
  HELP,
  () =>
    parseArgs({
      options: {
        concurrency: { type: 'string', default: '64' },
        pipeline: { type: 'string', default: 'true' },
        runs: { type: 'string' },
        time: { type: 'string' },
        warmup: { type: 'string' },
        ...COMMON_FLAGS,
      },
    }).values,
)

const concurrency = countFlag('tracing', flags.concurrency, 'concurrency')
const pipeline = flags.pipeline !== 'false'
const runs = countFlag('tracing', flags.runs ?? (flags.quick ? '2' : '7'), 'runs')
const timeMs = countFlag('tracing', flags.time ?? (flags.quick ? '500' : '3000'), 'time')
const warmupMs = countFlag('tracing', flags.warmup ?? (flags.quick ? '100' : '500'), 'warmup')

const noop = () => {}
const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop }
const channels = [poolTracing.acquire, poolTracing.create, pgTracing.query, pgTracing.transaction]

type Case = 'none' | 'subscribed'
const CASES: readonly Case[] = ['none', 'subscribed']

const server = await startPostgres()
const db = createPgPool(server.url, { maxConns: 8, minConns: 8, pipeline, budgetCheck: false })
try {
  await db.query('select 1') // connected before the first round
  const rates: Record<Case, number[]> = { none: [], subscribed: [] }
  for (let round = 0; round < runs; round++) {
    for (const c of rotate(CASES, round)) {
      if (c === 'subscribed') for (const ch of channels) ch.subscribe(handlers)
      try {
        const r = await runWorkers(
          {
            concurrency,
            warmup: { maxMs: warmupMs, maxOps: Number.MAX_SAFE_INTEGER },
            measure: { maxMs: timeMs, maxOps: Number.MAX_SAFE_INTEGER },
            checkEvery: 16,
          },
          async (ctl) => {
            while (!ctl.stopped) {
              await db.query('select 1')
              ctl.tick()
            }
          },
        )
        rates[c].push(r.opsPerSec)
        process.stderr.write(`round ${round + 1}/${runs} ${c}: ${formatRate(r.opsPerSec)} q/s\n`)
      } finally {
        if (c === 'subscribed') for (const ch of channels) ch.unsubscribe(handlers)
      }
    }
  }
  const paired = pairedRatios(rates.subscribed, rates.none)
  const table = markdownTable(
    ['callers', 'no subscriber', 'subscribed (no-op)', 'subscribed ÷ none'],
    [
      [
        String(concurrency),
        formatRate(median(rates.none)),
        formatRate(median(rates.subscribed)),
        formatPaired(paired),
      ],
    ],
  )
  const body = [
    '## bench:tracing',
    '',
    machineLine(),
    '',
    `Command: \`${commandLine('bench/tracing.ts')}\` (${runs} rounds of ${timeMs} ms per case after ${warmupMs} ms warm-up, the two cases alternated with their order rotated per round).`,
    '',
    `berth/pg \`select 1\` queries/s (medians), pipeline: ${pipeline}, maxConns 8, ${concurrency} callers, with nobody subscribed to berth's tracing channels and with no-op handlers on all five events of berth:pool:acquire, berth:pool:create, berth:pg:query and berth:pg:transaction; the ratio is paired per round: median (min–max) and the rounds in which the subscribed case was ahead.`,
    '',
    table,
  ].join('\n')
  process.stdout.write(`${body}\n`)
  if (flags.write) writeResultsSection('tracing', body)
} finally {
  await db.close({ timeoutMs: 5000 })
  await server.destroy()
}
