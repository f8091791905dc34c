/**
 * A stand-in for the demo's HTTP server, for the dashboard test: the routes of src/demo/api-types.ts on
 * 127.0.0.1, serving the real page from src/demo/dashboard and uPlot from node_modules, with a DemoState
 * that moves on every poll and actions that change it (stopping backend 'b' marks it down, a fail-over
 * moves the primary once and refuses a second with 409). It records
 * every POST so the test can see what the page sent.
 *
 * Also: finding and launching the system chromium for playwright-core (no browser download).
 */
import { constants, accessSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright-core'
import type { DemoBackend, DemoState } from '../../src/demo/api-types.js'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const DASHBOARD_DIR = path.join(repoRoot, 'src/demo/dashboard')
const UPLOT_DIR = path.join(repoRoot, 'node_modules/uplot/dist')

export const CHROMIUM_MISSING = 'chromium not installed (apt-get install chromium, or set BERTH_CHROMIUM)'

/** `BERTH_CHROMIUM`, else the first `chromium` / `chromium-browser` on PATH, else undefined. */
export function findChromium(): string | undefined {
  if (process.env.BERTH_CHROMIUM) return process.env.BERTH_CHROMIUM
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = path.join(dir, name)
      try {
        accessSync(candidate, constants.X_OK)
        return candidate
      } catch {}
    }
  }
  return undefined
}

/**
 * Headless chromium, or undefined (after printing why) when it is not installed, unless
 * `BERTH_TEST_REQUIRE_CHROMIUM=1` (CI), where a missing browser is an error.
 */
export async function launchChromium(): Promise<Browser | undefined> {
  const executablePath = findChromium()
  if (!executablePath) {
    if (process.env.BERTH_TEST_REQUIRE_CHROMIUM === '1') {
      throw new Error(`BERTH_TEST_REQUIRE_CHROMIUM=1 but ${CHROMIUM_MISSING}`)
    }
    process.stderr.write(`[dashboard test] ${CHROMIUM_MISSING}: skipping the browser tests\n`)
    return undefined
  }
  // --no-sandbox: CI runs as root, where chromium refuses its sandbox.
  return chromium.launch({ executablePath, args: ['--no-sandbox'], timeout: 60_000 })
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}

/** Where a GET path's file lives, or undefined for a path that is not a static file. */
function staticFile(urlPath: string): string | undefined {
  if (urlPath === '/') return path.join(DASHBOARD_DIR, 'index.html')
  if (urlPath === '/static/uplot.iife.min.js') return path.join(UPLOT_DIR, 'uPlot.iife.min.js')
  if (urlPath === '/static/uPlot.min.css') return path.join(UPLOT_DIR, 'uPlot.min.css')
  const match = /^\/static\/([\w-]+\.(?:js|css))$/.exec(urlPath)
  return match ? path.join(DASHBOARD_DIR, match[1]!) : undefined
}

export interface FakeDemoPost {
  readonly path: string
  readonly body: unknown
}

export interface FakeDemo {
  /** http://127.0.0.1:<port> */
  readonly url: string
  /** `GET /api/state` requests answered so far. */
  readonly polls: number
  /** Every POST the page sent, in order. */
  readonly posts: readonly FakeDemoPost[]
  /** The backends as they are now. */
  readonly backends: readonly DemoBackend[]
  close(): Promise<void>
}

type MutableBackend = { -readonly [K in keyof DemoBackend]: DemoBackend[K] }

