import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { inspect } from 'node:util'
import pg from 'pg'
import { type PostgresServer, startPostgres } from '../../src/testing/index.js'
import { createDatabase, testPostgres } from '../support/postgres.js'

async function query<Row extends pg.QueryResultRow>(url: string, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<Row>(sql)).rows
  } finally {
    await client.end()
  }
}

describe('the shared test PostgreSQL server', () => {
  it('answers select version() with a PostgreSQL version string', async () => {
    const { url } = await testPostgres()
    const [row] = await query<{ version: string }>(url, 'select version()')
    assert.match(row?.version ?? '', /PostgreSQL/)
  })

  it('creates a fresh, separately named database for each createDatabase() call', async () => {
    const first = await createDatabase('isolation')
    const second = await createDatabase('isolation')
    assert.notEqual(first, second)
    await query(first, 'create table only_here (id int)')
    const [row] = await query<{ name: string | null }>(
      second,
      "select to_regclass('only_here')::text as name",
    )
    assert.equal(row?.name, null)
  })
})

describe('an independently started PostgreSQL server', () => {
  let server: PostgresServer

  before(async () => {
    server = await startPostgres({ postgresFlags: { max_connections: 20 } })
  })
  after(() => server?.destroy())

  it('runs on a different port than the shared server and applies extra flags', async () => {
    const shared = await testPostgres()
    assert.notEqual(server.port, shared.port)
    assert.equal(server.host, '127.0.0.1')
    const [row] = await query<{ max_connections: string }>(server.url, 'show max_connections')
    assert.equal(row?.max_connections, '20')
  })

  it('does not reveal its password when inspected', () => {
    assert.ok(!inspect(server).includes(server.password))
  })

  it('refuses connections after stop()', async () => {
    await query(server.url, 'create table survivors (name text)')
    await query(server.url, "insert into survivors values ('kept')")
    await server.stop()
    await assert.rejects(query(server.url, 'select 1'), { code: 'ECONNREFUSED' })
  })

  it('comes back on the same port with its data after start()', async () => {
    const port = server.port
    await server.start()
    assert.equal(server.port, port)
    const rows = await query<{ name: string }>(server.url, 'select name from survivors')
    assert.deepEqual(rows, [{ name: 'kept' }])
  })

  it('removes its data directory on destroy() and tolerates being destroyed twice', async () => {
    const { dataDir } = server
    assert.ok(existsSync(dataDir))
    await server.destroy()
    assert.equal(existsSync(dataDir), false)
    assert.equal(existsSync(path.dirname(dataDir)), false)
    await server.destroy()
    await assert.rejects(server.start(), { code: 'BERTH_TEST_PG_START' })
  })
})
