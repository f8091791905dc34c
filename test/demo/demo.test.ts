import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import type { DemoState } from '../../src/demo/api-types.js'
import { type BillingClient, billingClientConstructor } from '../../src/demo/billing-proto.js'
import { BillingBackend } from '../../src/demo/billing-server.js'
import { dashboardDir } from '../../src/demo/http-server.js'
import { runDemo } from '../../src/demo/index.js'
import { Progress, formatProgress } from '../../src/demo/progress.js'
import {
  SEED_ACCOUNTS,
  SEED_BALANCE_CENTS,
  SEED_INVOICES,
  ensureBillingSchema,
} from '../../src/demo/schema.js'
import { createPgCluster } from '../../src/pg/index.js'
import { createDatabase } from '../support/postgres.js'
import { until } from '../support/until.js'

// The load is kept light (the machine is shared): 50 calls/s.
const RATE = 50

/** Collects what the demo writes. */
function output(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8')
  })
  return { stream, text: () => text }
}

/** Reads until `ok` accepts what it read, and returns that; the failure message shows the last read. */
async function readUntil<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 20_000) {
  let last: T | undefined
  const readOk = async () => {
    last = await read()
    return ok(last)
  }
  await until(readOk, timeoutMs, {
    intervalMs: 100,
    message: () => `timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`,
  })
  return last as T
}

function client(base: string) {
  const state = async (): Promise<DemoState> => {
    const r = await fetch(`${base}api/state`)
    assert.equal(r.status, 200)
    return (await r.json()) as DemoState
  }
  const post = async (path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: r.status, body: (await r.json()) as { ok: boolean; message: string } }
  }
  return { state, post }
}

function backend(s: DemoState, id: string) {
  const b = s.backends.find((x) => x.id === id)
  assert.ok(b, `backend ${id} in the state`)
  return b
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(5000) })
    return false
  } catch {
    return true
  }
}

/** Starts the demo and resolves with its URL once it listens. */
async function start(options: { databaseUrl?: string; dashboard: boolean; durationMs?: number }) {
  const out = output()
  const abort = new AbortController()
  let listening: (url: string) => void = () => {}
  const url = new Promise<string>((resolve) => {
    listening = resolve
  })
  const done = runDemo({
    ...options,
    durationMs: options.durationMs ?? 120_000, // a backstop: the tests abort it
    signal: abort.signal,
    out: out.stream,
    ratePerSecond: RATE,
    onListening: (u) => listening(u),
  })
  const base = await Promise.race([url, done.then(() => Promise.reject(new Error('runDemo ended early')))])
  return { base, out, abort, done }
}

