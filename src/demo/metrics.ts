/**
 * The demo's /metrics: berth/metrics' `PrometheusExporter` for the pools (`berth_pool_*`,
 * `berth_pg_*`, `berth_grpc_*`), plus the demo's own families (`berth_demo_*`: the load's calls
 * and errors, reads and writes apart, each backend's calls and whether it runs, the cluster's
 * failovers and which server is the primary) in the exporter's registry. Everything is
 * read from snapshots at scrape time.
 */
import type { ChannelPool } from '../grpc/channel-pool.js'
import type { PgPoolSource } from '../metrics/metric-sources.js'
import { loadPromClient } from '../metrics/prom-client-loader.js'
import { PrometheusExporter } from '../metrics/prometheus-exporter.js'
import type { PgCluster } from '../pg/pg-cluster.js'
import type { BillingBackend } from './billing-server.js'
import type { LoadSnapshot } from './load.js'

/** What /metrics reads. */
export interface DemoMetricsSources {
  /** Each server's pool of the demo's clusters. */
  readonly pgPools: readonly PgPoolSource[]
  readonly channelPools: readonly ChannelPool[]
  readonly backends: readonly BillingBackend[]
  readonly load: () => LoadSnapshot
  /** The backends' cluster. */
  readonly cluster: PgCluster
}

export interface DemoMetrics {
  /** The Content-Type of {@link DemoMetrics.render}'s text. */
  readonly contentType: string
  /** The Prometheus text exposition of every family. */
  render(): Promise<string>
}

type Labels = Record<string, string | number>

/** @throws MissingPeerDependencyError without prom-client */
export function createDemoMetrics(sources: DemoMetricsSources): DemoMetrics {
  const exporter = new PrometheusExporter()
  for (const pool of sources.pgPools) exporter.addPgPool(pool)
  for (const pool of sources.channelPools) exporter.addChannelPool(pool)
  const registry = exporter.registry
  const prom = loadPromClient()
  const gauge = (name: string, help: string, labelNames: string[], read: () => [Labels, number][]) =>
    new prom.Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset()
        for (const [labels, value] of read()) this.set(labels, value)
      },
    })
  // Counters read from running totals: reset and set to the total at each scrape.
  const counter = (name: string, help: string, labelNames: string[], read: () => [Labels, number][]) =>
    new prom.Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset()
        for (const [labels, value] of read()) this.inc(labels, value)
      },
    })

  counter('berth_demo_calls_total', 'Client calls finished, failed ones included.', [], () => [
    [{}, sources.load().calls],
  ])
  counter('berth_demo_call_errors_total', 'Client calls failed, by gRPC status.', ['status'], () =>
    Object.entries(sources.load().errorsByStatus).map(([status, n]) => [{ status }, n]),
  )
  counter(
    'berth_demo_calls_by_kind_total',
    'Client calls finished, by kind (read: FindInvoice, write: Transfer) and outcome.',
    ['kind', 'outcome'],
    () => {
      const { reads, writes } = sources.load()
      return [
        [{ kind: 'read', outcome: 'ok' }, reads.calls - reads.errors],
        [{ kind: 'read', outcome: 'error' }, reads.errors],
        [{ kind: 'write', outcome: 'ok' }, writes.calls - writes.errors],
        [{ kind: 'write', outcome: 'error' }, writes.errors],
      ]
    },
  )
  counter('berth_demo_pg_failovers_total', "Times the backends' cluster moved its primary.", [], () => [
    [{}, sources.cluster.stats().failovers],
  ])
  gauge('berth_demo_pg_primary', '1 for the server the cluster writes to.', ['host'], () =>
    sources.cluster.stats().hosts.map((h) => [{ host: h.host }, h.host === sources.cluster.primary ? 1 : 0]),
  )
  counter('berth_demo_backend_calls_total', 'Calls answered by each billing backend.', ['backend'], () =>
    sources.backends.map((b) => [{ backend: b.id }, b.calls]),
  )
  gauge('berth_demo_backend_up', '1 while the demo runs the backend.', ['backend'], () =>
    sources.backends.map((b) => [{ backend: b.id }, b.up ? 1 : 0]),
  )

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
  }
}
