import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
/**
 * gRPC benchmark: unary Echo calls per second through berth/grpc (channel pool with its
 * interceptors and metrics on) against a bare grpc-js client to the same server, in the same run,
 * plus the stream-limit scenario (a server that allows 10 concurrent streams, 100 callers, 20 ms
 * calls): one grpc-js channel against berth `size: 'auto'`.
 *
 *   npm run bench:grpc
 *   npm run bench:grpc -- --runs 7 --write
 *   npm run bench:grpc -- --help
 *
 * The servers run in a child process (bench/grpc-server.ts) so the client process, whose
 * overhead is compared, has a core to itself. See bench/README.md.
 */
import { parseArgs } from 'node:util'
import * as grpc from '@grpc/grpc-js'
import { createChannelPool } from '../src/grpc/channel-pool.js'
import { type EchoClient, echo, echoClientConstructor } from '../test/support/grpc.js'
import {
  COMMON_FLAGS,
  PAIRED_LEGEND,
  collectGarbage,
  commandLine,
  countFlag,
  formatPaired,
  formatRate,
  machineInfo,
  machineLine,
  markdownTable,
  median,
  pairedRatios,
  parseList,
  readBenchFlags,
  rotate,
  roundsAtLeast,
  runOps,
  writeResultsSection,
} from './harness.js'

const HELP = `Usage: npm run bench:grpc -- [options]

  --concurrency <list>   callers for the unary scenario, default 1,16,64
  --runs <n>             rounds (paired ratios), default 5
  --time <ms>            timed phase per cell, default 1500
  --warmup <ms>          warm-up per cell, default 300
  --limit-calls <n>      calls per run in the stream-limit scenario, default 1000
  --quick                smoke test: 2 rounds, 300 ms timed, 100 ms warm-up, 300 limit calls
  --write                replace the "grpc" section of bench/RESULTS.md with this run
  --help                 this text
`

const flags = readBenchFlags(
  'grpc',
  HELP,
  () =>
    parseArgs({
      options: {
        concurrency: { type: 'string', default: '1,16,64' },
        runs: { type: 'string' },
        time: { type: 'string' },
        warmup: { type: 'string' },
        'limit-calls': { type: 'string' },
        ...COMMON_FLAGS,
      },
      strict: true,
    }).values,
)

const count = (value: string, flag: string) => countFlag('grpc', value, flag)
const concurrencies = parseList(flags.concurrency).map((c) => count(c, 'concurrency'))
const runs = count(flags.runs ?? (flags.quick ? '2' : '5'), 'runs')
const timedMs = count(flags.time ?? (flags.quick ? '300' : '1500'), 'time')
const warmupMs = count(flags.warmup ?? (flags.quick ? '100' : '300'), 'warmup')
const limitCalls = count(flags['limit-calls'] ?? (flags.quick ? '300' : '1000'), 'limit-calls')
const OVERHEAD_TARGET = 0.95
const AUTO_TARGET = 4

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

interface Ports {
  open: number
  limited: number
}

async function startServers(): Promise<{ ports: Ports; child: ChildProcess }> {
  const script = fileURLToPath(new URL('./grpc-server.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! })
    rl.once('line', resolve)
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)))
  })
  return { ports: JSON.parse(line) as Ports, child }
}

// ---------------------------------------------------------------------------------------------
// Contenders
// ---------------------------------------------------------------------------------------------

interface Contender {
  readonly name: string
  readonly client: EchoClient
  close(): Promise<void>
}

const Echo = echoClientConstructor()

function bare(address: string): Contender {
  const client = new Echo(address, grpc.credentials.createInsecure())
  return {
    name: 'grpc-js',
    client,
    async close() {
      client.close()
    },
  }
}

function berth(address: string, options: Parameters<typeof createChannelPool>[1] = {}): Contender {
  const pool = createChannelPool(address, {
    // The interceptors a production pool runs (metrics is on by default): logging of failed and slow
    // calls, metadata propagation. No default deadline: it would put a grpc-timeout header (and a
    // timer) on every call that the bare client does not send, so the two would not do the same work.
    logging: { level: 'problems', log: () => {} },
    propagate: true,
    ...options,
  })
  return {
    name: 'berth',
    client: pool.client(Echo),
    close: () => pool.close({ timeoutMs: 5000 }),
  }
}

const REQUEST = { message: 'bench' }

async function unaryRound(contender: Contender, concurrency: number): Promise<number> {
  const result = await runOps(
    {
      concurrency,
      warmup: { maxOps: Number.MAX_SAFE_INTEGER, maxMs: warmupMs },
      measure: { maxOps: Number.MAX_SAFE_INTEGER, maxMs: timedMs },
      checkEvery: 1,
    },
    () => echo(contender.client, REQUEST),
  )
  return result.opsPerSec
}

/** `limitCalls` calls of 20 ms from 100 callers; calls per second. */
async function limitRound(contender: Contender): Promise<number> {
  let left = limitCalls
  const started = performance.now()
  const caller = async () => {
    while (left-- > 0) await echo(contender.client, { message: 'l', delayMs: 20 })
  }
  await Promise.all(Array.from({ length: 100 }, caller))
  return (limitCalls * 1000) / (performance.now() - started)
}

