import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidOptionError, Pool, type PoolOptions } from '../../src/core/index.js'
import { type Fake, createFakeFactory } from '../support/fake-resources.js'

function base(): PoolOptions<Fake> {
  const f = createFakeFactory()
  return { create: f.create, destroy: f.destroy }
}

/** Asserts that `err` is an InvalidOptionError about `option` whose message shows `shown`. */
function assertInvalid(err: unknown, option: string, shown: string): true {
  assert.ok(err instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(err)}`)
  assert.equal(err.code, 'BERTH_INVALID_OPTION')
  assert.equal(err.option, option)
  assert.ok(err.message.includes(option), `message names the field: ${err.message}`)
  assert.ok(err.message.includes(shown), `message shows the value ${shown}: ${err.message}`)
  return true
}

function assertConstructionFails(extra: Record<string, unknown>, option: string, shown: string): void {
  assert.throws(
    () => new Pool({ ...base(), ...extra } as PoolOptions<Fake>),
    (err) => assertInvalid(err, option, shown),
  )
}

describe('pool options are validated at construction', () => {
  it('a max of 0 is refused, naming max and 0', () => {
    assertConstructionFails({ max: 0 }, 'max', '0')
  })

  it('a fractional max is refused, naming max and 1.5', () => {
    assertConstructionFails({ max: 1.5 }, 'max', '1.5')
  })

  it('a min above max is refused, naming min and its value', () => {
    assertConstructionFails({ min: 5, max: 3 }, 'min', '5')
  })

  it('a negative duration is refused, naming the field and the value', () => {
    assertConstructionFails({ acquireTimeoutMs: -1 }, 'acquireTimeoutMs', '-1')
    assertConstructionFails({ maxIdleMs: -100 }, 'maxIdleMs', '-100')
    assertConstructionFails({ validateAfterIdleMs: -1 }, 'validateAfterIdleMs', '-1')
    assertConstructionFails({ maxLifetimeJitterMs: -5 }, 'maxLifetimeJitterMs', '-5')
  })

  it('NaN is refused for counts and durations', () => {
    assertConstructionFails({ max: Number.NaN }, 'max', 'NaN')
    assertConstructionFails({ healthCheckPeriodMs: Number.NaN }, 'healthCheckPeriodMs', 'NaN')
  })

  it('a duration given as a string is refused, with the string quoted in the message', () => {
    assertConstructionFails({ createTimeoutMs: '100' }, 'createTimeoutMs', '"100"')
  })

  it('an unknown option key is refused, naming the key and its value', () => {
    assertConstructionFails({ maxSize: 7 }, 'maxSize', '7')
    assertConstructionFails({ idleTimeoutMillis: 1000 }, 'idleTimeoutMillis', '1000')
  })

  it('a create that is not a function is refused', () => {
    const f = createFakeFactory()
    assert.throws(
      () => new Pool({ create: 'connect', destroy: f.destroy } as unknown as PoolOptions<Fake>),
      (err) => assertInvalid(err, 'create', '"connect"'),
    )
    assert.throws(
      () => new Pool({ destroy: f.destroy } as unknown as PoolOptions<Fake>),
      (err) => assertInvalid(err, 'create', 'undefined'),
    )
  })

  it('a minIdle above max is refused, naming minIdle and its value', () => {
    assertConstructionFails({ minIdle: 4, max: 3 }, 'minIdle', '4')
  })

  it('a backoffMaxMs below backoffInitialMs is refused, naming backoffMaxMs', () => {
    assertConstructionFails({ backoffInitialMs: 500, backoffMaxMs: 100 }, 'backoffMaxMs', '100')
  })

  it('valid limits at the edges are accepted', async () => {
    await using pool = new Pool({
      ...base(),
      min: 0,
      max: 1,
      minIdle: 1,
      backoffInitialMs: 50,
      backoffMaxMs: 50,
    })
    assert.equal(pool.stats().max, 1)
  })
})

describe('per-call options are validated', () => {
  it('acquire({ timeoutMs: -1 }) rejects with InvalidOptionError naming timeoutMs', async () => {
    await using pool = new Pool(base())
    await assert.rejects(pool.acquire({ timeoutMs: -1 }), (err) => assertInvalid(err, 'timeoutMs', '-1'))
    assert.equal(pool.stats().counters.acquires, 0)
  })

  it("acquire({ signal: 'x' }) rejects with InvalidOptionError naming signal", async () => {
    await using pool = new Pool(base())
    await assert.rejects(pool.acquire({ signal: 'x' as unknown as AbortSignal }), (err) =>
      assertInvalid(err, 'signal', '"x"'),
    )
  })

  it('close({ timeoutMs: -5 }) rejects with InvalidOptionError and leaves the pool open', async () => {
    await using pool = new Pool(base())
    await assert.rejects(pool.close({ timeoutMs: -5 }), (err) => assertInvalid(err, 'timeoutMs', '-5'))
    assert.equal(pool.state, 'open')
    const lease = await pool.acquire()
    lease.release()
  })
})
