/**
 * The demo dashboard (src/demo/dashboard) in a real headless chromium, driven by playwright-core: first
 * against a fake demo API that serves the real page files (deterministic numbers, every POST recorded),
 * then against the real demo (`runDemo` on the test PostgreSQL). Skipped when chromium is not
 * installed, unless BERTH_TEST_REQUIRE_CHROMIUM=1. With BERTH_SCREENSHOT=1 it also writes
 * docs/dashboard.png (1280×800) from the real demo.
 */
import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import type { DemoState } from '../../src/demo/api-types.js'
import { runDemo } from '../../src/demo/index.js'
import { createDatabase } from '../support/postgres.js'
import { until } from '../support/until.js'
import { CHROMIUM_MISSING, type FakeDemo, launchChromium, startFakeDemo } from './dashboard-fake-api.js'

const SCREENSHOT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url))
/** Generous: the machine is shared and chromium is slow to start on two cores. */
const UI_TIMEOUT_MS = 20_000

let browser: Browser | undefined
let demo: FakeDemo | undefined

before(async () => {
  browser = await launchChromium()
  if (browser) demo = await startFakeDemo()
})

after(async () => {
  await browser?.close()
  await demo?.close()
})

/** A fresh page on `url`, 1280×800, that records uncaught errors, console errors and failed requests. */
async function openDashboard(url: string): Promise<{ page: Page; problems: string[] }> {
  assert.ok(browser)
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.setDefaultTimeout(UI_TIMEOUT_MS)
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    // Failed requests are reported below with their URL.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${message.text()}`)
    }
  })
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} from ${response.url()}`)
  })
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`))
  await page.goto(url)
  await page.locator('[data-testid="status"][data-status="live"]').waitFor()
  return { page, problems }
}

async function text(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).textContent())?.trim() ?? ''
}

/** Waits (bounded) until the element's text differs from `previous`, then returns it. */
async function changedText(page: Page, testId: string, previous: string): Promise<string> {
  let now = previous
  const changed = async () => {
    now = await text(page, testId)
    return now !== previous
  }
  await until(changed, UI_TIMEOUT_MS, {
    intervalMs: 100,
    message: `${testId} still shows ${previous} after ${UI_TIMEOUT_MS} ms`,
  })
  return now
}

