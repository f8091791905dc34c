/**
 * Issue 6, scenario 11 (gRPC half of "a TLS mismatch"): a channel pool whose security does not
 * match its server's. Nothing may hang: `waitForReady` ends with `NotReadyError` on its timeout,
 * and every call ends with a typed UNAVAILABLE status, while the pool keeps retrying on its
 * reconnect backoff (bounded).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import {
  NotReadyError,
  createChannelPool,
  serverTlsCredentials,
  tlsCredentials,
} from '../../src/grpc/index.js'
import { echoClientConstructor } from '../support/grpc.js'
import { testPki } from '../support/tls.js'
import {
  FAST_RECONNECT,
  TrackedLoad,
  echoServer,
  failureCounts,
  timeUntil,
  track,
  watchProcessErrors,
} from './grpc-support.js'

type Case = {
  name: string
  server: () => Promise<grpc.ServerCredentials | undefined>
  client: () => Promise<grpc.ChannelCredentials | undefined>
}

const CASES: Case[] = [
  {
    name: 'TLS client, plaintext server',
    server: async () => undefined,
    client: async () => tlsCredentials({ ca: (await testPki()).ca.cert }),
  },
  {
    name: 'plaintext client, TLS server',
    server: async () => {
      const pki = await testPki()
      return serverTlsCredentials({ cert: pki.server.cert, key: pki.server.key })
    },
    client: async () => undefined,
  },
  {
    name: 'TLS client trusting another CA',
    server: async () => {
      const pki = await testPki()
      return serverTlsCredentials({ cert: pki.server.cert, key: pki.server.key })
    },
    client: async () => tlsCredentials({ ca: (await testPki()).otherCa.cert }),
  },
  {
    name: 'mTLS server, client without a certificate',
    server: async () => {
      const pki = await testPki()
      return serverTlsCredentials({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert })
    },
    client: async () => tlsCredentials({ ca: (await testPki()).ca.cert }),
  },
  {
    name: 'mTLS server, client certificate from a CA it does not trust',
    server: async () => {
      const pki = await testPki()
      return serverTlsCredentials({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert })
    },
    client: async () => {
      const pki = await testPki()
      return tlsCredentials({ ca: pki.ca.cert, cert: pki.strangerClient.cert, key: pki.strangerClient.key })
    },
  },
]

describe('reliability: gRPC TLS mismatch', () => {
  for (const c of CASES) {
    it(`${c.name}: waitForReady fails on time and every call ends UNAVAILABLE`, async (t) => {
      const watch = watchProcessErrors()
      const serverCredentials = await c.server()
      const server = await echoServer(
        serverCredentials === undefined ? {} : { credentials: serverCredentials },
      )
      const credentials = await c.client()
      const pool = track(
        createChannelPool(`localhost:${server.port}`, {
          size: 1,
          ...(credentials === undefined ? {} : { credentials }),
          ...FAST_RECONNECT,
        }),
      )
      const started = Date.now()
      await assert.rejects(pool.waitForReady({ timeoutMs: 500 }), (err) => {
        assert.ok(err instanceof NotReadyError, String(err))
        return true
      })
      assert.ok(Date.now() - started < 3000, 'waitForReady ended near its timeout')
      const load = new TrackedLoad(pool.client(echoClientConstructor()), { workers: 2, maxCalls: 6 })
      await timeUntil(() => load.started === 6 && load.pending === 0, 15_000, 'six calls to end')
      const elapsed = Date.now() - started
      await load.stop()
      watch.dispose()

      t.diagnostic(
        `${c.name}: ${load.failures.length}/${load.started} calls failed ${JSON.stringify(failureCounts(load.failures))}, ` +
          `all ended within ${elapsed} ms; ${(load.failures[0]?.details ?? '').replace(/\s+/g, ' ').slice(0, 160)}`,
      )
      assert.equal(load.ok, 0, 'no call got through')
      assert.equal(load.failures.length, 6)
      assert.ok(
        load.failures.every((f) => f.typed && f.code === grpc.status.UNAVAILABLE),
        JSON.stringify(load.failures),
      )
      assert.equal(server.calls, 0, 'the server never ran a call')
      assert.notEqual(pool.connectivity().state, 'READY')
      await pool.destroy()
      assert.deepEqual(watch.errors, [])
    })
  }
})
