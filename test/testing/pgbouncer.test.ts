import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'
import pg from 'pg'
import {
  type PgBouncer,
  PgBouncerNotInstalledError,
  findPgBouncer,
  startPgBouncer,
} from '../../src/testing/index.js'
import { PGBOUNCER_MISSING, startTestPgBouncer, testPgBouncer } from '../support/pgbouncer.js'
import { until } from '../support/until.js'

const TEST_TIMEOUT_MS = 30_000
/** Upper bound for anything that should happen promptly, e.g. a waiting client showing up in SHOW POOLS. */
const PROMPTLY_MS = 5_000

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROMPTLY_MS })
  client.on('error', () => {})
  await client.connect()
  return client
}

async function query<Row extends pg.QueryResultRow>(url: string, sql: string): Promise<Row[]> {
  const client = await connect(url)
  try {
    return (await client.query<Row>(sql)).rows
  } finally {
    await client.end()
  }
}

async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
  return rows[0]!.pid
}

interface PoolRow {
  database: string
  cl_active: string | number
  cl_waiting: string | number
  sv_active: string | number
}

async function poolOf(bouncer: PgBouncer): Promise<PoolRow> {
  const rows = await query<PoolRow>(bouncer.adminUrl, 'SHOW POOLS')
  const row = rows.find((candidate) => candidate.database === bouncer.database)
  assert.ok(row, `SHOW POOLS has no row for ${bouncer.database}`)
  return row
}

/** Polls the admin console until `count` clients wait for a server connection. */
async function untilClientsWait(bouncer: PgBouncer, count: number): Promise<void> {
  let pool: PoolRow | undefined
  const waiting = async () => {
    pool = await poolOf(bouncer)
    return Number(pool.cl_waiting) === count
  }
  await until(waiting, PROMPTLY_MS, {
    intervalMs: 50,
    message: () => `expected ${count} waiting client(s), SHOW POOLS says ${inspect(pool)}`,
  })
}

/** Settles to 'pending' if `promise` has not settled within `ms`. */
async function stateAfter(promise: Promise<unknown>, ms: number): Promise<'settled' | 'pending'> {
  return Promise.race([
    promise.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    sleep(ms, 'pending' as const),
  ])
}

describe('the shared transaction-mode test PgBouncer', () => {
  it('answers select 1 through PgBouncer with the pg package', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const bouncer = await testPgBouncer('transaction')
    if (!bouncer) return t.skip(PGBOUNCER_MISSING)
    const rows = await query<{ one: number }>(bouncer.url, 'select 1 as one')
    assert.deepEqual(rows, [{ one: 1 }])
  })

  it('answers SHOW POOLS and SHOW CLIENTS on the admin console', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const bouncer = await testPgBouncer('transaction')
    if (!bouncer) return t.skip(PGBOUNCER_MISSING)
    const client = await connect(bouncer.url)
    try {
      await client.query('select 1')
      const pools = await query<{ database: string; pool_mode: string }>(bouncer.adminUrl, 'SHOW POOLS')
      const pool = pools.find((row) => row.database === bouncer.database)
      assert.equal(pool?.pool_mode, 'transaction')
      const clients = await query<{ database: string; user: string }>(bouncer.adminUrl, 'SHOW CLIENTS')
      assert.ok(
        clients.some((row) => row.database === bouncer.database && row.user === bouncer.user),
        'SHOW CLIENTS lists the connected client',
      )
    } finally {
      await client.end()
    }
  })
})

describe('a PgBouncer with a single server connection', () => {
  it(
    'in transaction mode, holds a second transaction until the first commits, then reuses its server connection',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const bouncer = await startTestPgBouncer({ poolMode: 'transaction', defaultPoolSize: 1 })
      if (!bouncer) return t.skip(PGBOUNCER_MISSING)
      const clients: pg.Client[] = []
      try {
        const first = await connect(bouncer.url)
        const second = await connect(bouncer.url)
        clients.push(first, second)
        await first.query('begin')
        const firstPid = await backendPid(first)

        const secondPid = second.query('begin').then(() => backendPid(second))
        await untilClientsWait(bouncer, 1)
        assert.equal(await stateAfter(secondPid, 200), 'pending')

        // Committing releases the server connection although the first client stays connected.
        await first.query('commit')
        assert.equal(await secondPid, firstPid)
        await second.query('commit')
        assert.equal(Number((await poolOf(bouncer)).cl_waiting), 0)
      } finally {
        await Promise.allSettled(clients.map((client) => client.end()))
        await bouncer.destroy()
      }
    },
  )

  it(
    'in session mode, keeps the server connection with the first client after commit until it disconnects',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const bouncer = await startTestPgBouncer({ poolMode: 'session', defaultPoolSize: 1 })
      if (!bouncer) return t.skip(PGBOUNCER_MISSING)
      const clients: pg.Client[] = []
      try {
        const first = await connect(bouncer.url)
        clients.push(first)
        await first.query('begin')
        const firstPid = await backendPid(first)
        await first.query('commit')

        const secondPid = connect(bouncer.url).then((second) => {
          clients.push(second)
          return backendPid(second)
        })
        await untilClientsWait(bouncer, 1)
        assert.equal(await stateAfter(secondPid, 200), 'pending')

        await first.end()
        assert.equal(await secondPid, firstPid)
      } finally {
        await Promise.allSettled(clients.map((client) => client.end()))
        await bouncer.destroy()
      }
    },
  )
})

describe('an independently started PgBouncer', () => {
  it(
    'stops, starts again on the same port, and removes itself on destroy()',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const bouncer = await startTestPgBouncer({ poolMode: 'transaction' })
      if (!bouncer) return t.skip(PGBOUNCER_MISSING)
      try {
        const { pid, port } = bouncer
        assert.ok(pid)
        if (process.getuid?.() === 0) {
          const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
          assert.notEqual(uid, '0', 'pgbouncer must not run as root')
        }
        assert.ok(!inspect(bouncer).includes(bouncer.password))

        await bouncer.stop()
        assert.equal(bouncer.pid, undefined)
        await assert.rejects(query(bouncer.url, 'select 1'), { code: 'ECONNREFUSED' })

        await bouncer.start()
        assert.equal(bouncer.port, port)
        assert.deepEqual(await query(bouncer.url, 'select 1 as one'), [{ one: 1 }])
      } finally {
        await bouncer.destroy()
        await bouncer.destroy()
      }
      assert.equal(bouncer.pid, undefined)
      await assert.rejects(bouncer.start(), /destroyed/)
    },
  )

  it('rejects with PgBouncerNotInstalledError when the pgbouncer binary is missing', async () => {
    const binary = '/nonexistent/berth-test/pgbouncer'
    const options = {
      postgres: { host: '127.0.0.1', port: 1, user: 'nobody', password: 'unused' },
      poolMode: 'transaction' as const,
      binary,
    }
    await assert.rejects(startPgBouncer(options), (error: unknown) => {
      assert.ok(error instanceof PgBouncerNotInstalledError)
      assert.equal(error.code, 'BERTH_TEST_PGBOUNCER_NOT_INSTALLED')
      assert.match(error.message, /pgbouncer is not installed/)
      return true
    })
    await assert.rejects(findPgBouncer(binary), PgBouncerNotInstalledError)
    assert.equal(existsSync(binary), false)
  })
})
