/**
 * `berth demo`: the seed's billing service on berth, with a dashboard to break it and watch it heal.
 * The CLI (`berth demo`) calls {@link runDemo}.
 */
export type { DemoBackend, DemoChannelPool, DemoPgPool, DemoState } from './api-types.js'
export { BACKEND_IDS, type RunDemoOptions, runDemo } from './run-demo.js'
export { DemoActionError, type DemoActionErrorCode } from './errors.js'
