import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { InvalidOptionError } from '../../src/core/errors.js'
import {
  type MetadataPropagationOptions,
  currentRequestMetadata,
  metadataPropagationInterceptor,
  propagationScope,
  propagationServerInterceptor,
} from '../../src/grpc/interceptor-metadata.js'
import {
  type EchoClient,
  type EchoReply,
  type EchoRequest,
  type EchoServer,
  echo,
  echoClientConstructor,
  echoServiceDefinition,
  startEchoServer,
} from '../support/grpc.js'

function metadataOf(...pairs: [string, string][]): grpc.Metadata {
  const md = new grpc.Metadata()
  for (const [k, v] of pairs) md.add(k, v)
  return md
}

/** The values of `key` the downstream server saw, from its reply's `key=value` lines. */
function seen(reply: EchoReply, key: string): string[] {
  return reply.metadata.filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1))
}

interface Relay {
  readonly address: string
  stop(): Promise<void>
}

/**
 * A second Echo server whose handlers call the downstream server and reply with what it saw: Echo
 * after a random pause (so concurrent requests interleave), Chat once per message received.
 */
async function startRelay(
  downstream: EchoClient,
  mode: 'server-interceptor' | 'scope-in-handler',
): Promise<Relay> {
  const server = new grpc.Server(
    mode === 'server-interceptor' ? { interceptors: [propagationServerInterceptor()] } : {},
  )
  const forward = async (request: EchoRequest) => {
    await sleep(Math.random() * 20)
    await new Promise((resolve) => setImmediate(resolve))
    return echo(downstream, request)
  }
  server.addService(echoServiceDefinition(), {
    echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      const run = () => forward(call.request).then((r) => callback(null, r), callback)
      if (mode === 'scope-in-handler') propagationScope(call, run)
      else run()
    },
    chat: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
      call.on('data', (req: EchoRequest) => {
        forward(req).then(
          (r) => call.write(r),
          () => {},
        )
      })
      call.on('end', () => setTimeout(() => call.end(), 100))
    },
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  )
  return {
    address: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  }
}

describe('metadata propagation', () => {
  let downstream: EchoServer
  const clients: EchoClient[] = []

  function client(address: string, options?: MetadataPropagationOptions): EchoClient {
    const Echo = echoClientConstructor()
    const c = new Echo(address, grpc.credentials.createInsecure(), {
      interceptors: options ? [metadataPropagationInterceptor(options)] : [],
    })
    clients.push(c)
    return c
  }

  before(async () => {
    downstream = await startEchoServer()
  })

  after(async () => {
    for (const c of clients) c.close()
    await downstream.stop()
  })

  for (const mode of ['server-interceptor', 'scope-in-handler'] as const) {
    test(`a relay (${mode}) forwards x-request-id downstream without leaking it across concurrent requests`, async () => {
      const relay = await startRelay(client(downstream.address, {}), mode)
      try {
        const front = client(relay.address)
        const replies = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            echo(
              front,
              { message: `m${i}` },
              {},
              i % 5 === 4 ? new grpc.Metadata() : metadataOf(['x-request-id', `req-${i}`]),
            ),
          ),
        )
        replies.forEach((reply, i) => {
          assert.equal(reply.message, `m${i}`)
          assert.deepEqual(seen(reply, 'x-request-id'), i % 5 === 4 ? [] : [`req-${i}`], `request ${i}`)
        })
      } finally {
        await relay.stop()
      }
    })
  }

  test('the server interceptor keeps the scope in stream event handlers', async () => {
    const relay = await startRelay(client(downstream.address, {}), 'server-interceptor')
    try {
      const chat = client(relay.address).chat(metadataOf(['x-request-id', 'chat-1'], ['traceparent', 'tp-1']))
      const replies: EchoReply[] = []
      chat.on('data', (r: EchoReply) => replies.push(r))
      const status = new Promise<grpc.StatusObject>((resolve) => chat.on('status', resolve))
      chat.write({ message: 'one' })
      chat.write({ message: 'two' })
      chat.end()
      assert.equal((await status).code, grpc.status.OK)
      assert.equal(replies.length, 2)
      for (const r of replies) {
        assert.deepEqual(seen(r, 'x-request-id'), ['chat-1'])
        assert.deepEqual(seen(r, 'traceparent'), ['tp-1'])
      }
    } finally {
      await relay.stop()
    }
  })

  test('only the listed keys are propagated: authorization only when asked', async () => {
    const incoming = metadataOf(['x-request-id', 'r1'], ['authorization', 'Bearer secret'], ['x-other', 'o'])
    const byDefault = client(downstream.address, {})
    const withAuth = client(downstream.address, { keys: ['X-Request-Id', 'authorization'] })
    const [a, b] = await propagationScope(incoming, () => Promise.all([echo(byDefault), echo(withAuth)]))
    assert.ok(a && b)
    assert.deepEqual(seen(a, 'x-request-id'), ['r1'])
    assert.deepEqual(seen(a, 'authorization'), [])
    assert.deepEqual(seen(a, 'x-other'), [])
    assert.deepEqual(seen(b, 'authorization'), ['Bearer secret'])
    assert.deepEqual(seen(b, 'x-request-id'), ['r1'])
  })

  test("the caller's own metadata wins over propagated and static values, and is not modified", async () => {
    const c = client(downstream.address, { static: { 'x-client': 'billing', 'x-request-id': 'static' } })
    const own = metadataOf(['x-request-id', 'mine'])
    const reply = await propagationScope(metadataOf(['x-request-id', 'incoming']), () => echo(c, {}, {}, own))
    assert.deepEqual(seen(reply, 'x-request-id'), ['mine'])
    assert.deepEqual(seen(reply, 'x-client'), ['billing'])

    const reused = new grpc.Metadata()
    const inside = await propagationScope(metadataOf(['x-request-id', 'incoming']), () =>
      echo(c, {}, {}, reused),
    )
    assert.deepEqual(seen(inside, 'x-request-id'), ['incoming'])
    assert.deepEqual(reused.getMap(), {})
    const outside = await echo(c, {}, {}, reused)
    assert.deepEqual(seen(outside, 'x-request-id'), ['static'])
    assert.deepEqual(seen(outside, 'x-client'), ['billing'])
  })

  test('outside any scope nothing is propagated, and scopes nest with the innermost winning', async () => {
    const c = client(downstream.address, {})
    assert.equal(currentRequestMetadata(), undefined)
    assert.deepEqual(seen(await echo(c), 'x-request-id'), [])
    const reply = await propagationScope(metadataOf(['x-request-id', 'outer']), () =>
      propagationScope(metadataOf(['x-request-id', 'inner']), () => echo(c)),
    )
    assert.deepEqual(seen(reply, 'x-request-id'), ['inner'])
  })

  test('invalid keys and static values are refused at construction', () => {
    assert.throws(() => metadataPropagationInterceptor({ keys: ['bad key'] }), InvalidOptionError)
    assert.throws(() => metadataPropagationInterceptor({ keys: ['grpc-timeout'] }), { option: 'keys[0]' })
    assert.throws(() => metadataPropagationInterceptor({ static: { 'x-a': 1 as unknown as string } }), {
      option: 'static["x-a"]',
    })
    assert.throws(() => metadataPropagationInterceptor({ static: { 'x-a-bin': 'text' } }), {
      option: 'static["x-a-bin"]',
    })
    assert.doesNotThrow(() => metadataPropagationInterceptor({ static: { 'x-a-bin': Buffer.from([1]) } }))
  })
})
