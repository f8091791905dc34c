import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import net, { type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { type TestContext, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { InvalidOptionError } from '../../src/core/errors.js'
import {
  BANDWIDTH_BURST_SECONDS,
  type FaultProxy,
  FaultProxyError,
  type StartFaultProxyOptions,
  startFaultProxy,
} from '../../src/testing/fault-proxy.js'
import { testPostgres } from '../support/postgres.js'
import { until } from '../support/until.js'

const HOST = '127.0.0.1'
const TIMEOUT = { timeout: 10_000 }
/** Long enough to be sure nothing is coming; only ever used as "nothing happened within". */
const QUIET_MS = 300

interface EchoServer {
  readonly port: number
  /** Bytes the server has received, over all connections. */
  readonly received: () => number
  readonly connections: () => number
  close(): Promise<void>
}

/** Echoes every byte back and passes a FIN on, like a well-behaved request/response server. */
async function startEcho(t: TestContext): Promise<EchoServer> {
  const sockets = new Set<Socket>()
  let received = 0
  let accepted = 0
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted += 1
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
    })
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  const echo: EchoServer = {
    port: (server.address() as net.AddressInfo).port,
    received: () => received,
    connections: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  t.after(() => echo.close())
  return echo
}

async function startProxy(t: TestContext, options: StartFaultProxyOptions): Promise<FaultProxy> {
  const proxy = await startFaultProxy(options)
  t.after(() => proxy.close())
  return proxy
}

/** Starts an echo server and a proxy in front of it. */
async function echoBehindProxy(t: TestContext): Promise<{ echo: EchoServer; proxy: FaultProxy }> {
  const echo = await startEcho(t)
  const proxy = await startProxy(t, { target: { host: HOST, port: echo.port } })
  return { echo, proxy }
}

/** What happened to a client socket: the data it got and how it ended (if it did). */
class Client {
  readonly socket: Socket
  data = Buffer.alloc(0)
  ended = false
  closed = false
  error: NodeJS.ErrnoException | undefined
  readonly #waiters = new Set<() => void>()

  constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk])
      this.#notify()
    })
    socket.on('end', () => {
      this.ended = true
      this.#notify()
    })
    socket.on('error', (error) => {
      this.error = error
      this.#notify()
    })
    socket.on('close', () => {
      this.closed = true
      this.#notify()
    })
  }

  /** Resolves once `predicate` holds; the test's own timeout bounds the wait. */
  until(predicate: (client: Client) => boolean): Promise<void> {
    if (predicate(this)) return Promise.resolve()
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate(this)) return
        this.#waiters.delete(check)
        resolve()
      }
      this.#waiters.add(check)
    })
  }

  async roundTrip(message: string): Promise<string> {
    const start = this.data.length
    this.socket.write(message)
    await this.until((c) => c.data.length >= start + message.length || c.closed)
    return this.data.subarray(start).toString()
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter()
  }
}

/** Connects a client and closes it when the test ends; rejects if the connect itself fails. */
function connect(t: TestContext, port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port, noDelay: true })
    t.after(() => socket.destroy())
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(new Client(socket))
    })
  })
}

/** A port nothing listens on (taken from the OS, then released). */
async function deadPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A small deterministic random source, so jitter is the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
}

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length
}

