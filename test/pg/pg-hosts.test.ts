/**
 * createPgPool with a libpq host list, against a real primary and two streaming standbys: each
 * target_session_attrs value reaches the server libpq would pick, load_balance_hosts=random
 * spreads connections, and a host that is down is passed over.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createPgPool } from '../../src/pg/index.js'
import { type PostgresCluster, startPostgresCluster } from '../../src/testing/index.js'
import { freePort } from '../../src/testing/test-server-process.js'

let cluster: PostgresCluster

before(async () => {
  cluster = await startPostgresCluster({ standbys: 2 })
})
after(async () => {
  await cluster?.destroy()
})

/** A URL naming `ports` on 127.0.0.1, in that order, with `query`. */
function urlOf(ports: readonly number[], query: string): string {
  const p = cluster.primary
  const hosts = ports.map((port) => `127.0.0.1:${port}`).join(',')
  return `postgres://${p.user}:${encodeURIComponent(p.password)}@${hosts}/${p.database}?${query}`
}

/** Where one connection of a fresh pool lands: the server's port, and whether it is a standby. */
async function landsOn(url: string): Promise<{ port: number; standby: boolean }> {
  await using db = createPgPool(url, { minConns: 0, maxConns: 1, budgetCheck: false })
  const row = await db.queryRow<{ port: number; standby: boolean }>(
    'select inet_server_port() as port, pg_is_in_recovery() as standby',
  )
  return { port: row!.port, standby: row!.standby }
}

describe('createPgPool with a host list', () => {
  it('reaches the server each target_session_attrs value asks for, the first that fits in list order', async () => {
    const [s1, s2] = cluster.standbys
    const primary = cluster.primary.port
    // A standby first, the primary in the middle, another standby last.
    const order = [s1!.port, primary, s2!.port]
    const expected: Record<string, number> = {
      any: s1!.port,
      'read-write': primary,
      primary: primary,
      'read-only': s1!.port,
      standby: s1!.port,
      'prefer-standby': s1!.port,
    }
    for (const [attrs, port] of Object.entries(expected)) {
      const got = await landsOn(urlOf(order, `target_session_attrs=${attrs}`))
      assert.equal(got.port, port, `target_session_attrs=${attrs}`)
      assert.equal(got.standby, port !== primary)
    }
    // prefer-standby with no standby listed settles for the primary.
    assert.equal((await landsOn(urlOf([primary], 'target_session_attrs=prefer-standby'))).port, primary)
  })

  it('counts a primary whose sessions default to read-only as read-only, not read-write', async () => {
    const readOnly = `options=${encodeURIComponent('-c default_transaction_read_only=on')}`
    const primary = cluster.primary.port
    assert.equal(
      (await landsOn(urlOf([primary], `${readOnly}&target_session_attrs=read-only`))).port,
      primary,
    )
    assert.equal((await landsOn(urlOf([primary], `${readOnly}&target_session_attrs=primary`))).port, primary)
    const url = urlOf([primary], `${readOnly}&target_session_attrs=read-write`)
    await using db = createPgPool(url, { minConns: 0, maxConns: 1, budgetCheck: false, acquireTimeout: 2000 })
    await assert.rejects(db.query('select 1'))
  })

  it('fails with a typed error naming each host and its role when none fits', async () => {
    const url = urlOf([cluster.primary.port], 'target_session_attrs=standby')
    await using db = createPgPool(url, { minConns: 0, maxConns: 1, budgetCheck: false, acquireTimeout: 2000 })
    await assert.rejects(db.query('select 1'), (err: Error) => {
      const chain: string[] = []
      for (let e: unknown = err; e instanceof Error; e = e.cause)
        chain.push(`${(e as { code?: string }).code}: ${e.message}`)
      const text = chain.join(' <- ')
      assert.match(text, /BERTH_PG_CONNECTION: no host matches target_session_attrs=standby/, text)
      assert.match(text, new RegExp(`127\\.0\\.0\\.1:${cluster.primary.port}: read-write`), text)
      return true
    })
  })

  it('passes over a host that is down', async () => {
    const down = await freePort()
    const got = await landsOn(urlOf([down, cluster.primary.port], 'target_session_attrs=read-write'))
    assert.equal(got.port, cluster.primary.port)
  })

  it('with load_balance_hosts=random, spreads connections over the hosts that fit', async () => {
    const ports = cluster.standbys.map((s) => s.port)
    const seen = new Set<number>()
    for (let i = 0; i < 24 && seen.size < 2; i++) {
      seen.add((await landsOn(urlOf(ports, 'target_session_attrs=standby&load_balance_hosts=random'))).port)
    }
    assert.deepEqual([...seen].sort(), [...ports].sort(), 'both standbys served a connection')
    // Without it, always the first.
    for (let i = 0; i < 3; i++)
      assert.equal((await landsOn(urlOf(ports, 'target_session_attrs=standby'))).port, ports[0])
  })
})