test('the demo drives load, serves /metrics, and heals from a stopped backend and terminated connections', async () => {
  const databaseUrl = await createDatabase('demo')
  const { base, out, abort, done } = await start({ databaseUrl, dashboard: false })
  try {
    const { state, post } = client(base)
    assert.match(out.text(), new RegExp(`metrics: ${base.replaceAll('.', '\\.')}metrics`))

    // Load flows through all three backends.
    const first = await readUntil(state, (s) => s.qps > 0 && s.calls > 20, 'qps > 0')
    const more = await readUntil(state, (s) => s.calls > first.calls + 20, 'calls to increase')
    for (const id of ['a', 'b', 'c']) assert.ok(backend(more, id).calls > 0, `backend ${id} served calls`)
    // DATABASE_URL names one server: a cluster of one host, whose reads run on the primary.
    assert.equal(more.pgPools.length, 1)
    assert.equal(more.channelPools[0]?.state, 'READY')
    assert.equal(more.cluster.hosts.length, 1)
    assert.equal(more.cluster.primary, more.cluster.hosts[0]?.host)
    assert.ok(more.cluster.readsOnPrimary > 0, 'reads ran on the primary')
    assert.equal(more.cluster.canFailOver, false)
    assert.ok(more.reads.calls > 0 && more.writes.calls > 0, 'reads and writes are counted apart')

    const metrics = await fetch(`${base}metrics`)
    assert.equal(metrics.status, 200)
    const text = await metrics.text()
    assert.match(text, /^berth_pg_total_conns\{pool="billing@[\w.-]+:\d+"\} [1-9]\d*$/m)
    assert.match(text, /^berth_demo_pg_failovers_total 0$/m)
    assert.match(text, /^berth_demo_calls_by_kind_total\{kind="read",outcome="ok"\} [1-9]\d*$/m)
    assert.match(text, /^berth_grpc_calls_in_flight\{pool="billing"\} \d+$/m)
    assert.match(text, /^berth_demo_calls_total [1-9]\d*$/m)
    assert.match(text, /^berth_demo_backend_up\{backend="b"\} 1$/m)

    // No dashboard: the page is off, the API is on.
    assert.equal((await fetch(base)).status, 404)

    // On DATABASE_URL there is no embedded standby to fail over to.
    const failover = await post('api/db/failover')
    assert.equal(failover.status, 400, failover.body.message)
    assert.match(failover.body.message, /DATABASE_URL/)

    // Stop backend b: it serves nothing more while the others carry the load.
    const stop = await post('api/backends/b/stop')
    assert.equal(stop.status, 200, stop.body.message)
    assert.equal(stop.body.ok, true)
    const afterStop = await state()
    assert.equal(backend(afterStop, 'b').up, false)
    const bCalls = backend(afterStop, 'b').calls
    const withoutB = await readUntil(state, (s) => s.calls > afterStop.calls + 3 * RATE, 'calls without b')
    assert.equal(backend(withoutB, 'b').calls, bCalls, 'a stopped backend serves no calls')
    assert.ok(
      withoutB.errors - afterStop.errors <= 5,
      `few errors while b is down: ${JSON.stringify(withoutB.errorsByStatus)}`,
    )
    assert.equal((await post('api/backends/b/stop')).status, 409)
    assert.equal((await post('api/backends/x/stop')).status, 404)

    // Start it again: calls come back to it.
    const startAgain = await post('api/backends/b/start')
    assert.equal(startAgain.status, 200, startAgain.body.message)
    const healed = await readUntil(
      state,
      (s) => backend(s, 'b').calls > bCalls + 10,
      'calls to reach b again',
    )
    assert.equal(backend(healed, 'b').up, true)

    // Terminate every database connection: recorded, errors bounded, calls succeed afterwards.
    const before = await state()
    const terminate = await post('api/db/terminate')
    assert.equal(terminate.status, 200, terminate.body.message)
    assert.match(terminate.body.message, /terminated [1-9]\d* database connections?/)
    const after = await readUntil(
      state,
      (s) => s.calls - s.errors > before.calls - before.errors + 3 * RATE,
      'successful calls after terminate',
    )
    assert.ok(
      after.events.some((e) => /terminated \d+ database connection/.test(e.message)),
      'the event log records the terminate',
    )
    assert.ok(
      after.errors - before.errors <= 20,
      `errors after terminate: ${JSON.stringify(after.errorsByStatus)}`,
    )
    assert.ok(
      after.pgPools.every((p) => p.totalConns > 0),
      'the pools reconnected',
    )

    // Saturate: every connection of the backend pools is held, then given back.
    assert.equal((await post('api/pool/saturate', { ms: -1 })).status, 400)
    const saturate = await post('api/pool/saturate', { ms: 1500 })
    assert.equal(saturate.status, 200, saturate.body.message)
    const held = await state()
    for (const p of held.pgPools) assert.equal(p.acquiredConns, p.maxConns, `${p.name} is saturated`)
    assert.equal((await post('api/pool/saturate', { ms: 1500 })).status, 409)
    const released = await readUntil(
      state,
      (s) => s.events.some((e) => /released \d+ held connections?/.test(e.message)),
      'the saturation to end',
    )
    await readUntil(
      state,
      (s) => s.calls - s.errors > released.calls - released.errors + 2 * RATE,
      'successful calls after the saturation',
    )
  } finally {
    abort.abort()
    await done
  }
  assert.ok(await refused(`${base}api/state`), 'the port is closed after runDemo resolves')
  assert.match(out.text(), /berth demo: ran \d+\.\d s; \d+ calls/)
})