describe('startFaultProxy', () => {
  it('forwards a 1 MB payload both ways byte for byte', TIMEOUT, async (t) => {
    const { proxy } = await echoBehindProxy(t)
    const client = await connect(t, proxy.port)
    const payload = randomBytes(1024 * 1024)
    client.socket.write(payload)
    await client.until((c) => c.data.length >= payload.length)
    assert.ok(client.data.equals(payload))
    assert.equal(proxy.connections, 1)
    const stats = proxy.stats()
    assert.equal(stats.bytesUpstream, payload.length)
    assert.equal(stats.bytesDownstream, payload.length)
    assert.equal(proxy.address, `127.0.0.1:${proxy.port}`)
  })

  it('passes a FIN on and closes the pair once both sides have ended', TIMEOUT, async (t) => {
    const { proxy } = await echoBehindProxy(t)
    const client = await connect(t, proxy.port)
    client.socket.end('last words')
    await client.until((c) => c.ended)
    assert.equal(client.data.toString(), 'last words')
    await client.until((c) => c.closed)
    await until(() => proxy.connections === 0, TIMEOUT.timeout, 'the proxy to drop its connections')
  })

  it('closes the client side cleanly when the target is down', TIMEOUT, async (t) => {
    const proxy = await startProxy(t, { target: { host: HOST, port: await deadPort() } })
    const client = await connect(t, proxy.port)
    client.socket.write('anyone there?')
    await client.until((c) => c.ended)
    assert.equal(client.error, undefined)
    assert.equal(client.data.length, 0)
    assert.equal(proxy.stats().connectErrors, 1)
  })

  it('sends new connections to the target set by setTarget while old ones stay put', TIMEOUT, async (t) => {
    const { echo: first, proxy } = await echoBehindProxy(t)
    const second = await startEcho(t)
    const old = await connect(t, proxy.port)
    assert.equal(await old.roundTrip('a'), 'a')
    proxy.setTarget({ host: HOST, port: second.port })
    const fresh = await connect(t, proxy.port)
    assert.equal(await fresh.roundTrip('b'), 'b')
    assert.equal(await old.roundTrip('c'), 'c')
    assert.equal(first.received(), 2)
    assert.equal(second.received(), 1)
    assert.deepEqual(proxy.target, { host: HOST, port: second.port })
  })
})

describe('setLatency', () => {
  it('adds the latency in each direction to a round trip', TIMEOUT, async (t) => {
    const { proxy } = await echoBehindProxy(t)
    const client = await connect(t, proxy.port)
    await client.roundTrip('warm-up')
    proxy.setLatency(50)
    const start = performance.now()
    assert.equal(await client.roundTrip('ping'), 'ping')
    assert.ok(performance.now() - start >= 100, `round trip took ${performance.now() - start} ms`)

    proxy.setLatency(50, { direction: 'downstream' })
    proxy.setLatency(0, { direction: 'upstream' })
    const oneWay = performance.now()
    assert.equal(await client.roundTrip('pong'), 'pong')
    assert.ok(performance.now() - oneWay >= 50)
  })

  it('keeps the order of 100 small writes despite jitter', TIMEOUT, async (t) => {
    const echo = await startEcho(t)
    const proxy = await startProxy(t, { target: { host: HOST, port: echo.port }, random: seededRandom(7) })
    proxy.setLatency(10, { jitterMs: 10 })
    const client = await connect(t, proxy.port)
    let expected = ''
    for (let i = 0; i < 100; i++) {
      const message = `message ${i};`
      expected += message
      client.socket.write(message)
      // Separate ticks, so the proxy reads separate chunks and draws a delay for each.
      await new Promise((resolve) => setImmediate(resolve))
    }
    await client.until((c) => c.data.length >= expected.length)
    assert.equal(client.data.toString(), expected)
  })
})

describe('setBandwidth', () => {
  it('holds a transfer to the byte rate, burst included', TIMEOUT, async (t) => {
    const { proxy } = await echoBehindProxy(t)
    const client = await connect(t, proxy.port)
    const rate = 40_000
    const payload = randomBytes(64 * 1024)
    proxy.setBandwidth(rate)
    const start = performance.now()
    client.socket.write(payload)
    await client.until((c) => c.data.length >= payload.length)
    const elapsed = performance.now() - start
    assert.ok(client.data.equals(payload))
    // Each direction may send one full bucket at once, the rest waits for tokens.
    const floor = ((payload.length - rate * BANDWIDTH_BURST_SECONDS) / rate) * 1000
    assert.ok(elapsed >= floor, `took ${elapsed} ms, expected at least ${floor} ms`)
    assert.equal(proxy.stats().upstream.bytesPerSecond, rate)
  })
})

