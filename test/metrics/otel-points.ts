/** An OpenTelemetry pull reader and the points of one collection, for asserting on instruments. */
import assert from 'node:assert/strict'
import type { Attributes } from '@opentelemetry/api'
import { DataPointType, MetricReader } from '@opentelemetry/sdk-metrics'

/** A pull reader: the test decides when to collect. */
export class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface Point {
  readonly name: string
  readonly unit: string
  readonly type: DataPointType
  readonly monotonic: boolean | undefined
  readonly attributes: Attributes
  readonly value: number
}

/** Every sum and gauge point of one collection; fails on a collection error. */
export async function collectPoints(reader: MetricReader): Promise<Point[]> {
  const { resourceMetrics, errors } = await reader.collect()
  assert.deepEqual(errors, [])
  const points: Point[] = []
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.dataPointType !== DataPointType.SUM && metric.dataPointType !== DataPointType.GAUGE) continue
      const monotonic = metric.dataPointType === DataPointType.SUM ? metric.isMonotonic : undefined
      for (const dp of metric.dataPoints) {
        points.push({
          name: metric.descriptor.name,
          unit: metric.descriptor.unit,
          type: metric.dataPointType,
          monotonic,
          attributes: dp.attributes,
          value: dp.value,
        })
      }
    }
  }
  return points
}

/** The points named `name` whose attributes include `attributes`. */
export function pointsOf(points: readonly Point[], name: string, attributes: Attributes = {}): Point[] {
  return points.filter(
    (p) => p.name === name && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
  )
}

/** The one point named `name` with `attributes`; fails when there is none or several. */
export function one(points: readonly Point[], name: string, attributes: Attributes = {}): Point {
  const found = pointsOf(points, name, attributes)
  assert.equal(found.length, 1, `one ${name} ${JSON.stringify(attributes)}, found ${found.length}`)
  return found[0]!
}
