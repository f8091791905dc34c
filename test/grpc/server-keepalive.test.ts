import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import { InvalidOptionError } from '../../src/core/errors.js'
import {
  GRPC_JS_IGNORED_SERVER_OPTIONS,
  SERVER_KEEPALIVE_KEYS,
  serverKeepaliveOptions,
} from '../../src/grpc/server-keepalive.js'
import { type EchoClient, echo, echoClientConstructor, startEchoServer } from '../support/grpc.js'

function echoClient(address: string, options: grpc.ClientOptions = {}): EchoClient {
  const Client = echoClientConstructor()
  return new Client(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    ...options,
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('the defaults render to the grpc-js option keys', () => {
  assert.deepEqual(serverKeepaliveOptions(), {
    'grpc.keepalive_time_ms': 30000,
    'grpc.keepalive_timeout_ms': 10000,
    'grpc.http2.min_ping_interval_without_data_ms': 5000,
    'grpc.keepalive_permit_without_calls': 1,
  })
})

test('every field renders to its key, and Infinity leaves a limit out', () => {
  assert.deepEqual(
    serverKeepaliveOptions({
      timeMs: 60_000,
      timeoutMs: 5_000,
      minClientPingIntervalMs: 0,
      permitWithoutCalls: false,
      maxConnectionIdleMs: 300_000,
      maxConnectionAgeMs: 1_800_000,
      maxConnectionAgeGraceMs: 0,
      maxConcurrentStreams: 100,
    }),
    {
      'grpc.keepalive_time_ms': 60000,
      'grpc.keepalive_timeout_ms': 5000,
      'grpc.http2.min_ping_interval_without_data_ms': 0,
      'grpc.keepalive_permit_without_calls': 0,
      'grpc.max_connection_idle_ms': 300000,
      'grpc.max_connection_age_ms': 1800000,
      'grpc.max_connection_age_grace_ms': 0,
      'grpc.max_concurrent_streams': 100,
    },
  )
  const off = serverKeepaliveOptions({ timeMs: Number.POSITIVE_INFINITY, timeoutMs: undefined })
  assert.equal(SERVER_KEEPALIVE_KEYS.timeMs in off, false)
  assert.equal(off[SERVER_KEEPALIVE_KEYS.timeoutMs], 10000)
})

test('out-of-range values are refused with InvalidOptionError naming the field', () => {
  const bad: [string, unknown][] = [
    ['timeMs', 0],
    ['timeMs', -1],
    ['timeMs', 1.5],
    ['timeMs', Number.NaN],
    ['timeoutMs', Number.POSITIVE_INFINITY],
    ['timeoutMs', 2 ** 31],
    ['minClientPingIntervalMs', -5],
    ['permitWithoutCalls', 1],
    ['maxConnectionIdleMs', 0],
    ['maxConnectionAgeMs', 2 ** 31 - 1], // grpc-js adds 10% jitter: the timer would overflow and fire at once
    ['maxConnectionAgeGraceMs', '1000'],
    ['maxConcurrentStreams', 0],
    ['maxConcurrentStreams', 2 ** 32],
    ['keepaliveTimeMs', 1000],
  ]
  for (const [field, value] of bad) {
    assert.throws(
      () => serverKeepaliveOptions({ [field]: value }),
      (err: InvalidOptionError) => err instanceof InvalidOptionError && err.option === field,
      `${field}: ${String(value)}`,
    )
  }
})

test('the keys grpc-js servers ignore are flagged', () => {
  assert.deepEqual(
    [...GRPC_JS_IGNORED_SERVER_OPTIONS].sort(),
    ['grpc.http2.min_ping_interval_without_data_ms', 'grpc.keepalive_permit_without_calls'].sort(),
  )
})

test('a server started with the options serves calls, and closes an idle connection after maxConnectionIdleMs', async () => {
  const server = await startEchoServer({
    serverOptions: serverKeepaliveOptions({ maxConnectionIdleMs: 150, maxConcurrentStreams: 10 }),
  })
  const client = echoClient(server.address)
  try {
    const first = await echo(client, { message: 'a' })
    await echo(client, { message: 'b' })
    assert.equal(server.peers.size, 1)
    await sleep(400)
    const later = await echo(client, { message: 'c' })
    assert.equal(later.message, 'c')
    assert.notEqual(later.peer, first.peer, 'the idle connection was closed and a new one made')
    assert.equal(server.peers.size, 2)
  } finally {
    client.close()
    await server.stop(1000)
  }
})

// Documents a grpc-js limitation: if this starts failing, grpc-js has begun enforcing the client
// ping interval, and the TSDoc of minClientPingIntervalMs and GRPC_JS_IGNORED_SERVER_OPTIONS must change.
test('grpc-js 1.14 does not police client pings: a client pinging every 50 ms keeps its connection', async () => {
  const server = await startEchoServer({
    serverOptions: serverKeepaliveOptions({ minClientPingIntervalMs: 5000, permitWithoutCalls: false }),
  })
  const client = echoClient(server.address, {
    'grpc.keepalive_time_ms': 50,
    'grpc.keepalive_timeout_ms': 1000,
    'grpc.keepalive_permit_without_calls': 1,
  })
  try {
    const first = await echo(client)
    await sleep(500)
    const later = await echo(client)
    assert.equal(later.peer, first.peer, 'no GOAWAY (ENHANCE_YOUR_CALM) closed the connection')
    assert.equal(server.peers.size, 1)
  } finally {
    client.close()
    await server.stop(1000)
  }
})