describe('refuseNew', () => {
  it('makes new connects fail with ECONNREFUSED while open connections keep working', TIMEOUT, async (t) => {
    const { proxy } = await echoBehindProxy(t)
    const open = await connect(t, proxy.port)
    await proxy.refuseNew(true)
    assert.equal(proxy.stats().listening, false)
    await assert.rejects(connect(t, proxy.port), { code: 'ECONNREFUSED' })
    assert.equal(await open.roundTrip('still here'), 'still here')

    await proxy.refuseNew(false)
    const fresh = await connect(t, proxy.port)
    assert.equal(await fresh.roundTrip('back'), 'back')
  })

  it(
    "in 'reset' mode accepts and resets new connections while open ones keep working",
    TIMEOUT,
    async (t) => {
      const { echo, proxy } = await echoBehindProxy(t)
      const open = await connect(t, proxy.port)
      await proxy.refuseNew(true, { mode: 'reset' })
      const refused = await connect(t, proxy.port).catch((error: NodeJS.ErrnoException) => error)
      if (refused instanceof Client) {
        // The handshake completed in the kernel before the proxy saw the connection; the RST follows.
        await refused.until((c) => c.closed)
        assert.equal(refused.data.length, 0)
        assert.equal(refused.error?.code, 'ECONNRESET')
      } else {
        assert.equal(refused.code, 'ECONNRESET')
      }
      assert.equal(await open.roundTrip('fine'), 'fine')
      assert.equal(echo.connections(), 1)
      assert.equal(proxy.stats().refused, 1)
    },
  )
})

describe('resetAll', () => {
  it('makes every client see ECONNRESET and drops the connections', TIMEOUT, async (t) => {
    const { proxy } = await echoBehindProxy(t)
    const clients = [await connect(t, proxy.port), await connect(t, proxy.port)]
    for (const client of clients) await client.roundTrip('x')
    proxy.resetAll()
    for (const client of clients) {
      await client.until((c) => c.closed)
      assert.equal(client.error?.code, 'ECONNRESET')
    }
    await until(() => proxy.connections === 0, TIMEOUT.timeout, 'the proxy to drop its connections')
    assert.equal(proxy.stats().reset, 2)
    const fresh = await connect(t, proxy.port)
    assert.equal(await fresh.roundTrip('new'), 'new')
  })
})

describe('blackhole', () => {
  it(
    'drops bytes on open and new connections without closing them; heal() restores replies',
    TIMEOUT,
    async (t) => {
      const { echo, proxy } = await echoBehindProxy(t)
      const open = await connect(t, proxy.port)
      assert.equal(await open.roundTrip('before'), 'before')
      proxy.blackhole(true)
      const during = await connect(t, proxy.port)
      open.socket.write('lost')
      during.socket.write('lost too')
      await sleep(QUIET_MS)
      for (const client of [open, during]) {
        assert.equal(client.closed || client.ended, false)
        assert.equal(client.socket.readyState, 'open')
      }
      assert.equal(open.data.toString(), 'before')
      assert.equal(during.data.length, 0)
      assert.equal(echo.connections(), 1, 'a connection made in a blackhole never reaches the target')
      assert.equal(proxy.stats().bytesDropped, 'lost'.length + 'lost too'.length)

      await proxy.heal()
      const fresh = await connect(t, proxy.port)
      assert.equal(await fresh.roundTrip('hello'), 'hello')
      // Dropped, not buffered: the open connection resumes with the next bytes only.
      assert.equal(await open.roundTrip('again'), 'again')
      assert.equal(open.data.toString(), 'beforeagain')
    },
  )
})

describe('halfOpen', () => {
  it(
    'keeps the client socket open with no data and no FIN, and loses nothing when healed',
    TIMEOUT,
    async (t) => {
      const { echo, proxy } = await echoBehindProxy(t)
      const client = await connect(t, proxy.port)
      assert.equal(await client.roundTrip('hi'), 'hi')
      proxy.halfOpen()
      client.socket.write('anybody?')
      await sleep(QUIET_MS)
      assert.equal(client.data.toString(), 'hi')
      assert.equal(client.ended, false)
      assert.equal(client.closed, false)
      assert.equal(client.socket.readyState, 'open')
      assert.equal(echo.received(), 'hi'.length, 'the target got nothing either')
      assert.equal(proxy.connections, 1)

      await proxy.heal()
      await client.until((c) => c.data.length >= 'hianybody?'.length)
      assert.equal(client.data.toString(), 'hianybody?')
    },
  )
})

describe('close', () => {
  it('is idempotent, closes the clients and leaves no TCP handles behind', TIMEOUT, async (t) => {
    const echo = await startEcho(t)
    const before = tcpHandles()
    const proxy = await startFaultProxy({ target: { host: HOST, port: echo.port } })
    const client = await connect(t, proxy.port)
    await client.roundTrip('x')
    const closing = proxy.close()
    assert.equal(proxy.close(), closing)
    await closing
    await proxy.close()
    await client.until((c) => c.closed)
    assert.equal(proxy.connections, 0)
    assert.equal(proxy.stats().listening, false)
    await assert.rejects(connect(t, proxy.port), { code: 'ECONNREFUSED' })
    assert.throws(
      () => proxy.setLatency(10),
      (error: unknown) => {
        assert.ok(error instanceof FaultProxyError)
        assert.equal(error.code, 'BERTH_FAULT_PROXY_CLOSED')
        return true
      },
    )
    // The echo server's side of the connection may need a moment to notice the FIN.
    await until(() => tcpHandles() <= before, TIMEOUT.timeout, 'the echo server to close its side')
  })
})

