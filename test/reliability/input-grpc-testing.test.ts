/**
 * Issue 6, scenario 11: every public entry point of `berth/grpc` and `berth/testing` given wrong
 * types, out-of-range numbers and malformed targets must throw (or reject with) a `BerthError`
 * whose message names the field at fault. Table-driven; the FOUND rows were bugs found here, fixed since.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import { BerthError } from '../../src/core/errors.js'
import { renderChannelConfig } from '../../src/grpc/channel-config.js'
import {
  ChannelRegistry,
  ConnectionManager,
  checkHealth,
  composeInterceptors,
  createChannelPool,
  createHealthService,
  deadlineInterceptor,
  formatCallLogEntry,
  loggingInterceptor,
  metadataPropagationInterceptor,
  metricsInterceptor,
  propagationScope,
  serverKeepaliveOptions,
  serverNameOverride,
  serverTlsCredentials,
  shutdownServer,
  tlsCredentials,
} from '../../src/grpc/index.js'
import { checkTransportSecurity } from '../../src/grpc/tls.js'
import { type FaultProxy, findPgBouncer, startFaultProxy, startPgBouncer } from '../../src/testing/index.js'
import { type TestPki, testPki } from '../support/tls.js'
import { type BadInput, expectTypedError, track } from './grpc-support.js'

// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose
type Any = any
const LOCAL = '127.0.0.1:1'
const insecure = grpc.credentials.createInsecure()
const pool = (options: Record<string, unknown>) => track(createChannelPool(LOCAL, options))
let pki: TestPki
let proxy: FaultProxy
const server = new grpc.Server()
before(async () => {
  pki = await testPki()
  proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: 1 } })
})
after(() => proxy.close())

const TARGETS: BadInput[] = [
  ['target 5', () => createChannelPool(5 as Any), 'target'],
  ['target ""', () => createChannelPool(''), 'target'],
  ['target []', () => createChannelPool([]), 'target'],
  ['target [ok, 5]', () => createChannelPool([LOCAL, 5 as Any]), 'target'],
  ['target port 99999', () => createChannelPool('127.0.0.1:99999'), 'target'],
  ['target port "abc"', () => createChannelPool('127.0.0.1:abc'), 'target'],
  ['target unclosed [', () => createChannelPool('[::1:50051'), 'target'],
  ['target bare IPv6', () => createChannelPool('::1:50051'), 'target'],
  ['target ipv4: with a name', () => createChannelPool('ipv4:example.com:1'), 'target'],
  ['target scheme http', () => createChannelPool('http://example.com:1'), 'target'],
  ['setAddresses([])', () => pool({}).setAddresses([]), 'target'],
  ['setAddresses([bad])', () => pool({}).setAddresses(['h:0:0']), 'target'],
]

const POOL_OPTIONS: [field: string, value: unknown][] = [
  ['sizee', 1],
  ['name', ''],
  ['size', 0],
  ['size', 1025],
  ['size', 'big'],
  ['size', 1.5],
  ['minChannels', 0],
  ['maxStreamsPerChannel', 0],
  ['channelIdleMs', -1],
  ['credentials', {}],
  ['allowInsecure', 'yes'],
  ['loadBalancing', 'random'],
  ['reresolveEveryMs', -1],
  ['keepalive', 5],
  ['keepalive.timeMs', { timeMs: 0 }],
  ['keepalive.timeoutMs', { timeoutMs: 'x' }],
  ['keepalive.permitWithoutCalls', { permitWithoutCalls: 'yes' }],
  ['retry', 5],
  ['retry.maxAttempts', { maxAttempts: 1 }],
  ['retry.maxAttempts', { maxAttempts: 101 }],
  ['retry.initialBackoffMs', { initialBackoffMs: 0 }],
  ['retry.maxBackoffMs', { initialBackoffMs: 500, maxBackoffMs: 100 }],
  ['retry.backoffMultiplier', { backoffMultiplier: 0 }],
  ['retry.retryableStatusCodes', { retryableStatusCodes: ['NOPE'] }],
  ['retry.retryableStatusCodes', { retryableStatusCodes: [] }],
  ['maxReceiveMessageBytes', 0],
  ['maxSendMessageBytes', -1],
  ['methodTimeouts["bad name!"]', { 'bad name!': 5 }],
  ['methodTimeouts["a.B/C"]', { 'a.B/C': 0 }],
  ['connectTimeoutMs', 0],
  ['connectTimeoutMs', Number.NaN],
  ['reconnectBackoff.initialMs', { initialMs: 0 }],
  ['reconnectBackoff.maxMs', { initialMs: 500, maxMs: 100 }],
  ['healthCheck', 5],
  ['healthCheck.service', { service: 5 }],
  ['healthCheck.retryMs', { retryMs: 0 }],
  ['metrics', 'yes'],
  ['logging', 5],
  ['defaultDeadlineMs', 0],
  ['propagate', 5],
  ['interceptors', 5],
  ['interceptors', [5]],
  ['channelOptions', 5],
  ['onWarning', 5],
]

/** `retry.maxAttempts` -> `{ retry: { ...value } }`: the table gives nested fields their parent's object. */
function optionsFor(field: string, value: unknown): Record<string, unknown> {
  const [top] = field.split(/[.[]/)
  return { [top!]: value }
}

const GRPC: BadInput[] = [
  ['createChannelPool options null', () => createChannelPool(LOCAL, null as Any), 'options'],
  ['plaintext to a non-loopback address', () => createChannelPool('10.0.0.1:50051'), 'allowInsecure'],
  ['pool.client(5)', () => pool({}).client(5 as Any), 'client'],
  ['pool.waitForReady timeoutMs -1', () => pool({}).waitForReady({ timeoutMs: -1 }), 'timeoutMs'],
  ['pool.waitForReady timeoutMs "x"', () => pool({}).waitForReady({ timeoutMs: 'x' as Any }), 'timeoutMs'],
  ['pool.close timeoutMs -1', () => pool({}).close({ timeoutMs: -1 }), 'timeoutMs'],
  ['ChannelRegistry(null)', () => new ChannelRegistry(null as Any), 'options'],
  ['ChannelRegistry name ""', () => new ChannelRegistry({ name: '' }), 'name'],
  ['ChannelRegistry idleCloseMs -1', () => new ChannelRegistry({ idleCloseMs: -1 }), 'idleCloseMs'],
  [
    'ChannelRegistry closeTimeoutMs NaN',
    () => new ChannelRegistry({ closeTimeoutMs: Number.NaN }),
    'closeTimeoutMs',
  ],
  ['ChannelRegistry defaults 5', () => new ChannelRegistry({ defaults: 5 as Any }), 'defaults'],
  ['ChannelRegistry create 5', () => new ChannelRegistry({ create: 5 as Any }), 'create'],
  ['ChannelRegistry now 5', () => new ChannelRegistry({ now: 5 as Any }), 'now'],
  ['registry.acquire(5)', () => new ChannelRegistry().acquire(5 as Any), 'target'],
  ['registry.acquire size 0', () => new ChannelRegistry().acquire(LOCAL, { size: 0 }), 'size'],
  ['ConnectionManager logger 5', () => new ConnectionManager({ logger: 5 as Any }), 'logger'],
  ['manager.grpc name ""', () => new ConnectionManager().grpc('', LOCAL), 'name'],
  ['manager.grpc bad target', () => new ConnectionManager().grpc('x', 5 as Any), 'target'],
  ['manager.postgres not a pool', () => new ConnectionManager().postgres('db', 5 as Any), 'pool'],
  ['manager.add no close()', () => new ConnectionManager().add('r', {} as Any), 'resource'],
  ['manager.start timeoutMs -1', () => new ConnectionManager().start({ timeoutMs: -1 }), 'timeoutMs'],
  ['manager.close timeoutMs -1', () => new ConnectionManager().close({ timeoutMs: -1 } as Any), 'timeoutMs'],
  ['manager.handleSignals([])', () => new ConnectionManager().handleSignals([] as Any), 'signals'],
  ['tlsCredentials(null)', () => tlsCredentials(null as Any), 'options'],
  ['tlsCredentials ca "nope"', () => tlsCredentials({ ca: 'nope' }), 'ca'],
  ['tlsCredentials ca 5', () => tlsCredentials({ ca: 5 as Any }), 'ca'],
  ['tlsCredentials cert without key', () => tlsCredentials({ cert: pki.client.cert }), 'key'],
  ['tlsCredentials key without cert', () => tlsCredentials({ key: pki.client.key }), 'cert'],
  ['tlsCredentials verify "no"', () => tlsCredentials({ verify: 'no' as Any }), 'verify'],
  ['tlsCredentials serverName ""', () => tlsCredentials({ serverName: '' }), 'serverName'],
  ['serverTlsCredentials(null)', () => serverTlsCredentials(null as Any), 'options'],
  ['serverTlsCredentials cert "x"', () => serverTlsCredentials({ cert: 'x', key: 'y' }), 'cert'],
  [
    'serverTlsCredentials requireClientCert "yes"',
    () => serverTlsCredentials({ ...pki.server, requireClientCert: 'yes' as Any }),
    'requireClientCert',
  ],
  [
    'serverTlsCredentials requireClientCert without ca',
    () => serverTlsCredentials({ ...pki.server, requireClientCert: true }),
    'ca',
  ],
  ['serverNameOverride("")', () => serverNameOverride(''), 'serverName'],
  ['checkTransportSecurity("x")', () => checkTransportSecurity('x' as Any, insecure), 'addresses'],
  ['checkTransportSecurity credentials 5', () => checkTransportSecurity([LOCAL], 5 as Any), 'credentials'],
  [
    'checkTransportSecurity allowInsecure "y"',
    () => checkTransportSecurity([LOCAL], insecure, { allowInsecure: 'y' as Any }),
    'allowInsecure',
  ],
  [
    'checkTransportSecurity warn 5',
    () => checkTransportSecurity([LOCAL], insecure, { warn: 5 as Any }),
    'warn',
  ],
  ['createHealthService(5)', () => createHealthService(5 as Any), 'initial'],
  ['createHealthService bad status', () => createHealthService({ '': 'MAYBE' as Any }), 'initial[""]'],
  ['health.setStatus(5, ...)', () => createHealthService().setStatus(5 as Any, 'SERVING'), 'service'],
  ['health.setStatus("", "X")', () => createHealthService().setStatus('', 'X' as Any), 'status'],
  ['health.addTo(5)', () => createHealthService().addTo(5 as Any), 'server'],
  ['checkHealth service 5', () => checkHealth({} as Any, 5 as Any), 'service'],
  ['serverKeepaliveOptions(5)', () => serverKeepaliveOptions(5 as Any), 'options'],
  ['serverKeepaliveOptions unknown key', () => serverKeepaliveOptions({ bogus: 1 } as Any), 'bogus'],
  ['serverKeepaliveOptions timeMs -1', () => serverKeepaliveOptions({ timeMs: -1 } as Any), 'timeMs'],
  [
    'serverKeepaliveOptions permitWithoutCalls "x"',
    () => serverKeepaliveOptions({ permitWithoutCalls: 'x' } as Any),
    'permitWithoutCalls',
  ],
  ['shutdownServer(5)', () => shutdownServer(5 as Any), 'server'],
  ['shutdownServer timeoutMs -1', () => shutdownServer(server, { timeoutMs: -1 }), 'timeoutMs'],
  ['shutdownServer health 5', () => shutdownServer(server, { health: 5 as Any }), 'health'],
  ['deadlineInterceptor defaultMs -1', () => deadlineInterceptor({ defaultMs: -1 }), 'defaultMs'],
  [
    'deadlineInterceptor streams "x"',
    () => deadlineInterceptor({ defaultMs: 5, streams: 'x' as Any }),
    'streams',
  ],
  ['loggingInterceptor log 5', () => loggingInterceptor({ log: 5 as Any }), 'log'],
  ['loggingInterceptor level "loud"', () => loggingInterceptor({ level: 'loud' as Any }), 'level'],
  ['loggingInterceptor slowMs -1', () => loggingInterceptor({ slowMs: -1 }), 'slowMs'],
  ['propagation key grpc-x', () => metadataPropagationInterceptor({ keys: ['grpc-x'] }), 'keys[0]'],
  ['propagation static 5', () => metadataPropagationInterceptor({ static: { a: 5 as Any } }), 'static["a"]'],
]

const TESTING: BadInput[] = [
  ['startFaultProxy(null)', () => startFaultProxy(null as Any), 'options'],
  ['startFaultProxy no target', () => startFaultProxy({} as Any), 'target'],
  ['startFaultProxy target.host ""', () => startFaultProxy({ target: { host: '', port: 1 } }), 'target.host'],
  [
    'startFaultProxy target.port 70000',
    () => startFaultProxy({ target: { host: 'h', port: 70000 } }),
    'target.port',
  ],
  [
    'startFaultProxy listen.host 0.0.0.0',
    () => startFaultProxy({ target: { host: 'h', port: 1 }, listen: { host: '0.0.0.0' } }),
    'listen.host',
  ],
  [
    'startFaultProxy listen.port -1',
    () => startFaultProxy({ target: { host: 'h', port: 1 }, listen: { port: -1 } }),
    'listen.port',
  ],
  [
    'startFaultProxy allowNonLoopback "x"',
    () => startFaultProxy({ target: { host: 'h', port: 1 }, allowNonLoopback: 'x' as Any }),
    'allowNonLoopback',
  ],
  [
    'startFaultProxy random 5',
    () => startFaultProxy({ target: { host: 'h', port: 1 }, random: 5 as Any }),
    'random',
  ],
  ['proxy.setLatency(-1)', () => proxy.setLatency(-1), 'latencyMs'],
  ['proxy.setLatency jitterMs NaN', () => proxy.setLatency(5, { jitterMs: Number.NaN }), 'jitterMs'],
  ['proxy.setLatency direction', () => proxy.setLatency(5, { direction: 'sideways' as Any }), 'direction'],
  ['proxy.setBandwidth(0)', () => proxy.setBandwidth(0), 'bytesPerSecond'],
  ['proxy.refuseNew mode', () => proxy.refuseNew(true, { mode: 'x' as Any }), 'mode'],
  ['proxy.refuseNew("x")', () => proxy.refuseNew('x' as Any), 'on'],
  ['proxy.blackhole("x")', () => proxy.blackhole('x' as Any), 'on'],
  ['proxy.setTarget port 0', () => proxy.setTarget({ host: 'h', port: 0 }), 'target.port'],
]

/** Found by this suite as bugs and fixed since (docs/reliability/grpc.md, findings). */
const FOUND: BadInput[] = [
  ['pool.waitForReady signal 5', () => pool({}).waitForReady({ signal: 5 as Any }), 'signal'],
  ['deadlineInterceptor(null)', () => deadlineInterceptor(null as Any), 'options'],
  ['metricsInterceptor(5)', () => metricsInterceptor(5 as Any), 'metrics'],
  ['composeInterceptors(5)', () => composeInterceptors(5 as Any), 'lists'],
  ['renderChannelConfig(null)', () => renderChannelConfig(null as Any), 'options'],
  ['propagationScope(null, fn)', () => propagationScope(null as Any, () => 1), 'source'],
  ['formatCallLogEntry(null)', () => formatCallLogEntry(null as Any), 'entry'],
  ['checkHealth(5)', () => checkHealth(5 as Any), 'client'],
  ['startPgBouncer(undefined)', () => startPgBouncer(undefined as Any), 'options'],
  ['findPgBouncer(5)', () => findPgBouncer(5 as Any), 'binary'],
  [
    'findPgBouncer("/nonexistent") is a BerthError',
    () => findPgBouncer('/nonexistent/pgbouncer'),
    'pgbouncer',
  ],
]

describe('reliability: bad input to berth/grpc and berth/testing', () => {
  for (const [name, run, field] of TARGETS)
    it(`${name} -> names ${field}`, async () => {
      await expectTypedError(run, field)
    })
  for (const [field, value] of POOL_OPTIONS) {
    it(`createChannelPool ${field}: ${JSON.stringify(value)} -> names ${field}`, async () => {
      await expectTypedError(() => createChannelPool(LOCAL, optionsFor(field, value)), field)
    })
  }
  for (const [name, run, field] of [...GRPC, ...TESTING]) {
    it(`${name} -> names ${field}`, async () => {
      await expectTypedError(run, field)
    })
  }
  for (const [name, run, field] of FOUND) {
    it(`${name} -> names ${field}`, async () => {
      await expectTypedError(run, field)
    })
  }

  it('never echoes a private key that does not belong to its certificate', async () => {
    const err = await expectTypedError(
      () => tlsCredentials({ cert: pki.client.cert, key: pki.strangerClient.key }),
      'key',
    )
    const body = pki.strangerClient.key.split('\n')[1]!
    assert.ok(!err.message.includes(body) && !JSON.stringify(err).includes(body))
    assert.ok(err instanceof BerthError)
  })

  it('fails a call made after close at once, typed, naming the pool as closed', async () => {
    const p = pool({ name: 'closed-pool' })
    await p.close()
    await expectTypedError(() => p.client(grpc.makeGenericClientConstructor({}, 'X') as Any), 'closed-pool')
    await expectTypedError(() => p.waitForReady({ timeoutMs: 100 }), 'closed-pool')
  })
})
