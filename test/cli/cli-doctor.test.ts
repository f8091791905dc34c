import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { freePort } from '../../src/testing/test-server-process.js'
import { testPostgres } from '../support/postgres.js'
import { runCli } from './run-cli.js'

function withPassword(url: string, password: string): string {
  const u = new URL(url)
  u.password = password
  return u.toString()
}

describe('berth doctor against a real server', () => {
  let url: string
  let password: string
  before(async () => {
    const info = await testPostgres()
    url = info.url
    password = info.password
  })

  it('prints max_connections, the sessions and a recommendation by the formula', async () => {
    const r = await runCli(['doctor', url, '--samples', '5', '--instances', '2', '--concurrency', '3'])
    // other test files share the server, so their sessions may raise warnings (exit 1); never an error
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`)
    assert.match(r.stdout, /max_connections \d+/)
    assert.match(r.stdout, /superuser_reserved_connections \d+/)
    assert.match(r.stdout, /round trip \(select 1 x5\) median/)
    // concurrency 3 x 1 query per request is below any test server's per-instance share
    assert.match(r.stdout, /recommended {3}pool_max_conns=3 per instance/)
    assert.match(r.stdout, new RegExp(`exit status ${r.code}`))
    assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), 'the password was printed')
  })

  it('--json gives the limits, the budget by the seed formula and the findings; the exit status matches', async () => {
    const r = await runCli(['doctor', url, '--json', '--samples', '3', '--max-conns', '7'])
    const report = JSON.parse(r.stdout)
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      const max = Number((await admin.query('show max_connections')).rows[0].max_connections)
      const reserved = Number(
        (await admin.query('show superuser_reserved_connections')).rows[0].superuser_reserved_connections,
      )
      assert.equal(report.facts.limits.maxConnections, max)
      assert.equal(report.facts.limits.superuserReserved, reserved)
    } finally {
      await admin.end()
    }
    assert.equal(report.budget.maxConns, 7)
    assert.equal(report.maxConnsSource, 'option')
    assert.equal(
      report.budget.available,
      report.facts.limits.maxConnections -
        report.facts.limits.superuserReserved -
        report.facts.limits.reserved,
    )
    assert.equal(report.recommendation.poolMaxConns, report.budget.perInstanceBudget)
    assert.equal(report.recommendation.basis, 'budget')
    assert.equal(report.facts.roundTrip.samples, 3)
    assert.ok(report.facts.roundTrip.median > 0)
    assert.equal(r.code, report.exitCode)
    assert.equal(
      report.exitCode,
      report.findings.some((f: { severity: string }) => f.severity === 'warning') ? 1 : 0,
    )
    assert.ok(!r.stdout.includes(password))
  })

  it('reports sessions idle in a transaction as a warning and exits 1', async () => {
    const idle = new pg.Client({ connectionString: url, application_name: 'cli-test-idle-tx' })
    await idle.connect()
    try {
      await idle.query('begin')
      await idle.query('select 1')
      const r = await runCli(['doctor', url, '--json', '--samples', '2'])
      assert.equal(r.code, 1, r.stderr)
      const report = JSON.parse(r.stdout)
      const finding = report.findings.find((f: { code: string }) => f.code === 'IDLE_IN_TRANSACTION')
      assert.ok(finding, `no IDLE_IN_TRANSACTION in ${r.stdout}`)
      assert.equal(finding.severity, 'warning')
      assert.match(finding.message, /cli-test-idle-tx/)
      const app = report.facts.connections.find(
        (c: { application: string }) => c.application === 'cli-test-idle-tx',
      )
      assert.equal(app.idleInTransaction, 1)
    } finally {
      await idle.end()
    }
  })

  it('flags a pool that does not fit the budget (OVER_BUDGET) when instances x maxConns exceed it', async () => {
    const r = await runCli([
      'doctor',
      url,
      '--json',
      '--samples',
      '2',
      '--max-conns',
      '10000',
      '--instances',
      '3',
    ])
    assert.equal(r.code, 1)
    const report = JSON.parse(r.stdout)
    assert.equal(report.budget.overBudget, true)
    assert.ok(report.findings.some((f: { code: string }) => f.code === 'OVER_BUDGET'))
  })

  it('a wrong password exits 5 (login refused), says so, and prints neither password', async () => {
    const wrong = 'Wr0ngPassw0rd-xyz'
    const r = await runCli(['doctor', withPassword(url, wrong)])
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, /login refused.*password authentication failed/)
    for (const secret of [wrong, password]) {
      assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), 'a password was printed')
    }
  })

  it('a wrong password with --json prints the error as JSON on stdout', async () => {
    const r = await runCli(['doctor', withPassword(url, 'Wr0ngPassw0rd-xyz'), '--json'])
    assert.equal(r.code, 5)
    const { error } = JSON.parse(r.stdout)
    assert.equal(error.exitCode, 5)
    assert.ok(!JSON.stringify(error).includes('Wr0ngPassw0rd-xyz'))
  })

  it('a database that does not exist exits 5 and names it', async () => {
    const u = new URL(url)
    u.pathname = '/no_such_database_here'
    const r = await runCli(['doctor', u.toString()])
    assert.equal(r.code, 5)
    assert.match(r.stderr, /no_such_database_here.*does not exist/)
  })
})

describe('berth doctor cannot connect', () => {
  it('a bad URL exits 4, names the part at fault and never echoes the password', async () => {
    const r = await runCli(['doctor', 'postgres://app:S3cretPassw0rd@db.internal:notaport/billing'])
    assert.equal(r.code, 4)
    assert.match(r.stderr, /bad connection URL.*port.*notaport/)
    assert.ok(!r.stderr.includes('S3cretPassw0rd') && !r.stdout.includes('S3cretPassw0rd'))
  })

  it('a URL of another scheme exits 4', async () => {
    const r = await runCli(['doctor', 'mysql://app:S3cretPassw0rd@db.internal/billing'])
    assert.equal(r.code, 4)
    assert.match(r.stderr, /postgres:\/\//)
    assert.ok(!r.stderr.includes('S3cretPassw0rd'))
  })

  it('a port where nothing listens exits 3 (connection refused) within seconds', async () => {
    const port = await freePort()
    const r = await runCli(['doctor', `postgres://app:S3cretPassw0rd@127.0.0.1:${port}/db`])
    assert.equal(r.code, 3, r.stderr)
    assert.match(r.stderr, /cannot connect to app@127\.0\.0\.1:\d+\/db: connection refused/)
    assert.ok(!r.stderr.includes('S3cretPassw0rd'))
    assert.ok(r.ms < 30_000, `took ${r.ms} ms`)
  })

  describe('a server that accepts and never answers', () => {
    let silent: net.Server
    const sockets = new Set<net.Socket>()
    before(async () => {
      silent = net.createServer((s) => {
        sockets.add(s)
        s.on('error', () => {})
      })
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    })
    after(async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => silent.close(resolve))
    })

    it('exits 3 once --connect-timeout has passed', async () => {
      const { port } = silent.address() as net.AddressInfo
      const r = await runCli(['doctor', `postgres://app:pw@127.0.0.1:${port}/db`, '--connect-timeout', '1s'])
      assert.equal(r.code, 3, r.stderr)
      assert.match(r.stderr, /connect timeout/)
      assert.ok(r.ms < 30_000, `took ${r.ms} ms`)
    })
  })
})