// ---------------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------------

const { ports, child } = await startServers()
const openAddress = `127.0.0.1:${ports.open}`
const limitedAddress = `127.0.0.1:${ports.limited}`
const info = machineInfo()
process.stderr.write(`bench:grpc  ${machineLine(info)}\n`)

const unary = new Map<number, { bare: number[]; berth: number[] }>()
const limit = { one: [] as number[], berthOne: [] as number[], auto: [] as number[] }
try {
  for (let round = 0; round < runs; round++) {
    for (const c of concurrencies) {
      const cell = unary.get(c) ?? { bare: [], berth: [] }
      unary.set(c, cell)
      for (const make of rotate([() => bare(openAddress), () => berth(openAddress)], round)) {
        const contender = make()
        collectGarbage()
        await echo(contender.client, REQUEST)
        const rate = await unaryRound(contender, c)
        await contender.close()
        ;(contender.name === 'berth' ? cell.berth : cell.bare).push(rate)
        process.stderr.write(
          `  round ${round + 1}/${runs} unary c=${c} ${contender.name}: ${formatRate(rate)} calls/s\n`,
        )
      }
    }
    const limitContenders: [keyof typeof limit, () => Contender][] = [
      ['one', () => bare(limitedAddress)],
      ['berthOne', () => berth(limitedAddress, { size: 1 })],
      ['auto', () => berth(limitedAddress, { size: 'auto', maxChannels: 16 })],
    ]
    for (const [key, make] of rotate(limitContenders, round)) {
      const contender = make()
      await echo(contender.client, REQUEST)
      const rate = await limitRound(contender)
      await contender.close()
      limit[key].push(rate)
      process.stderr.write(`  round ${round + 1}/${runs} stream-limit ${key}: ${formatRate(rate)} calls/s\n`)
    }
  }
} finally {
  child.stdin?.end()
  child.kill('SIGTERM')
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const unaryRows: string[][] = []
const verdicts: string[] = []
let allMet = true
for (const c of concurrencies) {
  const cell = unary.get(c)!
  const p = pairedRatios(cell.berth, cell.bare)
  unaryRows.push([String(c), formatRate(median(cell.bare)), formatRate(median(cell.berth)), formatPaired(p)])
  const met = p.median >= OVERHEAD_TARGET
  allMet &&= met
  verdicts.push(
    `- berth overhead at ${c} callers: ${((1 - p.median) * 100).toFixed(1)}% (paired ratio ${p.median.toFixed(3)}, ≥ ${OVERHEAD_TARGET} in ${roundsAtLeast(p, OVERHEAD_TARGET)}/${p.ratios.length} rounds) — ${met ? 'met' : 'NOT met'} (target ≤ 5%)`,
  )
}
const autoVsOne = pairedRatios(limit.auto, limit.one)
const autoMet = autoVsOne.median >= AUTO_TARGET
allMet &&= autoMet
verdicts.push(
  `- size 'auto' vs one grpc-js channel, server MAX_CONCURRENT_STREAMS 10, 100 callers, 20 ms calls: ${formatPaired(autoVsOne)} — ${autoMet ? 'met' : 'NOT met'} (target ≥ ${AUTO_TARGET}×)`,
)

const body = [
  '## bench:grpc',
  '',
  `${machineLine(info)}`,
  '',
  `Command: \`${commandLine('bench/grpc.ts')}\` (${runs} rounds; contenders rotated per round; servers in a child process).`,
  '',
  'Unary Echo calls/s (medians), and berth ÷ grpc-js as a paired ratio. berth: `createChannelPool` (size auto) with its metrics, logging (failed/slow calls) and metadata-propagation interceptors on; grpc-js: a bare client. Neither sets a deadline.',
  '',
  markdownTable(['callers', 'grpc-js', 'berth', 'berth ÷ grpc-js'], unaryRows, [
    'right',
    'right',
    'right',
    'right',
  ]),
  '',
  `Stream limit (server advertises MAX_CONCURRENT_STREAMS 10; 100 callers; ${limitCalls} calls of 20 ms per run), calls/s (medians):`,
  '',
  markdownTable(
    ['client', 'calls/s', '÷ one grpc-js channel'],
    [
      ['grpc-js, one channel', formatRate(median(limit.one)), '1.00×'],
      [
        'berth, size 1',
        formatRate(median(limit.berthOne)),
        formatPaired(pairedRatios(limit.berthOne, limit.one)),
      ],
      ["berth, size 'auto'", formatRate(median(limit.auto)), formatPaired(autoVsOne)],
    ],
    ['left', 'right', 'right'],
  ),
  '',
  `Paired ratios: ${PAIRED_LEGEND}.`,
  '',
  'Targets:',
  '',
  ...verdicts,
].join('\n')

process.stdout.write(`\n${body}\n`)
if (flags.write) {
  writeResultsSection('grpc', body)
  process.stderr.write('bench/RESULTS.md updated (section grpc)\n')
}
// A missed target is a finding to report, not a failure of the run (like bench:pool and bench:pg).
void allMet
