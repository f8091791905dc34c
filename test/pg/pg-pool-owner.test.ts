/**
 * PgPool as a ManagedOwner: what a ConnectionManager starts (`probe`) and reports (`health`).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createPgPool } from '../../src/pg/index.js'
import { freePort } from '../../src/testing/test-server-process.js'
import { createDatabase } from '../support/postgres.js'

describe('PgPool: probe and health', () => {
  it('probe() of a pool with minConns 0 proves the server answers, and health() turns ready', async () => {
    const db = createPgPool(await createDatabase('owner_probe'), { name: 'db', minConns: 0, maxConns: 2 })
    try {
      const before = db.health()
      assert.equal(before.kind, 'postgres')
      assert.equal(before.ready, false, 'no connection and no probe yet')
      assert.equal(before.detail.totalConns, 0)

      await db.probe({ signal: AbortSignal.timeout(10_000) })
      assert.ok(db.stats().newConnsCount >= 1, 'the probe opened a connection')
      const probed = db.health()
      assert.equal(probed.ready, true)
      assert.ok(Object.isFrozen(probed) && Object.isFrozen(probed.detail))
      assert.equal(probed.inUse, 0)

      const conn = await db.acquire()
      const held = db.health()
      assert.equal(held.inUse, 1, 'inUse counts the connection lent out')
      assert.equal(held.detail.acquiredConns, 1)
      await conn.release()

      await db.close({ timeoutMs: 5000 })
      assert.equal(db.health().ready, false, 'a closed pool is not ready')
    } finally {
      await db.destroy()
    }
  })

  it('probe() of a pool whose server refuses connections rejects, and health() names the connect error', async () => {
    const db = createPgPool(`postgres://berth@127.0.0.1:${await freePort()}/none`, {
      minConns: 0,
      acquireTimeout: '5s',
      budgetCheck: false,
    })
    try {
      await assert.rejects(db.probe({ signal: AbortSignal.timeout(5000) }))
      const h = db.health()
      assert.equal(h.ready, false)
      assert.equal(h.inUse, 0)
      assert.match(String(h.detail.lastConnectError), /ECONNREFUSED|connect/i)
    } finally {
      await db.destroy()
    }
  })
})
