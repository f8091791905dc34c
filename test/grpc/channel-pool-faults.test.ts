import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { createChannelPool } from '../../src/grpc/channel-pool.js'
import { createHealthService } from '../../src/grpc/server-health.js'
import { type FaultProxy, startFaultProxy } from '../../src/testing/index.js'
import {
  type EchoServer,
  echo,
  echoClientConstructor,
  startEchoServer,
  startLoad,
  until,
} from '../support/grpc.js'

const servers: EchoServer[] = []
const proxies: FaultProxy[] = []
async function server(options: Parameters<typeof startEchoServer>[0] = {}): Promise<EchoServer> {
  const s = await startEchoServer(options)
  servers.push(s)
  return s
}
async function proxyTo(s: EchoServer): Promise<FaultProxy> {
  const p = await startFaultProxy({ target: { host: '127.0.0.1', port: s.port } })
  proxies.push(p)
  return p
}
after(async () => {
  await Promise.all(proxies.map((p) => p.close()))
  await Promise.all(servers.map((s) => s.stop(1000)))
})

const quiet = { onWarning: () => {} }

function share(byServer: Map<string, number>, id: string): number {
  let total = 0
  for (const n of byServer.values()) total += n
  return total === 0 ? 0 : (byServer.get(id) ?? 0) / total
}

