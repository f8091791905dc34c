/**
 * ChannelPool's close and destroy on the Lifecycle base: a refused close changes nothing, the close
 * deadline cuts the calls still running, and destroy(reason) hands its reason to those calls.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import { CloseTimeoutError, InvalidOptionError } from '../../src/core/errors.js'
import { createChannelPool } from '../../src/grpc/channel-pool.js'
import { createHealthService } from '../../src/grpc/server-health.js'
import { callsAtServer, echo, echoClientConstructor, echoServers } from '../support/grpc.js'
import { until } from '../support/until.js'

const server = echoServers()

/** A one-channel pool with one slow call running at its server. */
async function oneCallInFlight() {
  const s = await server()
  const pool = createChannelPool(s.address, { size: 1 })
  await pool.waitForReady({ timeoutMs: 5000 })
  const [call] = await callsAtServer(pool.client(echoClientConstructor()), s, 1, 5000)
  return { pool, call: call! }
}

/** How a call cut by a forced close ends (the docs promise CANCELLED or UNAVAILABLE). */
function cut(err: grpc.ServiceError): boolean {
  assert.ok([grpc.status.CANCELLED, grpc.status.UNAVAILABLE].includes(err.code), `status ${err.code}`)
  return true
}

describe('channel pool close', () => {
  it('a close refused for bad options leaves DNS refresh, health checks and calls running, and a corrected close works', async () => {
    const health = createHealthService({ '': 'SERVING' })
    const s = await server({ setup: (srv) => health.addTo(srv) })
    const address = `127.0.0.1:${s.port}`
    const pool = createChannelPool(`localhost:${s.port}`, {
      size: 1,
      healthCheck: { retryMs: 50 },
      reresolveEveryMs: 200,
    })
    const client = pool.client(echoClientConstructor())
    const backend = () => pool.connectivity().backends.find((b) => b.address === address)
    await pool.waitForReady({ timeoutMs: 5000 })
    await until(() => backend()?.health === 'SERVING', 5000, 'the backend SERVING')

    await assert.rejects(pool.close({ timeoutMs: -1 }), InvalidOptionError)

    assert.equal(pool.state, 'open')
    const lookups = pool.stats().dnsLookups
    await until(() => pool.stats().dnsLookups > lookups, 5000, 'another DNS lookup after the refused close')
    health.setStatus('', 'NOT_SERVING')
    await until(() => backend()?.health === 'NOT_SERVING', 5000, 'the health Watch to see NOT_SERVING')
    health.setStatus('', 'SERVING')
    await until(() => backend()?.health === 'SERVING', 5000, 'the health Watch to see SERVING again')
    assert.equal((await echo(client, { message: 'still open' })).message, 'still open')

    await pool.close({ timeoutMs: 5000 })
    assert.equal(pool.state, 'closed')
    assert.equal(pool.stats().channels, 0)
  })

  it('cuts the calls still running at the close deadline', async () => {
    const { pool, call } = await oneCallInFlight()
    const started = Date.now()
    await pool.close({ timeoutMs: 100 })
    assert.ok(Date.now() - started < 2000, `closed in ${Date.now() - started} ms`)
    await assert.rejects(call, cut)
    assert.equal(pool.state, 'closed')
    assert.equal(pool.stats().channels, 0)
  })

  it('destroy(reason) ends the calls in flight and settles a close in progress', async () => {
    const { pool, call } = await oneCallInFlight()
    const closing = pool.close({ timeoutMs: 60_000 })
    assert.equal(pool.state, 'closing')
    await pool.destroy(new CloseTimeoutError(pool.name, 0, 1))
    await closing
    await assert.rejects(call, cut)
    assert.equal(pool.state, 'closed')
  })
})
