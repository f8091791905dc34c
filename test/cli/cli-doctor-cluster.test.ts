/**
 * `berth doctor` on a libpq host list, against a real primary and standby: every host reported
 * with its role and its budget against what points at it (createPgCluster: pool + role probe per
 * host; createPgPool: the one host its connections go to), and a stopped standby as a warning.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { type PostgresCluster, startPostgresCluster } from '../../src/testing/index.js'
import { runCli } from './run-cli.js'

interface HostEntry {
  host: string
  reachable: boolean
  role: string | null
  readOnly: boolean | null
  lag: { bytes: number; seconds: number } | null
  demand: { pool: number; probe: number; basis: string }
  budget: { maxConns: number; instances: number; extraConnections: number; demand: number } | null
}

let cluster: PostgresCluster
let primaryHost: string
let standbyHost: string

before(async () => {
  cluster = await startPostgresCluster({ standbys: 1 })
  primaryHost = `127.0.0.1:${cluster.primary.port}`
  standbyHost = `127.0.0.1:${cluster.standbys[0]!.port}`
})
after(async () => {
  await cluster?.destroy()
})

function hostsOf(stdout: string): Map<string, HostEntry> {
  const report = JSON.parse(stdout) as { hosts: HostEntry[] }
  return new Map(report.hosts.map((h) => [h.host, h]))
}

describe('berth doctor on a host list', () => {
  it('--cluster: reports both hosts with their roles, and (maxConns + 1 probe) x instances on each', async () => {
    const args = [
      'doctor',
      cluster.url,
      '--cluster',
      '--samples',
      '2',
      '--max-conns',
      '5',
      '--instances',
      '2',
    ]
    const r = await runCli([...args, '--json'])
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`)
    const report = JSON.parse(r.stdout)
    assert.equal(report.mode, 'cluster')
    assert.equal(report.exitCode, r.code)
    const hosts = hostsOf(r.stdout)
    assert.deepEqual([...hosts.keys()], [primaryHost, standbyHost])
    const p = hosts.get(primaryHost)!
    const s = hosts.get(standbyHost)!
    assert.deepEqual([p.role, p.readOnly, s.role, s.readOnly], ['primary', false, 'standby', true])
    assert.ok(s.lag !== null && s.lag.bytes >= 0, 'the standby has a lag')
    for (const h of [p, s]) {
      assert.deepEqual([h.demand.pool, h.demand.probe], [10, 2])
      assert.equal(h.budget!.extraConnections, 1)
      assert.equal(h.budget!.demand, 12) // (5 + 1) x 2
    }
    assert.ok(!r.stdout.includes(cluster.primary.password), 'the password was printed')

    const text = await runCli(args)
    // latency findings vary from run to run: warnings or not, never an error
    assert.ok(text.code === 0 || text.code === 1, `exit ${text.code}: ${text.stderr}`)
    assert.match(text.stdout, new RegExp(`exit status ${text.code}`))
    assert.match(text.stdout, new RegExp(`${primaryHost} {2}primary, read-write`))
    assert.match(
      text.stdout,
      new RegExp(`${standbyHost} {2}standby, read-only, \\d+ bytes behind the primary`),
    )
    assert.match(text.stdout, /budget {8}10 pool \+ 2 probe = 12 of \d+ available/)
    assert.match(text.stdout, /judged as createPgCluster/)
  })

  it('without --cluster (createPgPool, read-write): only the primary carries the pool', async () => {
    const r = await runCli([
      'doctor',
      `${cluster.url}?target_session_attrs=read-write`,
      '--json',
      '--samples',
      '2',
      '--max-conns',
      '7',
    ])
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`)
    assert.equal(JSON.parse(r.stdout).mode, 'pool')
    const hosts = hostsOf(r.stdout)
    assert.deepEqual(hosts.get(primaryHost)!.demand, {
      pool: 7,
      probe: 0,
      basis: 'createPgPool: the first host that fits target_session_attrs=read-write takes the whole pool',
    })
    assert.equal(hosts.get(primaryHost)!.budget!.demand, 7)
    assert.equal(hosts.get(standbyHost)!.budget, null)
    assert.equal(hosts.get(standbyHost)!.demand.pool, 0)
  })

  it("reports a standby that replays nothing as behind by the primary's WAL since", async () => {
    const standby = cluster.standbys[0]!
    await standby.pauseReplay()
    const admin = new pg.Client({ connectionString: cluster.primary.url })
    await admin.connect()
    try {
      await admin.query('create table if not exists doctor_lag (id int)')
      await admin.query('insert into doctor_lag select generate_series(1, 1000)')
      const r = await runCli(['doctor', cluster.url, '--cluster', '--json', '--samples', '1'])
      const s = hostsOf(r.stdout).get(standbyHost)!
      assert.ok(s.lag !== null && s.lag.bytes > 0, `lag ${JSON.stringify(s.lag)}`)
    } finally {
      await admin.end()
      await standby.resumeReplay()
    }
  })

  it('a stopped standby is a HOST_DOWN warning naming it (exit 1); the primary is still judged', async () => {
    const standby = cluster.standbys[0]!
    await standby.stop()
    try {
      const r = await runCli([
        'doctor',
        cluster.url,
        '--cluster',
        '--json',
        '--samples',
        '2',
        '--connect-timeout',
        '3s',
      ])
      assert.equal(r.code, 1, r.stderr)
      const report = JSON.parse(r.stdout)
      const down = report.findings.find((f: { code: string }) => f.code === 'HOST_DOWN')
      assert.ok(down, `no HOST_DOWN in ${r.stdout}`)
      assert.equal(down.severity, 'warning')
      assert.match(down.message, new RegExp(`${standbyHost} did not answer: .*connection refused`))
      const hosts = hostsOf(r.stdout)
      assert.equal(hosts.get(standbyHost)!.reachable, false)
      assert.equal(hosts.get(standbyHost)!.budget, null)
      assert.equal(hosts.get(primaryHost)!.role, 'primary')
      assert.ok(hosts.get(primaryHost)!.budget !== null)

      const text = await runCli(['doctor', cluster.url, '--cluster', '--samples', '2'])
      assert.equal(text.code, 1, text.stderr)
      assert.match(text.stdout, new RegExp(`${standbyHost} {2}DOWN: cannot connect`))
      assert.match(text.stdout, new RegExp(`warning HOST_DOWN: ${standbyHost} did not answer`))
    } finally {
      await standby.start()
    }
  })

  it('no host answering exits 3, as for one server', async () => {
    const standby = cluster.standbys[0]!
    await Promise.all([cluster.primary.stop(), standby.stop()])
    try {
      const r = await runCli(['doctor', cluster.url, '--cluster', '--samples', '1'])
      assert.equal(r.code, 3, r.stderr)
      assert.match(r.stderr, /connection refused/)
    } finally {
      await cluster.primary.start()
      await standby.start()
    }
  })
})