describe('dashboard page in headless chromium (fake demo API)', () => {
  it('loads, shows live numbers that move between polls, and draws its charts with uPlot', async (t) => {
    if (!browser || !demo) return t.skip(CHROMIUM_MISSING)
    const { page, problems } = await openDashboard(demo.url)
    try {
      assert.equal(await page.title(), 'berth demo dashboard')
      const pollsBefore = demo.polls
      const qps1 = await text(page, 'qps')
      const uptime1 = await text(page, 'uptime')
      assert.match(qps1, /^\d[\d,.]*$/, 'qps shows a number once the first state arrived')
      await delay(2000)
      const qps2 = await changedText(page, 'qps', qps1)
      assert.notEqual(qps2, qps1)
      assert.match(qps2, /^\d[\d,.]*$/)
      assert.notEqual(await changedText(page, 'uptime', uptime1), uptime1)
      assert.ok(demo.polls >= pollsBefore + 2, `the page keeps polling (${demo.polls - pollsBefore} polls)`)

      // One uPlot per chart, each with a canvas, and each fed a point per poll.
      for (const id of ['chart-qps', 'chart-latency', 'chart-errors', 'chart-acquire']) {
        assert.equal(await page.locator(`#${id} .uplot canvas`).count(), 1, `${id} has a uPlot canvas`)
      }
      assert.equal(await page.locator('.uplot').count(), 4)

      // The tables follow the state: three backends, the pg pool with its connection ages, the channel pool.
      assert.equal(await page.locator('[data-testid="backends"] tr').count(), 3)
      assert.equal(await text(page, 'backend-a-state'), 'up')
      assert.equal(await page.locator('[data-testid="pg-pool-billing"] .ages span').count(), 6)
      assert.equal(await text(page, 'channel-pool-billing-state'), 'READY')
      assert.match(await text(page, 'latency-p99'), /ms$/)
      assert.match(await text(page, 'events'), /demo started/)
      assert.deepEqual(problems, [])
    } finally {
      await page.close()
    }
  })

  it('stops backend b with its Stop button, shows it down, and starts it again', async (t) => {
    if (!browser || !demo) return t.skip(CHROMIUM_MISSING)
    const { page, problems } = await openDashboard(demo.url)
    try {
      const state = page.getByTestId('backend-b-state')
      assert.equal(await state.textContent(), 'up')
      assert.equal(
        await page.getByTestId('backend-b-start').isDisabled(),
        true,
        'Start is offered only when down',
      )

      const postsBefore = demo.posts.length
      await page.getByTestId('backend-b-stop').click()
      await page.locator('[data-testid="backend-b-state"][data-state="down"]').waitFor()
      assert.equal(await state.textContent(), 'down')
      assert.deepEqual(
        demo.posts.slice(postsBefore).map((post) => post.path),
        ['/api/backends/b/stop'],
      )
      assert.equal(demo.backends.find((b) => b.id === 'b')?.up, false)
      assert.equal(await text(page, 'backend-b-health'), 'NOT_SERVING')
      assert.equal(await text(page, 'backend-a-state'), 'up', 'the other backends are untouched')
      assert.equal(await text(page, 'backends-up'), '2 / 3')
      assert.match(await text(page, 'action-message'), /backend b stopped/)
      await page.getByTestId('events').getByText('backend b stopped').waitFor()

      await page.getByTestId('backend-b-start').click()
      await page.locator('[data-testid="backend-b-state"][data-state="up"]').waitFor()
      assert.equal(demo.posts.at(-1)?.path, '/api/backends/b/start')
      assert.equal(await text(page, 'backends-up'), '3 / 3')
      assert.deepEqual(problems, [])
    } finally {
      await page.close()
    }
  })

  it('posts the terminate and saturate actions from their buttons and shows the answers', async (t) => {
    if (!browser || !demo) return t.skip(CHROMIUM_MISSING)
    const { page, problems } = await openDashboard(demo.url)
    try {
      const postsBefore = demo.posts.length
      await page.getByTestId('terminate-db').click()
      await page.getByTestId('action-message').getByText('terminated 6 connections').waitFor()
      await page.getByTestId('saturate-pool').click()
      await page.getByTestId('action-message').getByText('holding every connection').waitFor()
      assert.deepEqual(demo.posts.slice(postsBefore), [
        { path: '/api/db/terminate', body: {} },
        { path: '/api/pool/saturate', body: { ms: 3000 } },
      ])
      assert.equal(await page.getByTestId('action-message').getAttribute('data-ok'), 'true')
      assert.deepEqual(problems, [])
    } finally {
      await page.close()
    }
  })

  it('fails over from its button, shows the new primary, and shows the refusal of a second one', async (t) => {
    if (!browser || !demo) return t.skip(CHROMIUM_MISSING)
    const { page, problems } = await openDashboard(demo.url)
    try {
      assert.equal(await text(page, 'pg-host-127.0.0.1:5432-role'), 'primary')
      assert.equal(await text(page, 'pg-host-127.0.0.1:5433-state'), 'up')
      assert.match(await text(page, 'pg-cluster-summary'), /primary 127\.0\.0\.1:5432 · failovers 0/)
      await page.getByTestId('failover').click()
      await page.getByTestId('action-message').getByText('127.0.0.1:5433 promoted').waitFor()
      await page.getByTestId('pg-cluster-summary').getByText('failovers 1').waitFor()
      assert.equal(await text(page, 'pg-host-127.0.0.1:5433-role'), 'primary')
      assert.equal(await text(page, 'pg-host-127.0.0.1:5432-state'), 'down')
      await page.getByTestId('failover').click()
      await page.getByTestId('action-message').getByText('no standby left').waitFor()
      assert.equal(await page.getByTestId('action-message').getAttribute('data-ok'), 'false')
      assert.ok(
        problems.length === 1 && /^409 from .*\/api\/db\/failover$/.test(problems[0]!),
        problems.join('\n'),
      )
    } finally {
      await page.close()
    }
  })

  it('says when the API stops answering instead of showing stale numbers as live', async (t) => {
    if (!browser || !demo) return t.skip(CHROMIUM_MISSING)
    const { page, problems } = await openDashboard(demo.url)
    try {
      await page.route('**/api/state', (route) => route.fulfill({ status: 503, body: 'down' }))
      await page.locator('[data-testid="status"][data-status="error"]').waitFor()
      assert.match(await text(page, 'status'), /503/)
      await page.unroute('**/api/state')
      await page.locator('[data-testid="status"][data-status="live"]').waitFor()
      assert.ok(
        problems.length > 0 && problems.every((problem) => /^503 from .*\/api\/state$/.test(problem)),
        problems.join('\n'),
      )
    } finally {
      await page.close()
    }
  })
})

