import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import tls from 'node:tls'
import pg from 'pg'
import { BerthError } from '../../src/core/errors.js'
import {
  type BackendKey,
  CancelRequestError,
  backendKeyOf,
  sendCancelRequest,
} from '../../src/pg/cancel-request.js'
import { freePort } from '../../src/testing/test-server-process.js'
import { testPostgres } from '../support/postgres.js'

const TEST_TIMEOUT_MS = 20_000

async function connectedClient(): Promise<pg.Client> {
  const { url } = await testPostgres()
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  return client
}

function keyOf(client: pg.Client): BackendKey {
  const key = backendKeyOf(client)
  assert.ok(key, 'a connected client has a backend key')
  return key
}

/** Waits until `pid` runs a statement, so a cancel cannot arrive before the query has started. */
async function waitUntilActive(observer: pg.Client, pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await observer.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where pid = $1 and state = 'active'",
      [pid],
    )
    if (rows[0]?.n === 1) return
    await sleep(10)
  }
  assert.fail(`backend ${pid} never became active`)
}

/** A server that accepts connections and never says or closes anything; reports each socket's close. */
async function silentServer(): Promise<{ port: number; closed: Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  let onClosed!: () => void
  const closed = new Promise<void>((resolve) => {
    onClosed = resolve
  })
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    // Reading is what lets this end see the client hang up.
    socket.resume()
    socket.on('close', () => {
      sockets.delete(socket)
      onClosed()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    closed,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

// A throwaway self-signed certificate for CN=localhost, used only by the fake TLS server below. Not a
// secret: it protects nothing.
const TEST_TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgim1Yx+qoCWV8TTaJ
4hUYg/LjBWEhEvDx9/W1Fkkq5zKhRANCAASPbXbCv0gxomnF1b4Od/Glk4xVaLCo
vnIrT0CQtw6khMM/FXB8pjeggVnmybAyJMl8ekiGpC1n6YlyKJbRaV69
-----END PRIVATE KEY-----
`
const TEST_TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUJhafizZtc2z7vTrIWDLwf+CUltYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMjA0MjE1MVoYDzIxMjYxMDI5
MDQyMTUxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASPbXbCv0gxomnF1b4Od/Glk4xVaLCovnIrT0CQtw6khMM/FXB8pjeg
gVnmybAyJMl8ekiGpC1n6YlyKJbRaV69o2kwZzAdBgNVHQ4EFgQUpoTBYhL2GAPS
jh4Sq4c4I1eZUUkwHwYDVR0jBBgwFoAUpoTBYhL2GAPSjh4Sq4c4I1eZUUkwDwYD
VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglsb2NhbGhvc3QwCgYIKoZIzj0EAwID
SAAwRQIgHCJc0hWCcIvyVhayQYwHUFGKPCRs1fcJDL8NOdNMf1ICIQCxR4eJnGA5
4MuwrimixNKFRv2wFqnO4q38p8lewlqYjg==
-----END CERTIFICATE-----
`

/**
 * Plays the server side of SSLRequest: checks the 8-byte request, answers `answer`, and on 'S' speaks
 * TLS with the test certificate, reads the 16-byte CancelRequest and hangs up. `cancelRequests` holds
 * every CancelRequest that arrived over TLS.
 */
async function fakeTlsServer(
  answer: string,
): Promise<{ port: number; sslRequests: Buffer[]; cancelRequests: Buffer[]; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const sslRequests: Buffer[] = []
  const cancelRequests: Buffer[] = []
  const secureContext = tls.createSecureContext({ key: TEST_TLS_KEY, cert: TEST_TLS_CERT })
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    let request = Buffer.alloc(0)
    const onRequest = (chunk: Buffer): void => {
      request = Buffer.concat([request, chunk])
      if (request.length < 8) return
      socket.off('data', onRequest)
      sslRequests.push(request)
      socket.write(answer)
      if (!answer.startsWith('S')) {
        socket.resume()
        return
      }
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext })
      secure.on('error', () => {})
      let cancel = Buffer.alloc(0)
      secure.on('data', (data: Buffer) => {
        cancel = Buffer.concat([cancel, data])
        if (cancel.length < 16) return
        cancelRequests.push(cancel)
        secure.end()
      })
    }
    socket.on('data', onRequest)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    sslRequests,
    cancelRequests,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function assertCancelFailed(err: unknown, address: string, secretKey: number): true {
  assert.ok(err instanceof CancelRequestError, `expected CancelRequestError, got ${String(err)}`)
  assert.ok(err instanceof BerthError)
  assert.equal(err.code, 'BERTH_PG_CANCEL_FAILED')
  assert.equal(err.address, address)
  assert.ok(err.message.includes(address), `message names the server: ${err.message}`)
  assert.ok(!err.message.includes(String(secretKey)), `message hides the secret key: ${err.message}`)
  return true
}

describe('sendCancelRequest against a real PostgreSQL', { timeout: 60_000 }, () => {
  it('cancels a running query and leaves its connection usable', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { host, port } = await testPostgres()
    const client = await connectedClient()
    const observer = await connectedClient()
    try {
      const key = keyOf(client)
      const sleeping = client.query('select pg_sleep(30)')
      // Observe the rejection from the start so it is never reported as unhandled.
      const outcome = sleeping.then(
        () => undefined,
        (err: unknown) => err,
      )
      await waitUntilActive(observer, key.processId)

      const started = performance.now()
      await sendCancelRequest({ host, port }, key)
      const err = (await outcome) as { code?: unknown } | undefined
      const elapsed = performance.now() - started

      assert.ok(err, 'the sleeping query was rejected')
      assert.equal(err.code, '57014', 'query_canceled')
      assert.ok(elapsed < 2000, `cancelled within 2 s, took ${Math.round(elapsed)} ms`)

      const { rows } = await client.query<{ one: number }>('select 1 as one')
      assert.deepEqual(rows, [{ one: 1 }])

      const active = await observer.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where pid = $1 and state = 'active'",
        [key.processId],
      )
      assert.equal(active.rows[0]?.n, 0)
    } finally {
      await Promise.all([client.end(), observer.end()])
    }
  })

  it('cancels nothing when the secret key is wrong', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { host, port } = await testPostgres()
    const client = await connectedClient()
    const observer = await connectedClient()
    try {
      const key = keyOf(client)
      const sleeping = client.query<{ slept: string }>("select pg_sleep(1), 'done' as slept")
      const outcome = sleeping.then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      )
      await waitUntilActive(observer, key.processId)

      await sendCancelRequest(
        { host, port },
        { processId: key.processId, secretKey: key.secretKey ^ 0x5a5a5a5a },
      )
      const settled = await outcome
      assert.ok(
        'result' in settled,
        `the query completed normally, got ${String((settled as { error?: unknown }).error)}`,
      )
      assert.equal(settled.result.rows[0]?.slept, 'done')
    } finally {
      await Promise.all([client.end(), observer.end()])
    }
  })

  it('refuses to send the key in clear when ssl is required and the server has no TLS', async () => {
    const { host, port } = await testPostgres()
    const client = await connectedClient()
    try {
      const key = keyOf(client)
      await assert.rejects(sendCancelRequest({ host, port, ssl: true }, key, { timeoutMs: 5000 }), (err) => {
        assertCancelFailed(err, `${host}:${port}`, key.secretKey)
        assert.match((err as Error).message, /refused TLS/)
        return true
      })
      // The connection is unaffected and nothing was cancelled.
      const { rows } = await client.query<{ one: number }>('select 1 as one')
      assert.deepEqual(rows, [{ one: 1 }])
    } finally {
      await client.end()
    }
  })
})

