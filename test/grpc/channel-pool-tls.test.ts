import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import { createChannelPool } from '../../src/grpc/channel-pool.js'
import { serverTlsCredentials, tlsCredentials } from '../../src/grpc/tls.js'
import { type EchoServer, echo, echoClientConstructor, startEchoServer } from '../support/grpc.js'
import { type TestPki, testPki } from '../support/tls.js'

describe('channel pool over TLS', () => {
  let pki: TestPki
  let server: EchoServer

  before(async () => {
    pki = await testPki()
    server = await startEchoServer({
      serverOptions: { 'grpc.max_concurrent_streams': 5 },
      credentials: serverTlsCredentials({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert }),
    })
  })
  after(() => server.stop())

  it("calls through mutual TLS, with the connect timeout and 'auto' stream-limit probe in the path", async () => {
    const pool = createChannelPool(`localhost:${server.port}`, {
      size: 'auto',
      credentials: tlsCredentials({ ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key }),
      connectTimeoutMs: 2000,
    })
    const client = pool.client(echoClientConstructor())
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => echo(client, { message: `t${i}`, delayMs: 30 })),
    )
    assert.equal(replies.length, 12)
    assert.equal(pool.stats().streamsPerChannel, 5, 'the probe read the limit through TLS')
    assert.ok(pool.stats().channels >= 2, 'the pool grew past one channel of 5 streams')
    assert.equal(pool.stats().connectTimeouts, 0, 'TLS handshakes are not mistaken for hung connections')
    await pool.close()
  })

  it('fails calls when the server does not accept the client (no client certificate)', async () => {
    const pool = createChannelPool(`localhost:${server.port}`, {
      size: 1,
      credentials: tlsCredentials({ ca: pki.ca.cert }),
      retry: false,
    })
    await assert.rejects(
      echo(pool.client(echoClientConstructor()), {}, { deadline: Date.now() + 3000 }),
      (err: grpc.ServiceError) => {
        assert.ok(
          [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED].includes(err.code),
          String(err.code),
        )
        return true
      },
    )
    await pool.destroy()
  })
})