describe('dashboard page in headless chromium (the real demo)', () => {
  const stop = new AbortController()
  let url: string | undefined
  let running: Promise<void> | undefined
  const output: string[] = []

  before(async () => {
    if (!browser) return
    const databaseUrl = await createDatabase('dashboard')
    const out = new Writable({
      write(chunk, _encoding, callback) {
        output.push(String(chunk))
        callback()
      },
    })
    url = await new Promise<string>((resolve, reject) => {
      running = runDemo({
        dashboard: true,
        port: 0,
        databaseUrl,
        signal: stop.signal,
        out,
        ratePerSecond: 50,
        onListening: resolve,
      })
      running.then(() => reject(new Error(`the demo stopped before listening:\n${output.join('')}`)), reject)
      setTimeout(
        () => reject(new Error(`the demo did not listen within 90 s:\n${output.join('')}`)),
        90_000,
      ).unref()
    })
  })

  after(async () => {
    stop.abort()
    await running
  })

  async function apiState(): Promise<DemoState> {
    assert.ok(url)
    const response = await fetch(new URL('api/state', url))
    assert.equal(response.status, 200)
    return (await response.json()) as DemoState
  }

  it('shows the running demo: calls counting up, charts, three backends and their pools', async (t) => {
    if (!browser || !url) return t.skip(CHROMIUM_MISSING)
    const { page, problems } = await openDashboard(url)
    try {
      assert.equal(await page.title(), 'berth demo dashboard')
      const calls1 = await text(page, 'calls')
      await delay(2000)
      const calls2 = await changedText(page, 'calls', calls1)
      assert.ok(
        Number(calls2.replaceAll(',', '')) > Number(calls1.replaceAll(',', '')),
        `calls grow: ${calls1} then ${calls2}`,
      )
      assert.match(await text(page, 'qps'), /^\d[\d,.]*$/)
      assert.equal(await page.locator('.uplot canvas').count(), 4)
      const state = await apiState()
      assert.equal(await page.locator('[data-testid="backends"] tr').count(), state.backends.length)
      for (const backend of state.backends)
        assert.equal(await text(page, `backend-${backend.id}-state`), 'up')
      for (const pool of state.pgPools) await page.getByTestId(`pg-pool-${pool.name}`).waitFor()
      for (const pool of state.channelPools)
        await page.getByTestId(`channel-pool-${pool.name}-state`).waitFor()
      assert.deepEqual(problems, [])
    } finally {
      await page.close()
    }
  })

  it('stops the real backend b from its Stop button and shows it down, then starts it again', async (t) => {
    if (!browser || !url) return t.skip(CHROMIUM_MISSING)
    const { page, problems } = await openDashboard(url)
    try {
      assert.equal(await text(page, 'backend-b-state'), 'up')
      await page.getByTestId('backend-b-stop').click()
      await page.locator('[data-testid="backend-b-state"][data-state="down"]').waitFor()
      assert.equal((await apiState()).backends.find((b) => b.id === 'b')?.up, false)
      assert.equal(await text(page, 'backend-a-state'), 'up')
      assert.match(await text(page, 'action-message'), /backend b .*stopped/)

      await page.getByTestId('backend-b-start').click()
      await page.locator('[data-testid="backend-b-state"][data-state="up"]').waitFor()
      assert.equal((await apiState()).backends.find((b) => b.id === 'b')?.up, true)
      assert.deepEqual(problems, [])
    } finally {
      await page.close()
    }
  })

  it('writes docs/dashboard.png when BERTH_SCREENSHOT=1', async (t) => {
    if (process.env.BERTH_SCREENSHOT !== '1')
      return t.skip('set BERTH_SCREENSHOT=1 to write docs/dashboard.png')
    if (!browser || !url) return t.skip(CHROMIUM_MISSING)
    const started = Date.now()
    const { page } = await openDashboard(url)
    try {
      // Some history for the charts, then one thing broken so the picture shows it.
      await delay(10_000)
      await page.getByTestId('backend-b-stop').click()
      await page.locator('[data-testid="backend-b-state"][data-state="down"]').waitFor()
      await delay(5000)
      await page.screenshot({ path: SCREENSHOT })
      assert.ok((await stat(SCREENSHOT)).mtimeMs >= started, 'docs/dashboard.png was just written')
      await page.getByTestId('backend-b-start').click()
      await page.locator('[data-testid="backend-b-state"][data-state="up"]').waitFor()
    } finally {
      await page.close()
    }
  })
})
