/**
 * The demo's HTTP server on 127.0.0.1: the dashboard page and its static files, /metrics, and the
 * JSON API of src/demo/api-types.ts. With `dashboard: false` the page routes answer 404 and
 * /metrics and /api stay.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DemoActions } from './actions.js'
import type { DemoState } from './api-types.js'
import { DemoActionError } from './errors.js'
import type { DemoMetrics } from './metrics.js'

export interface DemoHttpOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  readonly port: number
  /** Serve the dashboard page and its static files. */
  readonly dashboard: boolean
  readonly state: () => DemoState
  readonly metrics: DemoMetrics
  readonly actions: DemoActions
}

export interface DemoHttpServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string
  readonly port: number
  /** Stops listening and ends every open connection (the dashboard's polls included). */
  close(): Promise<void>
}

const MAX_BODY_BYTES = 16 * 1024
const STATIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
/** uPlot's files, served from node_modules/uplot/dist under /static/ (names matched case-insensitively). */
const UPLOT_FILES = ['uPlot.iife.min.js', 'uPlot.min.css']
const LOCAL_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i
const LOCAL_ORIGIN = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
}

/**
 * Where the dashboard's files are: next to this module (src/demo/dashboard under tsx, or
 * dist/demo/dashboard when the build copies it there), else the source tree beside dist/.
 */
export function dashboardDir(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const candidates = [path.join(here, 'dashboard'), path.join(here, '..', '..', 'src', 'demo', 'dashboard')]
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html')))
}

function uplotDir(): string | undefined {
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist')
  } catch {
    return undefined
  }
}

export async function startDemoHttpServer(options: DemoHttpOptions): Promise<DemoHttpServer> {
  const dashboard = options.dashboard ? dashboardDir() : undefined
  const uplot = options.dashboard ? uplotDir() : undefined
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { ok: false, message: messageOf(err) })
      else res.destroy()
    })
  })

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET'
    // Loopback only, also against DNS rebinding; and no cross-site form posts to the actions.
    if (!LOCAL_HOST.test(req.headers.host ?? '')) return text(res, 403, 'Forbidden host')
    const origin = req.headers.origin
    if (method === 'POST' && origin !== undefined && !LOCAL_ORIGIN.test(origin)) {
      return json(res, 403, { ok: false, message: `cross-origin request from ${origin} refused` })
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    const route = url.pathname
    if (method === 'GET' || method === 'HEAD') {
      if (route === '/api/state') return json(res, 200, options.state())
      if (route === '/metrics') {
        const text = await options.metrics.render()
        res.writeHead(200, { 'content-type': options.metrics.contentType, 'cache-control': 'no-store' })
        res.end(text)
        return
      }
      if (options.dashboard && (route === '/' || route === '/index.html')) {
        if (dashboard === undefined)
          return text(res, 404, 'The dashboard files are not installed (src/demo/dashboard).')
        return file(res, path.join(dashboard, 'index.html'))
      }
      if (options.dashboard && route.startsWith('/static/')) {
        const name = route.slice('/static/'.length)
        if (!STATIC_NAME.test(name)) return text(res, 404, 'Not found')
        const uplotFile = UPLOT_FILES.find((f) => f.toLowerCase() === name.toLowerCase())
        if (uplot !== undefined && uplotFile !== undefined) return file(res, path.join(uplot, uplotFile))
        if (dashboard !== undefined) return file(res, path.join(dashboard, name))
        return text(res, 404, 'Not found')
      }
      return text(res, 404, 'Not found')
    }
    if (method !== 'POST') return text(res, 405, 'Method not allowed')
    try {
      const message = await action(route, req)
      if (message === undefined) return text(res, 404, 'Not found')
      return json(res, 200, { ok: true, message })
    } catch (err) {
      const status = err instanceof DemoActionError ? err.httpStatus : 500
      return json(res, status, { ok: false, message: messageOf(err) })
    }
  }

  async function action(route: string, req: http.IncomingMessage): Promise<string | undefined> {
    const backend = /^\/api\/backends\/([^/]+)\/(stop|start)$/.exec(route)
    if (backend) {
      const id = backend[1]!
      return backend[2] === 'stop' ? options.actions.stopBackend(id) : options.actions.startBackend(id)
    }
    if (route === '/api/db/terminate') return options.actions.terminateDb()
    if (route === '/api/db/failover') return options.actions.failover()
    if (route === '/api/pool/saturate') {
      const body = await readJson(req)
      return options.actions.saturate(body.ms === undefined ? undefined : (body.ms as number))
    }
    return undefined
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  let closed: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closed
    },
  }
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new DemoActionError('BERTH_DEMO_BAD_REQUEST', 'request body too large')
    chunks.push(chunk as Buffer)
  }
  const raw = Buffer.concat(chunks).toString('utf8').trim()
  if (raw === '') return {}
  let body: unknown
  try {
    body = JSON.parse(raw)
  } catch {
    throw new DemoActionError('BERTH_DEMO_BAD_REQUEST', 'the request body is not JSON')
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new DemoActionError('BERTH_DEMO_BAD_REQUEST', 'the request body must be a JSON object')
  }
  return body as Record<string, unknown>
}

async function file(res: http.ServerResponse, filePath: string): Promise<void> {
  let body: Buffer
  try {
    body = await readFile(filePath)
  } catch {
    return text(res, 404, 'Not found')
  }
  res.writeHead(200, {
    'content-type': TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
  })
  res.end(body)
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
  res.end(`${body}\n`)
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