describe('sendCancelRequest failures', { timeout: TEST_TIMEOUT_MS }, () => {
  it('rejects with BERTH_PG_CANCEL_FAILED naming host:port, not the key, when nothing listens', async () => {
    const port = await freePort()
    const secretKey = 987654321
    await assert.rejects(
      sendCancelRequest({ host: '127.0.0.1', port }, { processId: 4242, secretKey }, { timeoutMs: 5000 }),
      (err) => {
        assertCancelFailed(err, `127.0.0.1:${port}`, secretKey)
        assert.ok((err as Error).cause instanceof Error, 'cause is the connect error')
        return true
      },
    )
  })

  it('rejects at once with the abort reason as cause when the signal is already aborted', async () => {
    const reason = new Error('caller gave up')
    const started = performance.now()
    await assert.rejects(
      sendCancelRequest(
        { host: '127.0.0.1', port: 9 },
        { processId: 1, secretKey: 86420531 },
        { signal: AbortSignal.abort(reason) },
      ),
      (err) => {
        assertCancelFailed(err, '127.0.0.1:9', 86420531)
        assert.equal((err as Error).cause, reason)
        return true
      },
    )
    assert.ok(performance.now() - started < 100)
  })

  it('times out and destroys its socket when the server never hangs up', async () => {
    const server = await silentServer()
    try {
      const started = performance.now()
      await assert.rejects(
        sendCancelRequest(
          { host: '127.0.0.1', port: server.port },
          { processId: 7, secretKey: 13579864 },
          { timeoutMs: 150 },
        ),
        (err) => {
          assertCancelFailed(err, `127.0.0.1:${server.port}`, 13579864)
          assert.match((err as Error).message, /150 ms/)
          return true
        },
      )
      assert.ok(performance.now() - started < 2000)
      await server.closed
    } finally {
      await server.close()
    }
  })

  it('stops and destroys its socket when the signal aborts mid-flight', async () => {
    const server = await silentServer()
    try {
      const controller = new AbortController()
      const reason = new Error('shutting down')
      const pending = sendCancelRequest(
        { host: '127.0.0.1', port: server.port },
        { processId: 7, secretKey: 13579864 },
        { signal: controller.signal, timeoutMs: 10_000 },
      )
      setTimeout(() => controller.abort(reason), 50)
      await assert.rejects(pending, (err) => {
        assertCancelFailed(err, `127.0.0.1:${server.port}`, 13579864)
        assert.equal((err as Error).cause, reason)
        return true
      })
      await server.closed
    } finally {
      await server.close()
    }
  })

  it('rejects a bad timeoutMs with BERTH_INVALID_OPTION', async () => {
    await assert.rejects(
      sendCancelRequest(
        { host: '127.0.0.1', port: 9 },
        { processId: 1, secretKey: 86420531 },
        { timeoutMs: -1 },
      ),
      { code: 'BERTH_INVALID_OPTION' },
    )
  })
})

