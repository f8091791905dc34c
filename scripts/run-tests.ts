/**
 * Test entry point: `tsx scripts/run-tests.ts [files...]`.
 *
 * Starts ONE throwaway PostgreSQL for the whole run (cheaper than one per test file; tests isolate
 * themselves with `createDatabase()`), hands it to the test processes via `BERTH_TEST_PG_URL`, runs
 * `node --test` and always tears the server down again, also on SIGINT/SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { constants } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type PostgresServer, startPostgres } from '../src/testing/index.js'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const FORCE_KILL_AFTER_MS = 10_000

let child: ChildProcess | undefined
let interruptedBy: NodeJS.Signals | undefined

function log(message: string): void {
  process.stderr.write(`[run-tests] ${message}\n`)
}

/** Node 20's `--test` only globs .js files, so .ts test files have to be listed explicitly. */
async function findTestFiles(dir: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory() && entry.name !== 'node_modules') found.push(...(await findTestFiles(full)))
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(full)
  }
  return found.sort()
}

function exitCodeFor(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0)
}

/**
 * First signal: forward it to the test run and clean up once it has stopped. A second one means "now":
 * exit immediately and leave the server to the `exit` hook and the reaper process.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (interruptedBy) {
    log(`${signal} received again, exiting immediately`)
    process.exit(exitCodeFor(signal))
  }
  interruptedBy = signal
  log(`${signal} received, stopping the tests and PostgreSQL`)
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill(signal)
    setTimeout(() => child?.kill('SIGKILL'), FORCE_KILL_AFTER_MS).unref()
  }
}

function runNodeTest(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const testProcess = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
      { cwd: repoRoot, env, stdio: 'inherit' },
    )
    child = testProcess
    testProcess.once('error', reject)
    testProcess.once('exit', (code, signal) => resolve(signal ? exitCodeFor(signal) : (code ?? 1)))
  })
}

async function main(): Promise<number> {
  const requested = process.argv.slice(2).map((file) => path.resolve(file))
  const files = requested.length > 0 ? requested : await findTestFiles(path.join(repoRoot, 'test'))
  if (files.length === 0) {
    log('no test files found')
    return 1
  }

  let server: PostgresServer | undefined
  try {
    server = await startPostgres()
    log(`PostgreSQL listening on ${server.host}:${server.port} (data dir ${server.dataDir})`)
    if (interruptedBy) return exitCodeFor(interruptedBy)
    const relative = files.map((file) => path.relative(repoRoot, file))
    const code = await runNodeTest(relative, { ...process.env, BERTH_TEST_PG_URL: server.url })
    return interruptedBy ? exitCodeFor(interruptedBy) : code
  } finally {
    await server?.destroy()
  }
}

process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error))
    process.exit(1)
  },
)
