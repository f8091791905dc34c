import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import pg from 'pg'
import { testPostgres } from '../support/postgres.js'
import { runCli, waitForOutput } from './run-cli.js'

/** Tiny phases: this checks that the comparison runs and reports, not how fast anything is. */
const TINY = ['--duration', '150ms', '--warmup', '20ms', '--runs', '2', '--concurrency', '1,4', '--size', '2']

describe('berth bench against the test server', () => {
  let url: string
  let password: string
  before(async () => {
    const info = await testPostgres()
    url = info.url
    password = info.password
  })

  it('measures every library on select 1 and a primary-key select and prints paired ratios', async () => {
    const r = await runCli(['bench', url, ...TINY, '--queries', 'select1,pk'])
    assert.equal(r.code, 0, r.stderr)
    for (const title of ['select 1: queries/s', 'primary-key select: queries/s', 'Ratios of queries/s']) {
      assert.ok(r.stdout.includes(title), `missing ${title} in:\n${r.stdout}`)
    }
    assert.match(r.stdout, /select 1: berth \/ pg\.Pool\s+\d+\.\d\dx/)
    assert.match(r.stdout, /primary-key select: berth \(no pipeline\) \/ pg\.Pool\s+\d+\.\d\dx/)
    assert.match(r.stderr, /creating schema berth_bench_\d+_[0-9a-f]+/)
    assert.match(r.stderr, /dropped schema berth_bench_/)
    assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), 'the password was printed')
  })

  it('--json has a sample per round for every cell, ratios, and leaves no schema behind', async () => {
    const r = await runCli(['bench', url, ...TINY, '--queries', 'range', '--libs', 'berth,pg-pool', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.deepEqual(report.settings.workloads, ['range'])
    assert.equal(report.cells.length, 2 * 2) // 2 libraries x 2 concurrencies
    for (const cell of report.cells) {
      assert.equal(cell.runs.length, 2)
      for (const run of cell.runs) assert.ok(run.qps > 0 && run.queries > 0, JSON.stringify(cell))
    }
    const ratios = report.ratios.filter((x: { a: string; b: string }) => x.a === 'berth' && x.b === 'pg-pool')
    assert.equal(ratios.length, 2)
    for (const x of ratios) assert.equal(x.ratios.length, 2)
    assert.deepEqual(report.problems, [])
    const schema = /creating schema (berth_bench_\w+)/.exec(r.stderr)?.[1]
    assert.ok(schema)
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      const left = await admin.query('select 1 from pg_namespace where nspname = $1', [schema])
      assert.equal(left.rowCount, 0, `schema ${schema} was left behind`)
    } finally {
      await admin.end()
    }
  })

  it('select 1 alone creates no schema', async () => {
    const r = await runCli(['bench', url, ...TINY, '--queries', 'select1', '--libs', 'berth'])
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stderr, /creating schema/)
    assert.match(r.stdout, /select 1: queries\/s/)
  })
})

describe('berth bench refuses', () => {
  it('to write to a server that is not on this machine without --yes (exit 2, before connecting)', async () => {
    // 192.0.2.1 is TEST-NET-1: nothing answers there, so reaching the server would time out instead
    const r = await runCli(['bench', 'postgres://app:S3cretPassw0rd@192.0.2.1:5432/db', '--queries', 'pk'])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /--yes/)
    assert.ok(!r.stderr.includes('S3cretPassw0rd'))
  })

  it('a bad URL with exit 4', async () => {
    const r = await runCli(['bench', 'postgres://app:S3cretPassw0rd@localhost:99999/db'])
    assert.equal(r.code, 4)
    assert.ok(!r.stderr.includes('S3cretPassw0rd'))
  })

  it('a pool larger than the free connections with exit 6', async () => {
    const { url } = await testPostgres()
    const r = await runCli(['bench', url, '--size', '1000', '--queries', 'select1'])
    assert.equal(r.code, 6, r.stderr)
    assert.match(r.stderr, /needs 1000 free connections/)
  })
})

describe('berth bench and Ctrl-C', () => {
  it('SIGINT stops the runs, drops the schema and exits 130', async () => {
    const { url } = await testPostgres()
    let stderr = ''
    let child: import('node:child_process').ChildProcess | undefined
    const done = runCli(
      ['bench', url, '--queries', 'pk', '--duration', '60s', '--runs', '3', '--concurrency', '2'],
      {
        onSpawn: (c) => {
          child = c
          c.stderr?.on('data', (b: Buffer) => {
            stderr += b.toString()
          })
        },
      },
    )
    await waitForOutput(() => stderr, 'creating schema')
    // let the first run start, then interrupt it well before its 60 s are up
    await new Promise((resolve) => setTimeout(resolve, 500))
    child!.kill('SIGINT')
    const r = await done
    assert.equal(r.code, 130, r.stderr)
    assert.match(r.stderr, /dropped schema berth_bench_/)
    assert.ok(r.ms < 55_000, `took ${r.ms} ms: the interrupt did not stop the 60 s run`)
    const schema = /creating schema (berth_bench_\w+)/.exec(r.stderr)?.[1]
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      assert.equal((await admin.query('select 1 from pg_namespace where nspname = $1', [schema])).rowCount, 0)
    } finally {
      await admin.end()
    }
  })
})