describe('sendCancelRequest on the wire', { timeout: TEST_TIMEOUT_MS }, () => {
  it('writes the 16-byte CancelRequest to the unix socket in a host directory', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-cancel-'))
    const port = 5499
    const received: Buffer[] = []
    const server = net.createServer((socket) => {
      socket.on('error', () => {})
      socket.on('data', (chunk) => {
        received.push(chunk)
        // Like the server: read the whole request, then hang up without a word.
        if (Buffer.concat(received).length >= 16) socket.end()
      })
    })
    try {
      await new Promise<void>((resolve) => server.listen(path.join(dir, `.s.PGSQL.${port}`), resolve))
      // A negative key is how node-postgres reads a key with the top bit set.
      await sendCancelRequest(
        { host: dir, port },
        { processId: 0x01020304, secretKey: -2 },
        { timeoutMs: 5000 },
      )
      assert.deepEqual(
        Buffer.concat(received).toString('hex'),
        ['00000010', '04d2162e', '01020304', 'fffffffe'].join(''),
      )
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(dir, { recursive: true, force: true })
    }
  })
  it('sends an SSLRequest and then the CancelRequest inside TLS when the server answers S', async () => {
    const server = await fakeTlsServer('S')
    try {
      await sendCancelRequest(
        {
          host: '127.0.0.1',
          port: server.port,
          ssl: { ca: TEST_TLS_CERT, checkServerIdentity: () => undefined },
        },
        { processId: 77, secretKey: 0x7eadbeef },
        { timeoutMs: 5000 },
      )
      assert.deepEqual(
        server.sslRequests.map((b) => b.toString('hex')),
        ['0000000804d2162f'],
      )
      assert.deepEqual(
        server.cancelRequests.map((b) => b.toString('hex')),
        ['0000001004d2162e0000004d7eadbeef'],
      )
    } finally {
      await server.close()
    }
  })

  it('sends nothing when the TLS certificate does not verify', async () => {
    const server = await fakeTlsServer('S')
    try {
      await assert.rejects(
        sendCancelRequest(
          { host: '127.0.0.1', port: server.port, ssl: true },
          { processId: 77, secretKey: 24681357 },
          { timeoutMs: 5000 },
        ),
        (err) => assertCancelFailed(err, `127.0.0.1:${server.port}`, 24681357),
      )
      assert.equal(server.sslRequests.length, 1)
      assert.deepEqual(server.cancelRequests, [])
    } finally {
      await server.close()
    }
  })

  it('refuses bytes that follow the S answer before TLS begins', async () => {
    const server = await fakeTlsServer('SX')
    try {
      await assert.rejects(
        sendCancelRequest(
          { host: '127.0.0.1', port: server.port, ssl: { rejectUnauthorized: false } },
          { processId: 77, secretKey: 24681357 },
          { timeoutMs: 5000 },
        ),
        (err) => {
          assertCancelFailed(err, `127.0.0.1:${server.port}`, 24681357)
          assert.match((err as Error).message, /unexpected data/)
          return true
        },
      )
      assert.deepEqual(server.cancelRequests, [])
    } finally {
      await server.close()
    }
  })
})

describe('backendKeyOf', { timeout: TEST_TIMEOUT_MS }, () => {
  it('returns the numbers of a connected client and hides the secret key from serialisation', async () => {
    const client = await connectedClient()
    try {
      const key = backendKeyOf(client)
      assert.ok(key)
      assert.equal(typeof key.processId, 'number')
      assert.equal(typeof key.secretKey, 'number')
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
      assert.equal(key.processId, rows[0]?.pid)
      assert.equal(JSON.stringify(key), JSON.stringify({ processId: key.processId }))
    } finally {
      await client.end()
    }
  })

  it('returns undefined for a plain object and for a client that never connected', async () => {
    assert.equal(backendKeyOf({}), undefined)
    assert.equal(backendKeyOf({ processID: '1', secretKey: 2 }), undefined)
    const { url } = await testPostgres()
    const client = new pg.Client({ connectionString: url })
    assert.equal(backendKeyOf(client), undefined)
    await client.end()
  })
})
