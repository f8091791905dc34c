import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assessBudget } from '../../src/pg/budget.js'
import { createPgPool } from '../../src/pg/index.js'
import { createDatabase } from '../support/postgres.js'

const limits = { maxConnections: 100, superuserReserved: 3, reserved: 0 }

describe('connection budget', () => {
  it("applies the seed's formula: min(concurrency x queries per request, available / instances)", () => {
    const r = assessBudget(limits, 8, { instances: 10, concurrency: 4, queriesPerRequest: 3 })
    assert.equal(r.available, 97)
    assert.equal(r.perInstanceBudget, 9)
    assert.equal(r.demand, 80)
    assert.equal(r.recommendedMaxConns, 9) // min(12, 9)
    assert.equal(r.overBudget, false)
    assert.equal(assessBudget(limits, 8, { instances: 10, concurrency: 2 }).recommendedMaxConns, 2)
  })

  it('flags a pool that does not fit and says what to do', () => {
    const r = assessBudget({ ...limits, reserved: 7 }, 20, { instances: 5 })
    assert.equal(r.available, 90)
    assert.equal(r.overBudget, true)
    assert.match(r.summary, /100 connections, but the server allows 90/)
    assert.match(r.summary, /maxConns <= 18/)
  })

  it('counts extra connections per instance (a cluster probe) in the demand and out of the share', () => {
    const r = assessBudget(limits, 8, { instances: 10, extraConnections: 1 })
    assert.equal(r.extraConnections, 1)
    assert.equal(r.demand, 90) // (8 + 1) x 10
    assert.equal(r.perInstanceBudget, 9)
    assert.equal(r.recommendedMaxConns, 8) // 9 - 1 for the probe
    assert.equal(r.overBudget, false)
    assert.match(r.summary, /\(maxConns 8 \+ 1 other\) x 10 instance\(s\) = 90 of 97/)
    const over = assessBudget(limits, 9, { instances: 10, extraConnections: 1 })
    assert.equal(over.demand, 100)
    assert.equal(over.overBudget, true)
    assert.match(over.summary, /maxConns <= 8/)
    assert.equal(assessBudget(limits, 8).extraConnections, 0)
    assert.throws(() => assessBudget(limits, 8, { extraConnections: -1 }), { code: 'BERTH_INVALID_OPTION' })
  })

  it('rejects a bad instance count with a typed error', () => {
    assert.throws(() => assessBudget(limits, 8, { instances: 0 }), { code: 'BERTH_INVALID_OPTION' })
  })

  it('checks the budget against the real server at the first connection and on demand', async () => {
    const url = await createDatabase('budget')
    const warnings: Error[] = []
    const onWarning = (w: Error) => {
      if ((w as Error & { code?: string }).code === 'BERTH_PG_BUDGET') warnings.push(w)
    }
    process.on('warning', onWarning)
    const db = createPgPool(url, { maxConns: 150, instances: 2 })
    try {
      await db.queryRow('select 1')
      await new Promise((r) => setImmediate(r))
      assert.equal(warnings.length, 1, 'warned once at the first connection')
      assert.match(warnings[0]!.message, /300 connections, but the server allows/)
      const report = await db.checkBudget({ instances: 1 })
      assert.equal(report.maxConnections, 200) // the test server's setting
      assert.equal(report.overBudget, false)
      assert.equal(db.budget, report)
    } finally {
      process.off('warning', onWarning)
      await db.close()
    }
  })
})
