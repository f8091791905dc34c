/**
 * The dashboard's tables: backends (with their Stop/Start buttons), channel pools, the Postgres
 * cluster's servers (role, up/down, lag, in rotation, reads), Postgres pools
 * (with a bar per open connection's age) and the event list. Rows are kept per key, so a button under
 * the pointer is not replaced while someone clicks it; every value is set as text, never as HTML.
 */
import {
  $,
  el,
  formatClock,
  formatDuration,
  formatMs,
  formatNumber,
  setText,
  stateClass,
} from './dashboard-format.js'

/**
 * Makes `tbody` hold one row per item, in order: rows are found by `key(item)`, created once with
 * `create(item)` and refreshed with `update(row, item)`; rows whose key is gone are removed.
 */
function syncRows(tbody, items, key, create, update) {
  const existing = new Map()
  for (const row of tbody.children) existing.set(row.dataset.key, row)
  let before = tbody.firstElementChild
  for (const item of items) {
    const id = String(key(item))
    let row = existing.get(id)
    if (row) existing.delete(id)
    else {
      row = create(item)
      row.dataset.key = id
    }
    update(row, item)
    if (row !== before) tbody.insertBefore(row, before)
    else before = before.nextElementSibling
  }
  for (const row of existing.values()) row.remove()
}

function cells(row, count) {
  for (let i = 0; i < count; i++) row.append(el('td'))
  return row.children
}

function createBackendRow(backend, onAction) {
  const id = backend.id
  const row = el('tr', { 'data-testid': `backend-${id}` })
  const [, , state, health, , actions] = cells(row, 6)
  row.children[4].className = 'num'
  state.append(el('span', { 'data-testid': `backend-${id}-state` }))
  health.append(el('span', { 'data-testid': `backend-${id}-health` }))
  const stop = el('button', { type: 'button', 'data-testid': `backend-${id}-stop`, class: 'danger' }, 'Stop')
  const start = el('button', { type: 'button', 'data-testid': `backend-${id}-start` }, 'Start')
  stop.addEventListener('click', () => onAction(stop, `/api/backends/${encodeURIComponent(id)}/stop`))
  start.addEventListener('click', () => onAction(start, `/api/backends/${encodeURIComponent(id)}/start`))
  actions.append(stop, start)
  return row
}

function updateBackendRow(row, backend) {
  const [id, address, state, health, calls, actions] = row.children
  setText(id, backend.id)
  setText(address, backend.address)
  const upDown = backend.up ? 'up' : 'down'
  const stateSpan = state.firstElementChild
  setText(stateSpan, upDown)
  stateSpan.dataset.state = upDown
  stateSpan.className = stateClass(upDown)
  const healthSpan = health.firstElementChild
  setText(healthSpan, backend.health)
  healthSpan.className = stateClass(backend.health)
  setText(calls, formatNumber(backend.calls))
  const [stop, start] = actions.children
  // Only the action that makes sense is offered; a request in flight keeps its button disabled.
  if (!stop.classList.contains('busy')) stop.disabled = !backend.up
  if (!start.classList.contains('busy')) start.disabled = backend.up
}

function createChannelPoolRow() {
  const row = el('tr')
  cells(row, 5)
  row.children[1].append(el('span'))
  for (const i of [2, 3, 4]) row.children[i].className = 'num'
  return row
}

function updateChannelPoolRow(row, pool) {
  const [name, state, channels, inFlight, reconnects] = row.children
  row.dataset.testid = `channel-pool-${pool.name}`
  setText(name, pool.name)
  const stateSpan = state.firstElementChild
  setText(stateSpan, pool.state)
  stateSpan.className = stateClass(pool.state)
  stateSpan.dataset.testid = `channel-pool-${pool.name}-state`
  setText(channels, formatNumber(pool.channels))
  setText(inFlight, formatNumber(pool.callsInFlight))
  setText(reconnects, formatNumber(pool.reconnects))
}

function createClusterHostRow(host) {
  const row = el('tr', { 'data-testid': `pg-host-${host.host}` })
  cells(row, 7)
  row.children[1].append(el('span', { 'data-testid': `pg-host-${host.host}-role` }))
  row.children[2].append(el('span', { 'data-testid': `pg-host-${host.host}-state` }))
  for (const i of [3, 5, 6]) row.children[i].className = 'num'
  return row
}