test('with no database URL the demo runs on an embedded PostgreSQL, stops after durationMs and removes it', async () => {
  const { base, out, done } = await start({ dashboard: true, durationMs: 8000 })
  const { state } = client(base)
  const s = await readUntil(state, (x) => x.qps > 0, 'qps > 0')
  assert.ok(s.calls > 0)
  const page = await fetch(base)
  if (dashboardDir() === undefined) assert.equal(page.status, 404)
  else assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
  const uplot = await fetch(`${base}static/uplot.iife.min.js`)
  assert.equal(uplot.status, 200)
  assert.match(uplot.headers.get('content-type') ?? '', /javascript/)
  assert.equal((await fetch(`${base}static/..%2Fpackage.json`)).status, 404)
  const dataDir = /data in (\S+)\)/.exec(out.text())?.[1]
  assert.ok(dataDir, 'the demo says where the embedded data is')
  assert.ok(existsSync(dataDir), 'the embedded data directory exists while it runs')
  await done // no abort: durationMs ends it
  assert.equal(existsSync(dataDir), false, 'the embedded data is removed')
  assert.ok(await refused(`${base}api/state`), 'the port is closed')
  assert.match(out.text(), /embedded PostgreSQL removed/)
})

/** Successful calls of one kind. */
const ok = (k: { calls: number; errors: number }) => k.calls - k.errors

/** The longest time between two samples where `count` grew, ms. */
function stall(samples: readonly { at: number; s: DemoState }[], count: (s: DemoState) => number): number {
  let last = samples[0]?.at ?? 0
  let longest = 0
  for (let i = 1; i < samples.length; i++) {
    if (count(samples[i]!.s) > count(samples[i - 1]!.s)) {
      longest = Math.max(longest, samples[i]!.at - last)
      last = samples[i]!.at
    }
  }
  return longest
}

