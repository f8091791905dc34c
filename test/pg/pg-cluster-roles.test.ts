/**
 * A PgCluster noticing that a server changed under it without a failover: the primary's sessions
 * turning read-only (default_transaction_read_only set and reloaded, as some failover managers do
 * to fence an old primary), and a host name that starts resolving to another address (an
 * Aurora-style failover moves the writer's DNS name), via /etc/hosts when this process may write it.
 */
import assert from 'node:assert/strict'
import { constants, accessSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { PgFailoverError, PgNoPrimaryError, createPgCluster } from '../../src/pg/index.js'
import { type PostgresCluster, startFaultProxy, startPostgresCluster } from '../../src/testing/index.js'
import { adminQuery } from '../reliability/support.js'
import { until } from '../support/until.js'

let cluster: PostgresCluster

before(async () => {
  cluster = await startPostgresCluster({ standbys: 1 })
})
after(async () => {
  await cluster?.destroy()
})

/** Turns the primary's new sessions (and, at their next statement, its open ones) read-only, or back. */
async function fence(on: boolean): Promise<void> {
  const url = cluster.primary.url
  await adminQuery(
    url,
    on
      ? 'alter system set default_transaction_read_only = on'
      : 'alter system reset default_transaction_read_only',
  )
  await adminQuery(url, 'select pg_reload_conf()')
}

/** A cluster over the test servers, with a write already made (so a connection is open). */
async function openCluster(probePeriod: number, table: string) {
  const db = createPgCluster(cluster.url, { budgetCheck: false, probePeriod, failoverTimeout: 300 })
  await db.probe()
  await db.exec(`create table if not exists ${table} (id int)`)
  return db
}

/**
 * Replaces /etc/hosts in one step (a rename) where it can, so that other tests resolving
 * `localhost` meanwhile never read a half-written file; in place where it is a mount point.
 */
function replaceHosts(text: string): void {
  const tmp = `/etc/.hosts-berth-${process.pid}`
  try {
    writeFileSync(tmp, text, { mode: statSync('/etc/hosts').mode & 0o777 })
    renameSync(tmp, '/etc/hosts')
  } catch {
    rmSync(tmp, { force: true })
    writeFileSync('/etc/hosts', text)
  }
}

describe('PgCluster: role and address changes', () => {
  it('stops writing to a primary whose sessions turn read-only, and takes it back when they do not', async () => {
    const p = cluster.primary
    await using db = await openCluster(100, 'fenced')
    const primaryKey = `127.0.0.1:${p.port}`
    const before = db.stats().hosts[0]!.pool.newConnsCount
    await fence(true)
    try {
      await until(() => db.stats().primary === null, 5000, 'the read-only primary to be dropped')
      assert.equal(db.stats().hosts[0]!.readOnly, true)
      // With no writable server, a write waits failoverTimeout and fails typed, never sent.
      await assert.rejects(db.exec('insert into fenced values (1)'), (e: unknown) => {
        assert.ok(e instanceof PgNoPrimaryError, String(e))
        assert.match(e.message, new RegExp(`${primaryKey} read-only`))
        return true
      })
    } finally {
      await fence(false)
    }
    await until(() => db.stats().primary === primaryKey, 5000, 'the primary back')
    assert.equal(await db.exec('insert into fenced values (2)'), 1)
    // Its read-only connections were retired and new ones opened.
    assert.ok(db.stats().hosts[0]!.pool.newConnsCount > before)
    // Re-electing the same server is not a failover.
    assert.equal(db.stats().failovers, 0)
  })

  it('wraps a 25006 on a connection that turned read-only as a retryable PgFailoverError', async () => {
    const p = cluster.primary
    await using db = await openCluster(60_000, 'fenced2')
    await fence(true)
    try {
      // The probe runs once a minute here: the write itself meets the read-only session.
      const err = await db.exec('insert into fenced2 values (1)').then(
        () => undefined,
        (e: unknown) => e,
      )
      // The reload may land before the statement (25006) or be noticed from ParameterStatus first
      // (no primary): both are typed, retryable, and the write did not happen.
      assert.ok(err instanceof PgFailoverError || err instanceof PgNoPrimaryError, String(err))
      if (err instanceof PgFailoverError) assert.equal((err.cause as { sqlState?: string }).sqlState, '25006')
    } finally {
      await fence(false)
    }
    const rows = await adminQuery<{ n: number }>(p.url, 'select count(*)::int as n from fenced2')
    assert.equal(rows[0]!.n, 0)
  })

  it('retires connections to an address its host name no longer resolves to', async (t) => {
    try {
      accessSync('/etc/hosts', constants.W_OK)
    } catch {
      t.skip('skipped: /etc/hosts is not writable here, so a name cannot be made to move')
      return
    }
    const target = { host: '127.0.0.1', port: cluster.primary.port }
    const a = await startFaultProxy({ target, listen: { host: '127.0.0.2', port: 0 } })
    t.after(() => a.close())
    const b = await startFaultProxy({ target, listen: { host: '127.0.0.3', port: a.port } })
    t.after(() => b.close())
    const name = `berth-dns-${process.pid}.test`
    const original = readFileSync('/etc/hosts', 'utf8')
    const point = (ip: string) => replaceHosts(`${original.trimEnd()}\n${ip} ${name}\n`)
    const restore = () => replaceHosts(original)
    process.once('exit', restore)
    t.after(() => {
      restore()
      process.off('exit', restore)
    })
    point('127.0.0.2')
    const p = cluster.primary
    const url = `postgres://${p.user}:${encodeURIComponent(p.password)}@${name}:${a.port}/${p.database}`
    await using db = createPgCluster(url, { budgetCheck: false, probePeriod: 100, minConns: 2 })
    await db.probe()
    await until(() => a.stats().connections >= 3, 5000, 'the pool and the probe connected through a')
    point('127.0.0.3')
    await until(() => a.stats().connections === 0, 5000, {
      message: () => `still ${a.stats().connections} connections to the old address`,
    })
    await until(() => b.stats().connections >= 3, 5000, 'new connections to the new address')
    assert.equal((await db.queryRow<{ ok: number }>('select 1 as ok'))!.ok, 1)
    const h = db.stats().hosts[0]!
    assert.deepEqual(h.addresses, ['127.0.0.3'])
    assert.ok(h.addressRetired >= 2, `retired ${h.addressRetired}`)
  })
})
