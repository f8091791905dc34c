import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, describe, test } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import { InvalidOptionError } from '../../src/core/errors.js'
import {
  InsecureChannelError,
  checkTransportSecurity,
  isLoopbackHost,
  serverNameOverride,
  serverTlsCredentials,
  tlsCredentials,
} from '../../src/grpc/tls.js'
import { type EchoServer, echo, echoClientConstructor, startEchoServer } from '../support/grpc.js'
import { type TestPki, testPki } from '../support/tls.js'

let pki: TestPki

before(async () => {
  pki = await testPki()
})

async function call(address: string, credentials: grpc.ChannelCredentials, options: grpc.ClientOptions = {}) {
  const Client = echoClientConstructor()
  const client = new Client(address, credentials, { 'grpc.use_local_subchannel_pool': 1, ...options })
  try {
    return await echo(client, { message: 'over tls' }, { deadline: Date.now() + 3000 })
  } finally {
    client.close()
  }
}

async function refused(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: grpc.ServiceError) => {
    assert.equal(err.code, grpc.status.UNAVAILABLE, err.message)
    return true
  })
}

function invalid(option: string) {
  return (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, String(err))
    assert.equal(err.option, option)
    return true
  }
}

describe('TLS', () => {
  let server: EchoServer

  before(async () => {
    server = await startEchoServer({
      credentials: serverTlsCredentials({ cert: pki.server.cert, key: pki.server.key }),
    })
  })

  after(() => server.stop(1000))

  test('a call with the CA that signed the server certificate succeeds', async () => {
    const reply = await call(server.address, tlsCredentials({ ca: pki.ca.cert }))
    assert.equal(reply.message, 'over tls')
    const viaLocalhost = await call(
      `localhost:${server.port}`,
      tlsCredentials({ ca: Buffer.from(pki.ca.cert) }),
    )
    assert.equal(viaLocalhost.serverId, server.id)
  })

  test('a client that does not trust the CA is refused', async () => {
    await refused(call(server.address, tlsCredentials()))
    await refused(call(server.address, tlsCredentials({ ca: pki.otherCa.cert })))
  })

  test('a plaintext client cannot talk to a TLS server', async () => {
    await refused(call(server.address, grpc.credentials.createInsecure()))
  })

  test('serverName checks the certificate against that name instead of the host dialed', async () => {
    await refused(call(server.address, tlsCredentials({ ca: pki.ca.cert, serverName: 'billing.internal' })))
    const reply = await call(server.address, tlsCredentials({ ca: pki.ca.cert, serverName: 'localhost' }))
    assert.equal(reply.serverId, server.id)
  })

  test('serverNameOverride sends the name as SNI and checks the certificate against it', async () => {
    await refused(
      call(server.address, tlsCredentials({ ca: pki.ca.cert }), serverNameOverride('billing.internal')),
    )
    const reply = await call(
      server.address,
      tlsCredentials({ ca: pki.ca.cert }),
      serverNameOverride('localhost'),
    )
    assert.equal(reply.serverId, server.id)
  })

  test('verify: false accepts a certificate from an unknown CA', async () => {
    const reply = await call(server.address, tlsCredentials({ ca: pki.otherCa.cert, verify: false }))
    assert.equal(reply.serverId, server.id)
  })
})

describe('mTLS', () => {
  let server: EchoServer

  before(async () => {
    server = await startEchoServer({
      credentials: serverTlsCredentials({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert }),
    })
  })

  after(() => server.stop(1000))

  test('a client with a certificate signed by the CA gets through', async () => {
    const credentials = tlsCredentials({
      ca: pki.ca.cert,
      cert: pki.client.cert,
      key: Buffer.from(pki.client.key),
    })
    const reply = await call(server.address, credentials)
    assert.equal(reply.serverId, server.id)
  })

  test('a client without a certificate is rejected', async () => {
    await refused(call(server.address, tlsCredentials({ ca: pki.ca.cert })))
  })

  test('a client certificate from another CA is rejected', async () => {
    const stranger = tlsCredentials({
      ca: pki.ca.cert,
      cert: pki.strangerClient.cert,
      key: pki.strangerClient.key,
    })
    await refused(call(server.address, stranger))
  })

  test('requireClientCert: false with a CA lets clients without a certificate in', async () => {
    const lenient = await startEchoServer({
      credentials: serverTlsCredentials({
        cert: pki.server.cert,
        key: pki.server.key,
        ca: pki.ca.cert,
        requireClientCert: false,
      }),
    })
    try {
      assert.equal((await call(lenient.address, tlsCredentials({ ca: pki.ca.cert }))).serverId, lenient.id)
    } finally {
      await lenient.stop(1000)
    }
  })
})