test('on the embedded primary and standby, reads come from the standby and a fail-over pauses only the writes', async () => {
  const { base, out, abort, done } = await start({ dashboard: false })
  let sampling = true
  let sampler: Promise<void> | undefined
  try {
    const { state, post } = client(base)
    const warm = await readUntil(
      state,
      (s) =>
        s.cluster.hosts.some((h) => h.role === 'standby' && h.inRotation && h.reads > 20) &&
        ok(s.writes) > 10,
      'reads on the standby and writes on the primary',
      30_000,
    )
    assert.equal(warm.cluster.hosts.length, 2)
    assert.equal(warm.cluster.canFailOver, true)
    assert.equal(warm.cluster.failovers, 0)
    const oldPrimary = warm.cluster.primary
    const standby = warm.cluster.hosts.find((h) => h.host !== oldPrimary)!.host
    assert.ok(oldPrimary !== null)
    assert.equal(warm.pgPools.length, 2, 'a pool per server')

    // Watch the state through the failover, ten times a second.
    const samples: { at: number; s: DemoState }[] = []
    sampler = (async () => {
      while (sampling) {
        samples.push({ at: performance.now(), s: await state() })
        await sleep(100)
      }
    })()
    const before = await state()
    const [first, concurrent] = await Promise.all([
      post('api/db/failover'),
      sleep(100).then(() => post('api/db/failover')),
    ])
    const returned = performance.now()
    assert.equal(first.status, 200, first.body.message)
    assert.match(first.body.message, new RegExp(`${standby.replaceAll('.', '\\.')} promoted`))
    assert.match(first.body.message, /the cluster writes to it/)
    assert.equal(concurrent.status, 409, concurrent.body.message)
    assert.match(concurrent.body.message, /already running/)

    // Writes succeed again within a few seconds of the action's answer.
    const atReturn = await state()
    const resumed = await readUntil(
      state,
      (s) => ok(s.writes) >= ok(atReturn.writes) + 5,
      'writes to succeed again after the failover',
      5000,
    )
    const resumedMs = performance.now() - returned
    const settled = await readUntil(
      state,
      (s) => s.cluster.failovers === 1 && s.cluster.primary === standby && s.calls > resumed.calls + 50,
      'the cluster to settle on the new primary',
    )
    sampling = false
    await sampler

    // Reads never failed, and kept succeeding: no second without a successful read.
    assert.equal(
      settled.reads.errors,
      before.reads.errors,
      `read errors: ${JSON.stringify(settled.errorsByStatus)}`,
    )
    const longestGap = stall(samples, (s) => ok(s.reads))
    const writeGap = stall(samples, (s) => ok(s.writes))
    assert.ok(longestGap < 2000, `reads stalled for ${Math.round(longestGap)} ms`)
    // Writes did pause: the failover is visible, and the write errors it caused are few.
    const writeErrors = settled.writes.errors - before.writes.errors
    assert.ok(writeErrors <= 20, `write errors in the failover: ${writeErrors}`)

    const newPrimary = settled.cluster.hosts.find((h) => h.host === standby)!
    assert.equal(newPrimary.role, 'primary')
    assert.equal(newPrimary.promotions, 1)
    assert.ok((settled.cluster.lastFailoverMs ?? 0) > 0, 'the cluster was without a primary for a while')
    assert.ok(settled.events.some((e) => /failover: primary .* stopped/.test(e.message)))
    assert.ok(
      settled.events.some((e) => e.message.includes(`postgres: ${standby} is the primary`)),
      JSON.stringify(settled.events),
    )
    const metrics = await (await fetch(`${base}metrics`)).text()
    assert.match(metrics, /^berth_demo_pg_failovers_total 1$/m)
    assert.match(
      metrics,
      new RegExp(`^berth_demo_pg_primary\\{host="${standby.replaceAll('.', '\\.')}"\\} 1$`, 'm'),
    )

    // The old primary rejoined as the standby: a second failover fails back to it.
    assert.ok(settled.events.some((e) => e.message.includes(`${oldPrimary} rejoined as the standby`)))
    const rejoined = await readUntil(
      state,
      (s) =>
        s.cluster.canFailOver &&
        s.cluster.hosts.some((h) => h.host === oldPrimary && h.role === 'standby' && h.state === 'up'),
      'the old primary back as a standby',
    )
    assert.equal(rejoined.cluster.primary, standby)
    const back = await post('api/db/failover')
    assert.equal(back.status, 200, back.body.message)
    const failedBack = await readUntil(
      state,
      (s) => s.cluster.failovers === 2 && s.cluster.primary === oldPrimary,
      'the cluster to fail back',
    )
    assert.equal(failedBack.reads.errors, before.reads.errors, 'no read failed across two failovers')
    process.stderr.write(
      `[demo failover] writes back ${Math.round(resumedMs)} ms after the action answered; ` +
        `write errors ${writeErrors}; longest gap between successful writes ${Math.round(writeGap)} ms, ` +
        `reads ${Math.round(longestGap)} ms; the cluster was without a primary for ${settled.cluster.lastFailoverMs} ms\n`,
    )
  } finally {
    sampling = false
    await sampler?.catch(() => {})
    abort.abort()
    await done
  }
  const dirs = [...out.text().matchAll(/data in (\S+)\)/g)].map((m) => m[1]!)
  assert.equal(dirs.length, 2, 'the demo says where both servers keep their data')
  for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} is removed`)
  assert.match(out.text(), /reads \d+ \(\d+ failed\), writes \d+ \(\d+ failed\)/)
})

function call<Req, Res>(
  fn: (
    req: Req,
    md: grpc.Metadata,
    o: grpc.CallOptions,
    cb: (e: grpc.ServiceError | null, r?: Res) => void,
  ) => unknown,
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(request, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, reply) =>
      err ? reject(err) : resolve(reply!),
    )
  })
}

test('the billing schema is idempotent, and Transfer applies an idempotency key once and refuses overdrafts', async () => {
  const db = createPgCluster(await createDatabase('demo_billing'), { name: 'billing-t', maxConns: 2 })
  const backend = new BillingBackend({ id: 't', db })
  let client: BillingClient | undefined
  try {
    const first = await ensureBillingSchema(db)
    const again = await ensureBillingSchema(db)
    assert.deepEqual(first, { accounts: SEED_ACCOUNTS, invoices: SEED_INVOICES })
    assert.deepEqual(again, first)

    await backend.start()
    const Billing = billingClientConstructor()
    client = new Billing(backend.address, grpc.credentials.createInsecure())
    const c = client

    const invoice = await call(c.findInvoice.bind(c), { id: 42 })
    assert.equal(invoice.id, 42)
    assert.equal(invoice.servedBy, 't')
    await assert.rejects(call(c.findInvoice.bind(c), { id: SEED_INVOICES + 1 }), {
      code: grpc.status.NOT_FOUND,
    })

    const transfer = {
      transferId: '3b241101-e2bb-4255-8caf-4136c566a962',
      fromAccount: 1,
      toAccount: 2,
      cents: 250,
    }
    assert.equal((await call(c.transfer.bind(c), transfer)).applied, true)
    assert.equal((await call(c.transfer.bind(c), transfer)).applied, false, 'a retry is not applied twice')
    const balances = await db.query<{ id: string; balance_cents: string }>(
      'SELECT id, balance_cents FROM billing.accounts WHERE id IN (1, 2) ORDER BY id',
    )
    assert.deepEqual(
      balances.rows.map((r) => Number(r.balance_cents)),
      [SEED_BALANCE_CENTS - 250, SEED_BALANCE_CENTS + 250],
    )
    await assert.rejects(
      call(c.transfer.bind(c), {
        ...transfer,
        transferId: '9f1c7a52-4a4e-4f57-9d3b-0c8a6f1e2d11',
        cents: SEED_BALANCE_CENTS * 2,
      }),
      { code: grpc.status.FAILED_PRECONDITION },
    )
    assert.equal(backend.calls, 5, 'every answered call is counted, failed ones too')
  } finally {
    client?.close()
    if (backend.up) await backend.stop()
    await db.close()
  }
})

test('the progress line is rewritten in place on a terminal and printed as lines elsewhere', async () => {
  const state: DemoState = {
    time: Date.now(),
    uptimeS: 75.4,
    qps: 199.84,
    calls: 1000,
    errors: 3,
    errorsByStatus: { UNAVAILABLE: 3 },
    latencyP50Ms: 1.2,
    latencyP99Ms: 4.25,
    reads: { calls: 900, errors: 0, qps: 180 },
    writes: { calls: 100, errors: 3, qps: 20 },
    cluster: {
      name: 'billing',
      primary: '127.0.0.1:5432',
      failovers: 0,
      lastFailoverMs: null,
      noPrimaryForMs: null,
      readsOnReplicas: 900,
      readsOnPrimary: 0,
      canFailOver: true,
      hosts: [],
    },
    pgPools: [],
    channelPools: [],
    backends: [
      { id: 'a', address: '127.0.0.1:1', up: true, calls: 500, health: 'SERVING' },
      { id: 'b', address: '127.0.0.1:2', up: false, calls: 500, health: 'UNKNOWN' },
    ],
    events: [],
  }
  assert.equal(
    formatProgress(state),
    'up 1m15s  qps 199.8  p99 4.3 ms  errors 3 (UNAVAILABLE 3)  backends 1/2',
  )
  for (const tty of [true, false]) {
    const out = output()
    const progress = new Progress(out.stream, () => state, { tty, periodMs: 10 })
    progress.start()
    await sleep(60)
    progress.print('an event')
    progress.stop()
    const text = out.text()
    if (tty) {
      const CLEAR = '\r\x1b[2K'
      assert.ok(text.startsWith(`${CLEAR}up 1m15s`), 'drawn in place')
      assert.ok(text.includes(`${CLEAR}an event\n`), 'the line is cleared before a message')
      assert.ok(text.endsWith('\r\x1b[2K'), 'stop() leaves a clean line')
    } else {
      assert.ok(!text.includes('\x1b'), 'no escape codes outside a terminal')
      assert.match(text, /^up 1m15s.*\n/)
      assert.match(text, /\nan event\n$/)
    }
  }
})