export async function startFakeDemo(): Promise<FakeDemo> {
  const started = Date.now()
  const backends: MutableBackend[] = ['a', 'b', 'c'].map((id, i) => ({
    id,
    address: `127.0.0.1:${50051 + i}`,
    up: true,
    calls: 0,
    health: 'SERVING',
  }))
  const events: { time: number; message: string }[] = [{ time: started, message: 'demo started' }]
  const posts: FakeDemoPost[] = []
  let polls = 0
  let calls = 0
  let errors = 0
  let reconnects = 0
  let failovers = 0

  function state(): DemoState {
    polls++
    // Moves on every poll, so two reads of the page a couple of seconds apart always differ.
    const qps = 180 + ((polls * 37) % 90)
    calls += qps
    const up = backends.filter((b) => b.up)
    for (const b of up) b.calls += Math.round(qps / up.length)
    const failed = polls % 3 === 0 ? 2 + (polls % 5) : 0
    errors += failed
    const now = Date.now()
    const ageBase = now - started
    const [primary, standby] =
      failovers === 0 ? ['127.0.0.1:5432', '127.0.0.1:5433'] : ['127.0.0.1:5433', '127.0.0.1:5432']
    return {
      time: now,
      uptimeS: Math.round(ageBase / 100) / 10,
      qps,
      calls,
      errors,
      errorsByStatus: {
        UNAVAILABLE: errors - Math.floor(errors / 4),
        DEADLINE_EXCEEDED: Math.floor(errors / 4),
      },
      latencyP50Ms: 1.5 + (polls % 4) * 0.3,
      latencyP99Ms: 8 + (polls % 6) * 2.5,
      reads: { calls: Math.round(calls * 0.9), errors: 0, qps: Math.round(qps * 9) / 10 },
      writes: { calls: Math.round(calls * 0.1), errors, qps: Math.round(qps) / 10 },
      cluster: {
        name: 'billing',
        primary,
        failovers,
        lastFailoverMs: failovers === 0 ? null : 1200,
        noPrimaryForMs: null,
        readsOnReplicas: failovers === 0 ? calls : 0,
        readsOnPrimary: failovers === 0 ? 0 : calls,
        canFailOver: failovers === 0,
        hosts: [
          {
            host: primary,
            role: 'primary',
            state: 'up',
            lagMs: 0,
            inRotation: false,
            reads: 0,
            promotions: failovers,
          },
          {
            host: standby,
            role: failovers === 0 ? 'standby' : 'unknown',
            state: failovers === 0 ? 'up' : 'down',
            lagMs: failovers === 0 ? 3 : null,
            inRotation: failovers === 0,
            reads: calls,
            promotions: 0,
          },
        ],
      },
      pgPools: [
        {
          name: 'billing',
          totalConns: 6,
          idleConns: 2 + (polls % 3),
          acquiredConns: 4 - (polls % 3),
          maxConns: 10,
          waiting: polls % 4 === 0 ? 1 : 0,
          acquireWaitP50Ms: 0.05 + (polls % 3) * 0.02,
          acquireWaitP99Ms: 0.8 + (polls % 5) * 0.4,
          connectionAgesMs: [ageBase + 20_000, ageBase, ageBase * 0.8, ageBase * 0.5, 9_000, 1_500],
        },
      ],
      channelPools: [
        {
          name: 'billing',
          state: up.length > 0 ? 'READY' : 'TRANSIENT_FAILURE',
          channels: 2 * up.length,
          callsInFlight: 3 + (polls % 4),
          reconnects,
        },
      ],
      backends: backends.map((b) => ({ ...b })),
      events: events.slice(-10),
    }
  }

  function action(urlPath: string): { status: number; message: string } {
    const backendAction = /^\/api\/backends\/([^/]+)\/(stop|start)$/.exec(urlPath)
    if (backendAction) {
      const backend = backends.find((b) => b.id === backendAction[1])
      if (!backend) return { status: 404, message: `no backend ${backendAction[1]}` }
      backend.up = backendAction[2] === 'start'
      backend.health = backend.up ? 'SERVING' : 'NOT_SERVING'
      if (!backend.up) reconnects++
      const message = `backend ${backend.id} ${backend.up ? 'started' : 'stopped'}`
      events.push({ time: Date.now(), message })
      return { status: 200, message }
    }
    if (urlPath === '/api/db/terminate') {
      events.push({ time: Date.now(), message: 'terminated 6 connections' })
      return { status: 200, message: 'terminated 6 connections' }
    }
    if (urlPath === '/api/db/failover') {
      if (failovers > 0) return { status: 409, message: 'no standby left to promote' }
      failovers++
      events.push({ time: Date.now(), message: 'failover: 127.0.0.1:5433 promoted' })
      return { status: 200, message: 'failover: 127.0.0.1:5433 promoted' }
    }
    if (urlPath === '/api/pool/saturate') {
      events.push({ time: Date.now(), message: 'saturating the pool' })
      return { status: 200, message: 'holding every connection' }
    }
    return { status: 404, message: `no route POST ${urlPath}` }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const urlPath = new URL(req.url ?? '/', 'http://localhost').pathname
    if (req.method === 'GET' && urlPath === '/api/state') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify(state()))
      return
    }
    if (req.method === 'POST') {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown = text
      try {
        body = text ? JSON.parse(text) : undefined
      } catch {}
      posts.push({ path: urlPath, body })
      const { status, message } = action(urlPath)
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok: status === 200, message }))
      return
    }
    const file = req.method === 'GET' ? staticFile(urlPath) : undefined
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    const content = await readFile(file)
    res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' })
    res.end(content)
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(String(error))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    get polls() {
      return polls
    },
    posts,
    backends,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