describe('TLS option validation', () => {
  test('a cert without its key, or a key without its cert, names the missing field', () => {
    assert.throws(() => tlsCredentials({ ca: pki.ca.cert, cert: pki.client.cert }), invalid('key'))
    assert.throws(() => tlsCredentials({ ca: pki.ca.cert, key: pki.client.key }), invalid('cert'))
    assert.throws(() => serverTlsCredentials({ cert: pki.server.cert } as never), invalid('key'))
    assert.throws(() => serverTlsCredentials({ key: pki.server.key } as never), invalid('cert'))
  })

  test('malformed PEM names its field', () => {
    assert.throws(() => tlsCredentials({ ca: 'not a certificate' }), invalid('ca'))
    assert.throws(() => tlsCredentials({ ca: 42 as never }), invalid('ca'))
    const truncated = `${pki.ca.cert.slice(0, 80)}\n-----END CERTIFICATE-----\n`
    assert.throws(() => tlsCredentials({ ca: truncated }), invalid('ca'))
    assert.throws(
      () => tlsCredentials({ ca: pki.ca.cert + truncated }),
      invalid('ca'),
      'a bad certificate in a bundle',
    )
    assert.throws(() => tlsCredentials({ cert: pki.client.key, key: pki.client.key }), invalid('cert'))
  })

  test('a key that is not the certificate’s is refused without echoing the key', () => {
    for (const attempt of [
      () => tlsCredentials({ ca: pki.ca.cert, cert: pki.client.cert, key: pki.server.key }),
      () => serverTlsCredentials({ cert: pki.server.cert, key: pki.client.key }),
      () => tlsCredentials({ cert: pki.client.cert, key: pki.client.cert }),
    ]) {
      assert.throws(attempt, (err: InvalidOptionError) => {
        invalid('key')(err)
        const body = pki.server.key.split('\n')[1]!.slice(0, 16)
        assert.ok(!err.message.includes(body) && !String(err.value).includes('PRIVATE'), err.message)
        return true
      })
    }
  })

  test('requiring client certificates without a CA to check them is refused', () => {
    assert.throws(
      () => serverTlsCredentials({ cert: pki.server.cert, key: pki.server.key, requireClientCert: true }),
      invalid('ca'),
    )
  })

  test('verify and serverName must be well-formed', () => {
    assert.throws(() => tlsCredentials({ verify: 'no' as never }), invalid('verify'))
    assert.throws(() => tlsCredentials({ serverName: '' }), invalid('serverName'))
    assert.throws(() => serverNameOverride(''), invalid('serverName'))
  })
})

describe('the plaintext guard', () => {
  const insecure = grpc.credentials.createInsecure()

  test('plaintext to a non-loopback address throws InsecureChannelError naming it', () => {
    for (const address of ['10.1.2.3:443', 'billing.internal:50051', 'dns:///billing.internal:50051']) {
      assert.throws(
        () => checkTransportSecurity(['127.0.0.1:50051', address], insecure),
        (err: InsecureChannelError) => {
          assert.ok(err instanceof InsecureChannelError)
          assert.equal(err.code, 'BERTH_INSECURE_CHANNEL')
          assert.equal(err.address, address)
          assert.deepEqual(err.addresses, [address])
          assert.match(err.message, new RegExp(address.replace(/[.[\]/]/g, '\\$&')))
          return true
        },
      )
    }
  })

  test('plaintext to loopback passes without a warning', () => {
    const warnings: string[] = []
    checkTransportSecurity(
      [
        '127.0.0.1:50051',
        'localhost:50051',
        '[::1]:50051',
        '127.8.9.10:1',
        'LOCALHOST',
        '::1',
        'unix:/tmp/x.sock',
      ],
      insecure,
      { warn: (m) => warnings.push(m) },
    )
    checkTransportSecurity(['ipv4:127.0.0.1:1,127.0.0.2:2', 'dns:localhost:3'], insecure)
    assert.deepEqual(warnings, [])
  })

  test('with allowInsecure it warns once, naming every non-loopback address', () => {
    const warnings: string[] = []
    checkTransportSecurity(['10.1.2.3:443', '127.0.0.1:1', 'billing.internal:50051'], insecure, {
      allowInsecure: true,
      warn: (m) => warnings.push(m),
    })
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!, /10\.1\.2\.3:443, billing\.internal:50051/)
  })

  test('the default warning is a process warning with code BERTH_INSECURE_CHANNEL', async () => {
    const warned = once(process, 'warning')
    checkTransportSecurity(['10.1.2.3:443'], insecure, { allowInsecure: true })
    const [warning] = (await warned) as [Error & { code?: string }]
    assert.equal(warning.code, 'BERTH_INSECURE_CHANNEL')
    assert.equal(warning.name, 'SecurityWarning')
  })

  test('secure credentials pass for any address', () => {
    const secure = tlsCredentials({ ca: pki.ca.cert })
    checkTransportSecurity(['10.1.2.3:443', 'billing.internal:50051'], secure)
  })

  test('bad arguments are refused with InvalidOptionError', () => {
    assert.throws(() => checkTransportSecurity('10.1.2.3:443' as never, insecure), invalid('addresses'))
    assert.throws(() => checkTransportSecurity([''], insecure), invalid('addresses'))
    assert.throws(() => checkTransportSecurity(['a:1'], {} as never), invalid('credentials'))
    assert.throws(
      () => checkTransportSecurity(['a:1'], insecure, { allowInsecure: 'yes' as never }),
      invalid('allowInsecure'),
    )
  })

  test('loopback is 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost, and nothing that merely looks like them', () => {
    for (const host of [
      '127.0.0.1',
      '127.255.0.9',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      'localhost',
      'localhost.',
    ]) {
      assert.equal(isLoopbackHost(host), true, host)
    }
    for (const host of [
      '128.0.0.1',
      '10.0.0.1',
      '::2',
      '::ffff:10.0.0.1',
      'localhost.evil.com',
      '127.0.0.1.nip.io',
      '',
    ]) {
      assert.equal(isLoopbackHost(host), false, host)
    }
  })
})
