/**
 * Test certificates made at test time, in pure JS (the `selfsigned` package), so CI needs no
 * openssl binary: a CA, a server certificate for localhost / 127.0.0.1 / ::1 signed by it, a client
 * certificate signed by it (for mTLS), and a second, unrelated CA with its own client certificate
 * (a client the server must not trust). EC P-256 keys: generating the lot takes well under a second.
 */
import { generate } from 'selfsigned'

export interface KeyPair {
  /** PEM certificate. */
  readonly cert: string
  /** PEM private key (PKCS#8). */
  readonly key: string
}

export interface TestPki {
  /** The CA that signed `server` and `client`. */
  readonly ca: KeyPair
  /** Valid for `localhost`, `127.0.0.1` and `::1`; extended key usage serverAuth. */
  readonly server: KeyPair
  /** Signed by `ca`; extended key usage clientAuth. */
  readonly client: KeyPair
  /** A CA that signed nothing the server trusts. */
  readonly otherCa: KeyPair
  /** A client certificate signed by `otherCa`. */
  readonly strangerClient: KeyPair
}

const EC = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' } as const

async function makeCa(cn: string): Promise<KeyPair> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    ...EC,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  })
  return { cert: pems.cert, key: pems.private }
}

async function makeLeaf(ca: KeyPair, cn: string, role: 'server' | 'client'): Promise<KeyPair> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    ...EC,
    ca: { cert: ca.cert, key: ca.key },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      role === 'server'
        ? { name: 'extKeyUsage', serverAuth: true }
        : { name: 'extKeyUsage', clientAuth: true },
      {
        name: 'subjectAltName',
        altNames:
          role === 'server'
            ? [
                { type: 2, value: 'localhost' },
                { type: 7, ip: '127.0.0.1' },
                { type: 7, ip: '::1' },
              ]
            : [{ type: 2, value: cn }],
      },
    ],
  })
  return { cert: pems.cert, key: pems.private }
}

let made: Promise<TestPki> | undefined

/** The test PKI, made once per process. */
export function testPki(): Promise<TestPki> {
  made ??= (async () => {
    const [ca, otherCa] = await Promise.all([makeCa('berth test CA'), makeCa('berth stranger CA')])
    const [server, client, strangerClient] = await Promise.all([
      makeLeaf(ca, 'localhost', 'server'),
      makeLeaf(ca, 'berth-test-client', 'client'),
      makeLeaf(otherCa, 'berth-stranger-client', 'client'),
    ])
    return { ca, server, client, otherCa, strangerClient }
  })()
  return made
}
