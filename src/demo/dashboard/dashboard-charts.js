/**
 * The dashboard's uPlot charts: qps (all calls, reads, writes), call latency p50/p99, errors per
 * second of reads and of writes (from the cumulative counts) and the worst pool's acquire wait p50/p99, over the last few minutes of polls. uPlot comes
 * from /static/uplot.iife.min.js as the global `uPlot`.
 */
import { $, formatClock } from './dashboard-format.js'

/** History kept for the charts, in points (one a poll): five minutes. */
const HISTORY_POINTS = 300
/** Plot height, CSS px. */
const CHART_HEIGHT = 170

const COLORS = {
  blue: '#4e9cff',
  orange: '#ffa94d',
  red: '#ff6b6b',
  green: '#51cf66',
  axis: '#9aa4b2',
  grid: '#2a3140',
}

const history = {
  time: [],
  qps: [],
  readQps: [],
  writeQps: [],
  latencyP50: [],
  latencyP99: [],
  readErrorsPerS: [],
  writeErrorsPerS: [],
  acquireP50: [],
  acquireP99: [],
}

const charts = []

function chartWidth(container) {
  return Math.max(200, Math.floor(container.clientWidth) - 4)
}

function makeChart(containerId, series, data) {
  const container = $(containerId)
  const axis = {
    stroke: COLORS.axis,
    grid: { stroke: COLORS.grid, width: 1 },
    ticks: { stroke: COLORS.grid, width: 1 },
  }
  const options = {
    width: chartWidth(container),
    height: CHART_HEIGHT,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.1, min)] } },
    // The legend only names the series: the cards above show the current values.
    legend: { live: false },
    axes: [
      { ...axis, values: (_u, splits) => splits.map((s) => formatClock(s * 1000)) },
      { ...axis, size: 48 },
    ],
    series: [
      {},
      ...series.map(([label, stroke]) => ({
        label,
        stroke,
        width: 2,
        points: { show: false },
      })),
    ],
  }
  const chart = new globalThis.uPlot(options, data(), container)
  charts.push({ chart, container, data })
}

/** Creates the four charts; false when uPlot did not load. */
export function createCharts() {
  if (typeof globalThis.uPlot !== 'function') return false
  makeChart(
    'chart-qps',
    [
      ['all', COLORS.blue],
      ['reads', COLORS.green],
      ['writes', COLORS.orange],
    ],
    () => [history.time, history.qps, history.readQps, history.writeQps],
  )
  makeChart(
    'chart-latency',
    [
      ['p50', COLORS.blue],
      ['p99', COLORS.orange],
    ],
    () => [history.time, history.latencyP50, history.latencyP99],
  )
  makeChart(
    'chart-errors',
    [
      ['reads', COLORS.green],
      ['writes', COLORS.red],
    ],
    () => [history.time, history.readErrorsPerS, history.writeErrorsPerS],
  )
  makeChart(
    'chart-acquire',
    [
      ['p50', COLORS.green],
      ['p99', COLORS.orange],
    ],
    () => [history.time, history.acquireP50, history.acquireP99],
  )
  window.addEventListener('resize', () => {
    for (const { chart, container } of charts)
      chart.setSize({ width: chartWidth(container), height: CHART_HEIGHT })
  })
  return true
}

let previous

/** Adds one DemoState to the history and redraws; returns the point it added. */
export function record(state) {
  const rate = (read) => {
    if (!previous || state.time <= previous.time) return 0
    // A counter that went down means the demo restarted: no rate for that step.
    const delta = read(state) - read(previous)
    return delta > 0 ? delta / ((state.time - previous.time) / 1000) : 0
  }
  const readErrorsPerS = rate((s) => s.reads.errors)
  const writeErrorsPerS = rate((s) => s.writes.errors)
  previous = state
  const worst = (key) => state.pgPools.reduce((max, pool) => Math.max(max, pool[key]), 0)
  const point = {
    time: state.time / 1000,
    qps: state.qps,
    readQps: state.reads.qps,
    writeQps: state.writes.qps,
    latencyP50: state.latencyP50Ms,
    latencyP99: state.latencyP99Ms,
    readErrorsPerS,
    writeErrorsPerS,
    acquireP50: worst('acquireWaitP50Ms'),
    acquireP99: worst('acquireWaitP99Ms'),
  }
  for (const [key, values] of Object.entries(history)) {
    values.push(point[key])
    if (values.length > HISTORY_POINTS) values.shift()
  }
  for (const { chart, data } of charts) chart.setData(data())
  return point
}