function updateClusterHostRow(row, host, primary) {
  const [name, role, state, lag, rotation, reads, promotions] = row.children
  setText(name, host.host)
  const roleSpan = role.firstElementChild
  setText(roleSpan, host.role)
  roleSpan.className = host.host === primary ? 'state good' : 'muted'
  const stateSpan = state.firstElementChild
  setText(stateSpan, host.state)
  stateSpan.dataset.state = host.state
  stateSpan.className = stateClass(host.state)
  setText(lag, host.lagMs === null ? '–' : formatMs(host.lagMs))
  setText(rotation, host.inRotation ? 'yes' : 'no')
  setText(reads, formatNumber(host.reads))
  setText(promotions, formatNumber(host.promotions))
}

function renderCluster(cluster) {
  setText(
    $('pg-cluster-summary'),
    [
      `primary ${cluster.primary ?? 'none (failing over)'}`,
      `failovers ${formatNumber(cluster.failovers)}`,
      cluster.lastFailoverMs === null ? undefined : `last took ${formatMs(cluster.lastFailoverMs)}`,
      `reads on replicas ${formatNumber(cluster.readsOnReplicas)}, on the primary ${formatNumber(cluster.readsOnPrimary)}`,
    ]
      .filter((part) => part !== undefined)
      .join(' · '),
  )
  syncRows(
    $('pg-cluster'),
    cluster.hosts,
    (h) => h.host,
    createClusterHostRow,
    (row, host) => updateClusterHostRow(row, host, cluster.primary),
  )
}

function createPgPoolRow() {
  const row = el('tr')
  cells(row, 8)
  for (let i = 1; i <= 6; i++) row.children[i].className = 'num'
  row.children[7].append(el('div', { class: 'ages' }), el('div', { class: 'sub' }))
  return row
}

function updatePgPoolRow(row, pool) {
  const [name, total, idle, acquired, max, waiting, wait, ages] = row.children
  row.dataset.testid = `pg-pool-${pool.name}`
  setText(name, pool.name)
  setText(total, formatNumber(pool.totalConns))
  setText(idle, formatNumber(pool.idleConns))
  setText(acquired, formatNumber(pool.acquiredConns))
  setText(max, formatNumber(pool.maxConns))
  setText(waiting, formatNumber(pool.waiting))
  waiting.classList.toggle('alert', pool.waiting > 0)
  setText(wait, `${formatMs(pool.acquireWaitP50Ms)} / ${formatMs(pool.acquireWaitP99Ms)}`)
  renderAges(ages.children[0], ages.children[1], pool.connectionAgesMs)
}

/** One bar per open connection, height relative to the oldest, so churn shows as a row of short bars. */
function renderAges(bars, summary, agesMs) {
  const oldest = agesMs.length > 0 ? Math.max(...agesMs) : 0
  while (bars.children.length > agesMs.length) bars.lastElementChild.remove()
  while (bars.children.length < agesMs.length) bars.append(el('span'))
  agesMs.forEach((age, i) => {
    const bar = bars.children[i]
    bar.style.height = `${Math.max(8, oldest > 0 ? (age / oldest) * 100 : 0)}%`
    bar.title = formatDuration(age)
  })
  setText(
    summary,
    agesMs.length === 0
      ? 'no connections'
      : `oldest ${formatDuration(oldest)}, newest ${formatDuration(Math.min(...agesMs))}`,
  )
}

function renderEvents(events) {
  const list = $('events')
  const newestFirst = [...events].reverse()
  const text = newestFirst.map((event) => `${event.time} ${event.message}`).join('\n')
  if (list.dataset.rendered === text) return
  list.dataset.rendered = text
  list.replaceChildren(
    ...newestFirst.map((event) => {
      const item = el('li')
      item.append(el('time', {}, formatClock(event.time)), document.createTextNode(` ${event.message}`))
      return item
    }),
  )
  if (events.length === 0) list.append(el('li', { class: 'muted' }, 'nothing yet'))
}

/**
 * Renders the tables of one DemoState. `onAction(button, path)` runs when a backend's Stop or Start
 * button is clicked.
 */
export function renderTables(state, onAction) {
  syncRows(
    $('backends'),
    state.backends,
    (b) => b.id,
    (b) => createBackendRow(b, onAction),
    updateBackendRow,
  )
  syncRows($('channel-pools'), state.channelPools, (p) => p.name, createChannelPoolRow, updateChannelPoolRow)
  renderCluster(state.cluster)
  syncRows($('pg-pools'), state.pgPools, (p) => p.name, createPgPoolRow, updatePgPoolRow)
  renderEvents(state.events)
}
