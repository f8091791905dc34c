import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AddressBook } from '../../src/grpc/address-book.js'
import { renderChannelConfig } from '../../src/grpc/channel-config.js'
import { resolveChannelPoolOptions } from '../../src/grpc/channel-pool-options.js'
import { DnsRefresh } from '../../src/grpc/dns-refresh.js'
import { InvalidTargetError } from '../../src/grpc/errors.js'
import { parseTarget } from '../../src/grpc/target.js'

describe('channel config rendering', () => {
  it("renders the seed's defaults: keepalive 30 s / 10 s without calls, 3 attempts on UNAVAILABLE, round_robin", () => {
    const { channelOptions, serviceConfig, warnings } = renderChannelConfig(resolveChannelPoolOptions())
    assert.equal(channelOptions['grpc.keepalive_time_ms'], 30_000)
    assert.equal(channelOptions['grpc.keepalive_timeout_ms'], 10_000)
    assert.equal(channelOptions['grpc.keepalive_permit_without_calls'], 1)
    assert.equal(channelOptions['grpc.use_local_subchannel_pool'], 1)
    assert.equal(channelOptions['grpc.max_receive_message_length'], 4 * 1024 * 1024)
    assert.deepEqual(JSON.parse(channelOptions['grpc.service_config'] as string), serviceConfig)
    assert.deepEqual(serviceConfig.loadBalancingConfig, [{ round_robin: {} }])
    assert.deepEqual(serviceConfig.methodConfig[0], {
      name: [{}],
      retryPolicy: {
        maxAttempts: 3,
        initialBackoff: '0.1s',
        maxBackoff: '1s',
        backoffMultiplier: 2,
        retryableStatusCodes: ['UNAVAILABLE'],
      },
    })
    assert.deepEqual(warnings, [])
  })

  it('renders per-method and per-service timeouts, pick_first, and no retry policy when retry is off', () => {
    const o = resolveChannelPoolOptions({
      loadBalancing: 'pick_first',
      retry: false,
      keepalive: false,
      methodTimeouts: { 'billing.Billing/Transfer': 2500, 'billing.Billing': 500 },
    })
    const { channelOptions, serviceConfig } = renderChannelConfig(o)
    assert.deepEqual(serviceConfig.loadBalancingConfig, [{ pick_first: {} }])
    assert.deepEqual(serviceConfig.methodConfig, [
      { name: [{}] },
      { name: [{ service: 'billing.Billing', method: 'Transfer' }], timeout: '2.5s' },
      { name: [{ service: 'billing.Billing' }], timeout: '0.5s' },
    ])
    assert.equal(channelOptions['grpc.enable_retries'], 0)
    assert.equal(channelOptions['grpc.keepalive_time_ms'], undefined)
  })

  it('reports options grpc-js would silently ignore', () => {
    const o = resolveChannelPoolOptions({
      retry: { maxAttempts: 7 },
      keepalive: { timeMs: 1000 },
      channelOptions: {
        'grpc.max_concurrent_streams': 10,
        'grpc.keepalive_time': 5,
        'grpc.service_config': '{}',
      },
    })
    const { warnings, channelOptions } = renderChannelConfig(o)
    const text = warnings.join('\n')
    assert.match(text, /maxAttempts 7 exceeds grpc-js' limit of 5/)
    assert.match(text, /keepalive.timeMs 1000 is below 10 s/)
    assert.match(text, /'grpc.max_concurrent_streams'\] is a server option/)
    assert.match(text, /'grpc.keepalive_time'\] is not an option grpc-js knows/)
    assert.match(text, /'grpc.service_config'\] overrides/)
    assert.equal(channelOptions['grpc.service_config'], '{}', 'the raw value still applies')
  })

  it('rejects out-of-range values naming the field', () => {
    assert.throws(() => resolveChannelPoolOptions({ size: 1.5 }), /Invalid option size/)
    assert.throws(() => resolveChannelPoolOptions({ minChannels: 4, maxChannels: 2 }), /maxChannels/)
    assert.throws(() => resolveChannelPoolOptions({ loadBalancing: 'random' as never }), /loadBalancing/)
    assert.throws(
      () => resolveChannelPoolOptions({ retry: { retryableStatusCodes: ['NOT_FOUND' as never] } }),
      /retry\.retryableStatusCodes/,
    )
    assert.throws(
      () => resolveChannelPoolOptions({ retry: { initialBackoffMs: 500, maxBackoffMs: 100 } }),
      /maxBackoffMs/,
    )
    assert.throws(() => resolveChannelPoolOptions({ methodTimeouts: { 'bad name': 1 } }), /methodTimeouts/)
    assert.throws(() => resolveChannelPoolOptions({ methodTimeouts: { 'a.B/C': 0 } }), /methodTimeouts/)
    assert.throws(() => resolveChannelPoolOptions({ connectTimeoutMs: Number.NaN }), /connectTimeoutMs/)
    assert.throws(
      () => resolveChannelPoolOptions({ healthCheck: { service: 3 as never } }),
      /healthCheck\.service/,
    )
    assert.throws(() => resolveChannelPoolOptions({ interceptors: [1 as never] }), /interceptors/)
  })
})