describe('option validation', () => {
  const target = { host: HOST, port: 1 }

  function invalid(option: string) {
    return (error: unknown) => {
      assert.ok(error instanceof InvalidOptionError, String(error))
      assert.equal(error.option, option)
      assert.equal(error.code, 'BERTH_INVALID_OPTION')
      return true
    }
  }

  it('refuses a listen host off loopback unless allowNonLoopback is set', async () => {
    await assert.rejects(startFaultProxy({ target, listen: { host: '0.0.0.0' } }), invalid('listen.host'))
    await assert.rejects(startFaultProxy({ target, listen: { host: '10.1.2.3' } }), invalid('listen.host'))
    await assert.rejects(
      startFaultProxy({ target, listen: { host: '0.0.0.0' }, allowNonLoopback: 'yes' as unknown as boolean }),
      invalid('allowNonLoopback'),
    )
  })

  it('names the field and value of a bad target or listen port', async () => {
    await assert.rejects(startFaultProxy({ target: { host: HOST, port: 70_000 } }), (error: unknown) => {
      assert.ok(error instanceof InvalidOptionError)
      assert.equal(error.option, 'target.port')
      assert.equal(error.value, 70_000)
      assert.match(error.message, /70000/)
      return true
    })
    await assert.rejects(startFaultProxy({ target: { host: '', port: 5432 } }), invalid('target.host'))
    await assert.rejects(startFaultProxy({ target, listen: { port: -1 } }), invalid('listen.port'))
  })

  it('rejects bad fault settings with the parameter at fault', TIMEOUT, async (t) => {
    const proxy = await startProxy(t, { target })
    assert.throws(() => proxy.setLatency(-1), invalid('latencyMs'))
    assert.throws(() => proxy.setLatency(10, { jitterMs: Number.NaN }), invalid('jitterMs'))
    assert.throws(() => proxy.setLatency(10, { direction: 'sideways' as 'both' }), invalid('direction'))
    assert.throws(() => proxy.setBandwidth(0), invalid('bytesPerSecond'))
    assert.throws(() => proxy.blackhole('on' as unknown as boolean), invalid('on'))
    await assert.rejects(async () => proxy.refuseNew(true, { mode: 'drop' as 'reset' }), invalid('mode'))
    proxy.setBandwidth(Number.POSITIVE_INFINITY)
    assert.equal(proxy.stats().downstream.bytesPerSecond, Number.POSITIVE_INFINITY)
  })
})

describe('a PostgreSQL connection through the proxy', () => {
  it(
    'runs a query, fails on resetAll() and works again with a new client',
    { timeout: 120_000 },
    async (t) => {
      const info = await testPostgres()
      const proxy = await startProxy(t, { target: { host: info.host, port: info.port } })
      const clientConfig = {
        host: proxy.host,
        port: proxy.port,
        user: info.user,
        password: info.password,
        database: info.database,
      }
      const first = new pg.Client(clientConfig)
      // pg also emits the reset as an 'error' event, which would crash the process unheard.
      first.on('error', () => undefined)
      t.after(() => first.end().catch(() => undefined))
      await first.connect()
      const { rows } = await first.query<{ one: number }>('select 1 as one')
      assert.deepEqual(rows, [{ one: 1 }])

      const inFlight = first.query('select pg_sleep(1)')
      await sleep(100)
      proxy.resetAll()
      // The driver surfaces the RST as the socket's own error.
      await assert.rejects(inFlight, { code: 'ECONNRESET' })

      await proxy.heal()
      const second = new pg.Client(clientConfig)
      second.on('error', () => undefined)
      t.after(() => second.end().catch(() => undefined))
      await second.connect()
      const again = await second.query<{ one: number }>('select 1 as one')
      assert.deepEqual(again.rows, [{ one: 1 }])
    },
  )
})