describe('channel pool under faults', () => {
  it('moves traffic off a backend killed under load and brings it back after a restart', async () => {
    const backends = await Promise.all([server({ id: 'a' }), server({ id: 'b' }), server({ id: 'c' })])
    const pool = createChannelPool(
      backends.map((s) => s.address),
      { size: 2, reconnectBackoff: { initialMs: 100, maxMs: 500 } },
    )
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    await sleep(200)
    const before = startLoad(client, { workers: 8, maxMs: 20_000, request: { delayMs: 2 } })
    await until(() => before.tally.ok > 150, 5000, 'load on all three')
    const spread = await before.stop()
    for (const id of ['a', 'b', 'c']) assert.ok(share(spread.byServer, id) > 0.15, `${id} got traffic`)

    const during = startLoad(client, { workers: 8, maxMs: 20_000, request: { delayMs: 2 } })
    await until(() => during.tally.ok > 50, 5000, 'load')
    const bPort = backends[1]!.port
    const inFlightOnB = backends[1]!.inFlight
    // forceShutdown cancels the calls it is running (RST_STREAM CANCEL): those fail CANCELLED,
    // which no retry policy may retry. Every other call must succeed.
    backends[1]!.kill()
    const mark = new Map(during.tally.byServer)
    await sleep(500)
    const midway = new Map(during.tally.byServer)
    await sleep(500)
    const killed = await during.stop()
    assert.ok(killed.failures.length <= Math.max(inFlightOnB, 8), JSON.stringify(killed.failures))
    assert.ok(
      killed.failures.every((f) => f.code === grpc.status.CANCELLED),
      `only calls the server cancelled fail: ${JSON.stringify(killed.failures)}`,
    )
    assert.equal(
      (killed.byServer.get('b') ?? 0) - (midway.get('b') ?? 0),
      0,
      'b gets nothing once it is gone',
    )
    assert.ok((killed.byServer.get('a') ?? 0) > (mark.get('a') ?? 0))
    assert.ok((killed.byServer.get('c') ?? 0) > (mark.get('c') ?? 0))

    await server({ id: 'b', port: bPort })
    const back = startLoad(client, { workers: 8, maxMs: 20_000, request: { delayMs: 2 } })
    await until(() => (back.tally.byServer.get('b') ?? 0) > 50, 10_000, 'traffic back on b')
    const restored = await back.stop()
    assert.deepEqual(restored.failures, [])
    await pool.close()
  })

  it('fails at most the calls caught on a backend that crashes under load, and none after', async () => {
    const backends = await Promise.all([server({ id: 'a' }), server({ id: 'b' }), server({ id: 'c' })])
    const proxies = await Promise.all(backends.map(proxyTo))
    const pool = createChannelPool(
      proxies.map((p) => `127.0.0.1:${p.port}`),
      { size: 2, reconnectBackoff: { initialMs: 100, maxMs: 500 } },
    )
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    await sleep(200)
    const workers = 8
    const load = startLoad(client, { workers, maxMs: 20_000, request: { delayMs: 5 } })
    await until(() => (load.tally.byServer.get('b') ?? 0) > 30, 5000, 'load on b')
    // A crashed process: its port refuses connections and every open one is reset. Calls not yet
    // answered are retried elsewhere (UNAVAILABLE, uncommitted); one whose response had begun to
    // arrive is committed and may fail: the retry policy allows no more.
    await proxies[1]!.refuseNew(true)
    proxies[1]!.resetAll()
    await sleep(300)
    const failedAtCrash = load.tally.failures.length
    const bMark = load.tally.byServer.get('b') ?? 0
    await sleep(500)
    assert.equal((load.tally.byServer.get('b') ?? 0) - bMark, 0, 'nothing reached b while it was down')
    await proxies[1]!.refuseNew(false)
    await until(() => (load.tally.byServer.get('b') ?? 0) > bMark + 30, 10_000, 'b serving again')
    const tally = await load.stop()
    assert.equal(
      tally.failures.length,
      failedAtCrash,
      `calls failed after the crash: ${JSON.stringify(tally.failures)}`,
    )
    assert.ok(failedAtCrash <= workers, `${failedAtCrash} failed, more than were in flight`)
    assert.ok(tally.failures.every((f) => f.code === grpc.status.UNAVAILABLE))
    await pool.close()
  })

  it('drains a backend that shuts down gracefully (GOAWAY) without failing a call', async () => {
    const [a, b] = await Promise.all([server({ id: 'a' }), server({ id: 'b' })])
    const pool = createChannelPool([a!.address, b!.address], { size: 2 })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    await sleep(200)
    const load = startLoad(client, { workers: 8, maxMs: 20_000, request: { delayMs: 20 } })
    await until(() => (load.tally.byServer.get('b') ?? 0) > 20, 5000, 'load on b')
    await b!.stop(5000)
    const aMark = load.tally.byServer.get('a') ?? 0
    await until(() => (load.tally.byServer.get('a') ?? 0) > aMark + 100, 10_000, 'load moved to a')
    const tally = await load.stop()
    assert.deepEqual(tally.failures, [])
    await pool.close()
  })

  it('detects a blackholed backend by keepalive and fails its calls over to the others', async () => {
    const [a, b] = await Promise.all([server({ id: 'a' }), server({ id: 'b' })])
    const [pa, pb] = await Promise.all([proxyTo(a!), proxyTo(b!)])
    const keepalive = { timeMs: 500, timeoutMs: 500, permitWithoutCalls: true }
    const pool = createChannelPool([`127.0.0.1:${pa!.port}`, `127.0.0.1:${pb!.port}`], {
      size: 1,
      keepalive,
      reconnectBackoff: { initialMs: 100, maxMs: 500 },
      connectTimeoutMs: 500,
      ...quiet,
    })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    await sleep(200)
    const load = startLoad(client, { workers: 4, maxMs: 20_000, request: { delayMs: 2 } })
    await until(() => (load.tally.byServer.get('a') ?? 0) > 20, 5000, 'traffic on a')
    pb!.blackhole(true)
    const blackholedAt = Date.now()
    // New calls stop reaching b once keepalive (time + timeout) has declared its connection dead.
    let lastB = load.tally.byServer.get('b') ?? 0
    let quietSince = Date.now()
    await until(
      () => {
        const nowB = load.tally.byServer.get('b') ?? 0
        if (nowB !== lastB) {
          lastB = nowB
          quietSince = Date.now()
        }
        return Date.now() - quietSince > 300 && (load.tally.byServer.get('a') ?? 0) > 200
      },
      8000,
      'traffic on a only',
    )
    const aBefore = load.tally.byServer.get('a') ?? 0
    await until(() => (load.tally.byServer.get('a') ?? 0) > aBefore + 100, 5000, 'calls flowing to a')
    const detectedWithin = Date.now() - blackholedAt
    const tally = await load.stop()
    assert.ok(detectedWithin < keepalive.timeMs + keepalive.timeoutMs + 3000, `took ${detectedWithin} ms`)
    // Calls stuck on the dead connection fail over by the retry policy; none may be lost silently.
    assert.equal(tally.ok + tally.failures.length, tally.calls)
    assert.ok(tally.failures.length <= 4, `failures: ${JSON.stringify(tally.failures)}`)
    pb!.blackhole(false)
    await pool.close({ timeoutMs: 2000 })
  })

  it('fails a connection attempt that hangs within connectTimeoutMs and retries it with backoff', async () => {
    const s = await server()
    const proxy = await proxyTo(s)
    proxy.blackhole(true)
    const pool = createChannelPool(`127.0.0.1:${proxy.port}`, {
      size: 1,
      connectTimeoutMs: 300,
      reconnectBackoff: { initialMs: 100, maxMs: 200 },
    })
    const started = Date.now()
    await assert.rejects(pool.waitForReady({ timeoutMs: 250 }), { code: 'BERTH_NOT_READY' })
    await until(() => pool.stats().connectTimeouts >= 1, 2000, 'a connect timeout')
    const first = Date.now() - started
    assert.ok(first < 1500, `first attempt cut after ${first} ms`)
    await until(() => pool.stats().connectTimeouts >= 2, 3000, 'a second attempt timing out')
    assert.ok(pool.stats().transientFailures >= 1)
    await proxy.heal()
    await pool.waitForReady({ timeoutMs: 5000 })
    const client = pool.client(echoClientConstructor())
    assert.equal((await echo(client, { message: 'after' })).message, 'after')
    await pool.close()
  })

  it('keeps the event loop free while every connection is refused, and fails waitForReady on time', async () => {
    const pool = createChannelPool('127.0.0.1:1', {
      size: 'auto',
      reconnectBackoff: { initialMs: 50, maxMs: 100 },
    })
    let ticks = 0
    const timer = setInterval(() => ticks++, 20)
    const started = Date.now()
    await assert.rejects(pool.waitForReady({ timeoutMs: 400 }), { code: 'BERTH_NOT_READY' })
    clearInterval(timer)
    assert.ok(Date.now() - started < 1500)
    assert.ok(ticks >= 10, `only ${ticks} timer ticks in 400 ms: the event loop was starved`)
    const closing = Date.now()
    await pool.destroy()
    assert.ok(Date.now() - closing < 500)
  })

  it('takes a NOT_SERVING backend out of rotation by its health Watch and puts it back when SERVING', async () => {
    const healthA = createHealthService({ '': 'SERVING' })
    const healthB = createHealthService({ '': 'SERVING' })
    const a = await server({ id: 'a', setup: (srv) => healthA.addTo(srv) })
    const b = await server({ id: 'b', setup: (srv) => healthB.addTo(srv) })
    const pool = createChannelPool([a.address, b.address], { size: 1, healthCheck: true })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    await until(() => pool.connectivity().backends.every((x) => x.health === 'SERVING'), 5000, 'both SERVING')
    healthB.setStatus('', 'NOT_SERVING')
    await until(() => pool.stats().unhealthy.length === 1, 5000, 'b out of rotation')
    await sleep(50)
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++) ids.add((await echo(client)).serverId)
    assert.deepEqual([...ids], ['a'])
    const state = pool.connectivity().backends.find((x) => x.address === b.address)
    assert.deepEqual(
      { health: state?.health, inRotation: state?.inRotation },
      { health: 'NOT_SERVING', inRotation: false },
    )
    healthB.setStatus('', 'SERVING')
    await until(() => pool.stats().unhealthy.length === 0, 5000, 'b back')
    await sleep(200)
    ids.clear()
    for (let i = 0; i < 20; i++) ids.add((await echo(client)).serverId)
    assert.deepEqual([...ids].sort(), ['a', 'b'])
    await pool.close()
  })

  it("treats a server without the health service as healthy (gRPC's A17 rule)", async () => {
    const s = await server()
    const pool = createChannelPool(s.address, { size: 1, healthCheck: { service: 'billing' } })
    await until(() => pool.connectivity().backends[0]?.health === 'UNIMPLEMENTED', 5000, 'UNIMPLEMENTED')
    assert.equal(pool.connectivity().backends[0]?.inRotation, true)
    assert.equal((await echo(pool.client(echoClientConstructor()), { message: 'ok' })).message, 'ok')
    await pool.close()
  })

  it("with size 'auto', adds channels while every one is at the server's stream limit and reaps them when idle", async () => {
    const s = await server({ serverOptions: { 'grpc.max_concurrent_streams': 10 } })
    const pool = createChannelPool(s.address, { size: 'auto', maxChannels: 8, channelIdleMs: 300 })
    const client = pool.client(echoClientConstructor())
    await pool.waitForReady({ timeoutMs: 5000 })
    s.resetMaxInFlight()
    const calls = Array.from({ length: 100 }, () => echo(client, { delayMs: 20 }))
    await Promise.all(calls)
    const grown = pool.stats().channels
    assert.equal(pool.stats().streamsPerChannel, 10)
    assert.ok(grown >= 4, `grew to ${grown} channels`)
    assert.ok(s.maxInFlight >= 40, `at most ${s.maxInFlight} calls ran at once at the server`)
    await until(() => pool.stats().channels === 1, 5000, 'idle channels reaped')
    await pool.close()

    // One channel: the server's limit caps concurrency at 10.
    const one = createChannelPool(s.address, { size: 1 })
    const oneClient = one.client(echoClientConstructor())
    await one.waitForReady({ timeoutMs: 5000 })
    s.resetMaxInFlight()
    await Promise.all(Array.from({ length: 100 }, () => echo(oneClient, { delayMs: 20 })))
    assert.ok(s.maxInFlight <= 10, `one channel ran ${s.maxInFlight} at once`)
    await one.close()
  })

  it('asks an IDLE channel to connect again at once (the HealthMonitor kick)', async () => {
    const s = await server()
    const pool = createChannelPool(s.address, {
      size: 1,
      channelOptions: { 'grpc.client_idle_timeout_ms': 1000 },
    })
    await pool.waitForReady({ timeoutMs: 5000 })
    await until(() => pool.stats().idleKicks >= 1, 5000, 'an idle kick')
    await until(() => pool.connectivity().state === 'READY', 5000, 'READY again')
    await pool.close()
  })
})
