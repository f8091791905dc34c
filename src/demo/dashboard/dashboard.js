/**
 * The demo dashboard's entry point: polls `GET /api/state` (a DemoState, see src/demo/api-types.ts)
 * about once a second, feeds the charts (dashboard-charts.js), the cards and the tables
 * (dashboard-tables.js), and wires the break-things buttons to the action routes. Plain browser ES
 * modules, no build step; every file is served from /static/.
 */
import { createCharts, record } from './dashboard-charts.js'
import { $, formatClock, formatDuration, formatMs, formatNumber, setText } from './dashboard-format.js'
import { renderTables } from './dashboard-tables.js'

/** ms between the end of one poll and the start of the next. */
const POLL_INTERVAL_MS = 1000
/** A poll that takes longer than this counts as failed, ms. */
const POLL_TIMEOUT_MS = 5000

function render(state, point) {
  setText($('uptime'), formatDuration(state.uptimeS * 1000))
  setText($('qps'), formatNumber(state.qps, state.qps < 100 ? 1 : 0))
  setText($('calls'), formatNumber(state.calls))
  setText($('errors'), formatNumber(state.errors))
  setText(
    $('errors-by-status'),
    Object.entries(state.errorsByStatus)
      .sort((a, b) => b[1] - a[1])
      .map(([status, count]) => `${status} ${formatNumber(count)}`)
      .join(' · '),
  )
  setText($('latency-p50'), formatMs(state.latencyP50Ms))
  setText($('latency-p99'), formatMs(state.latencyP99Ms))
  setText($('acquire-p50'), formatMs(point.acquireP50))
  setText($('acquire-p99'), formatMs(point.acquireP99))
  setText($('read-qps'), formatNumber(state.reads.qps, 1))
  setText($('write-qps'), formatNumber(state.writes.qps, 1))
  setText(
    $('kind-errors'),
    `reads ${formatNumber(state.reads.errors)} · writes ${formatNumber(state.writes.errors)}`,
  )
  const failover = $('failover')
  failover.title = state.cluster.canFailOver
    ? 'Stop the embedded primary and promote its standby (once)'
    : 'No standby to promote (failed over already, or the demo runs on DATABASE_URL): the button says why'
  const up = state.backends.filter((backend) => backend.up).length
  setText($('backends-up'), `${up} / ${state.backends.length}`)
  $('backends-up').classList.toggle('alert', up < state.backends.length)
  renderTables(state, act)
}

// ---- polling and actions ----

function setStatus(status, text) {
  const element = $('status')
  element.dataset.status = status
  setText(element, text)
}

let pollTimer
let polling = false
/** Set when a poll is asked for while one is in flight, whose answer may predate an action. */
let pollAgain = false

async function poll() {
  clearTimeout(pollTimer)
  if (polling) {
    pollAgain = true
    return
  }
  polling = true
  pollAgain = false
  try {
    const response = await fetch('/api/state', {
      cache: 'no-store',
      signal: AbortSignal.timeout(POLL_TIMEOUT_MS),
    })
    if (!response.ok) throw new Error(`GET /api/state answered ${response.status}`)
    const state = await response.json()
    render(state, record(state))
    setStatus('live', `live · ${formatClock(state.time)}`)
  } catch (error) {
    setStatus('error', `no data: ${error instanceof Error ? error.message : String(error)}`)
  } finally {
    polling = false
    pollTimer = setTimeout(poll, pollAgain ? 0 : POLL_INTERVAL_MS)
  }
}

function showMessage(ok, message) {
  const element = $('action-message')
  element.dataset.ok = String(ok)
  setText(element, message)
}

/** POSTs one action route, shows its answer, and polls at once so the effect shows without a wait. */
async function act(button, path, body) {
  button.disabled = true
  button.classList.add('busy')
  try {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    })
    let answer
    try {
      answer = await response.json()
    } catch {
      answer = { ok: response.ok, message: `${path} answered ${response.status}` }
    }
    showMessage(Boolean(answer.ok) && response.ok, answer.message ?? `${path}: ${response.status}`)
  } catch (error) {
    showMessage(false, `${path} failed: ${error instanceof Error ? error.message : String(error)}`)
  } finally {
    button.classList.remove('busy')
    button.disabled = false
    poll()
  }
}

function main() {
  if (!createCharts()) showMessage(false, 'uPlot did not load: no charts')
  const terminate = $('terminate-db')
  terminate.addEventListener('click', () => act(terminate, '/api/db/terminate'))
  const saturate = $('saturate-pool')
  saturate.addEventListener('click', () => act(saturate, '/api/pool/saturate', { ms: 3000 }))
  const failover = $('failover')
  failover.addEventListener('click', () => act(failover, '/api/db/failover'))
  poll()
}

main()
