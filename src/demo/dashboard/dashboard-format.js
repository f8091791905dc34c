/** Formatting and DOM helpers of the demo dashboard (see dashboard.js). */

export const $ = (id) => document.getElementById(id)

// ---- formatting ----

export function formatNumber(value, digits = 0) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–'
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function formatMs(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–'
  if (ms === 0) return '0 ms'
  if (ms < 0.01) return '<0.01 ms'
  if (ms < 10) return `${ms.toFixed(2)} ms`
  if (ms < 1000) return `${ms.toFixed(0)} ms`
  return formatDuration(ms)
}

/** 950 ms → '0.9 s', 75 s → '1 min 15 s', 2 h 3 min → '2 h 3 min'. */
export function formatDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–'
  const s = ms / 1000
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

export function formatClock(time) {
  return new Date(time).toLocaleTimeString('en-GB', { hour12: false })
}

export function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text
}

export function el(tag, attributes, text) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes ?? {})) element.setAttribute(name, value)
  if (text !== undefined) element.textContent = text
  return element
}

/** A CSS class for a connectivity or health state, so the stylesheet can color it. */
export function stateClass(state) {
  switch (state) {
    case 'READY':
    case 'SERVING':
    case 'up':
      return 'state good'
    case 'CONNECTING':
    case 'IDLE':
    case 'UNKNOWN':
    case 'unknown':
    case 'SERVICE_UNKNOWN':
      return 'state warn'
    default:
      return 'state bad'
  }
}