describe('targets', () => {
  it('parses every target form a channel pool accepts', () => {
    assert.deepEqual(parseTarget('billing:50051'), {
      kind: 'dns',
      names: [{ host: 'billing', port: 50051 }],
      authority: 'billing:50051',
    })
    assert.deepEqual(parseTarget('dns:///billing.svc:443'), {
      kind: 'dns',
      names: [{ host: 'billing.svc', port: 443 }],
      authority: 'billing.svc',
    })
    assert.equal(parseTarget('dns://8.8.8.8/billing:1').kind, 'dns')
    assert.deepEqual(parseTarget('ipv4:10.0.0.1:1,10.0.0.2:2'), {
      kind: 'static',
      addresses: [
        { host: '10.0.0.1', port: 1 },
        { host: '10.0.0.2', port: 2 },
      ],
      authority: '10.0.0.1:1',
    })
    assert.deepEqual(parseTarget('ipv6:[::1]:5').kind, 'static')
    assert.deepEqual(parseTarget(['127.0.0.1:1', '[::1]:2']), {
      kind: 'static',
      addresses: [
        { host: '127.0.0.1', port: 1 },
        { host: '::1', port: 2 },
      ],
      authority: '127.0.0.1:1',
    })
    assert.equal(parseTarget('127.0.0.1:7').kind, 'static', 'a literal IP needs no DNS')
    assert.deepEqual(parseTarget('xds:///billing'), {
      kind: 'xds',
      target: 'xds:///billing',
      authority: 'billing',
    })
    assert.deepEqual(parseTarget('billing').kind, 'dns')
  })

  it('rejects malformed targets with InvalidTargetError naming the problem', () => {
    const bad: [unknown, RegExp][] = [
      ['', /empty/],
      [42, /expected a string/],
      [[], /list is empty/],
      [['a:1', 5], /entry 1/],
      ['host:0', /port "0"/],
      ['host:http', /port "http"/],
      ['::1:50051', /brackets/],
      ['[::1:5', /unclosed/],
      ['ipv4:[::1]:5', /not an IPv4/],
      ['https://x:1', /unsupported scheme/],
      ['unix:/tmp/s', /unsupported scheme/],
      ['a b:1', /not a host name/],
    ]
    for (const [target, why] of bad) {
      assert.throws(
        () => parseTarget(target),
        (err: unknown) => err instanceof InvalidTargetError && why.test(err.message),
        String(target),
      )
    }
  })
})

describe('address book and DNS re-resolution', () => {
  it('publishes changes only, keeps addresses through a failed lookup, and fails open when all are unhealthy', () => {
    const book = new AddressBook('t', 'svc')
    const seen: unknown[] = []
    book.attach({ update: (a) => seen.push(a) })
    book.set([{ host: '10.0.0.1', port: 1 }])
    book.set([{ host: '10.0.0.1', port: 1 }])
    assert.equal(seen.length, 1, 'an unchanged list is not published again')
    book.fail('lookup failed')
    assert.deepEqual(book.current(), [{ host: '10.0.0.1', port: 1 }], 'known addresses stay')
    book.set([
      { host: '10.0.0.1', port: 1 },
      { host: '10.0.0.2', port: 1 },
    ])
    book.setHealthy('10.0.0.2:1', false)
    assert.deepEqual(book.current(), [{ host: '10.0.0.1', port: 1 }])
    book.setHealthy('10.0.0.1:1', false)
    assert.equal((book.current() as unknown[]).length, 2, 'with none healthy, all are tried')
    const empty = new AddressBook('e', 'svc')
    empty.fail('NXDOMAIN')
    assert.deepEqual(empty.current(), { error: 'NXDOMAIN' })
  })

  it('re-resolves on its period so new backends get traffic without a failure', async () => {
    const book = new AddressBook('d', 'billing')
    let answer = ['10.0.0.1']
    const dns = new DnsRefresh([{ host: 'billing', port: 50051 }], book, 1100, async () => answer)
    await dns.start()
    assert.deepEqual(book.addresses, ['10.0.0.1:50051'])
    answer = ['10.0.0.1', '10.0.0.2']
    await new Promise((resolve) => setTimeout(resolve, 1300))
    assert.deepEqual([...book.addresses].sort(), ['10.0.0.1:50051', '10.0.0.2:50051'])
    answer = []
    dns.stop()
    assert.ok(dns.lookups >= 2)
  })

  it('merges refresh requests closer than a second (grpc-js asks on every failure)', async () => {
    const book = new AddressBook('m', 'billing')
    let lookups = 0
    const dns = new DnsRefresh([{ host: 'billing', port: 1 }], book, 0, async () => {
      lookups++
      return ['10.0.0.9']
    })
    await dns.start()
    await Promise.all([dns.refresh(), dns.refresh(), dns.refresh()])
    assert.equal(lookups, 1)
    dns.stop()
  })

  it('keeps the last good addresses when a lookup fails, and reports the error', async () => {
    const book = new AddressBook('f', 'billing')
    let fail = false
    const dns = new DnsRefresh([{ host: 'billing', port: 1 }], book, 0, async () => {
      if (fail) throw new Error('ENOTFOUND billing')
      return ['10.0.0.3']
    })
    await dns.start()
    fail = true
    await new Promise((resolve) => setTimeout(resolve, 1050))
    await dns.refresh()
    assert.deepEqual(book.addresses, ['10.0.0.3:1'])
    assert.equal(dns.lookupErrors, 1)
    assert.match(dns.lastError ?? '', /ENOTFOUND/)
    dns.stop()
  })
})
