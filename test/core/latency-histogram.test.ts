import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidOptionError, LatencyHistogram } from '../../src/core/index.js'
import { seededRandom } from '../support/random.js'

/** The exact percentile of recorded durations (nearest rank), rounded to the histogram's 1 µs grid. */
function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  const ms = sorted[rank - 1]!
  return ms < 0.0005 ? 0 : Math.max(1, Math.round(ms * 1000)) / 1000
}

/**
 * Within the histogram's 3 significant digits (plus the 1 µs grid). Percentiles report the highest
 * value of their bucket, as HdrHistogram does: 7 ms reads 7.003 ms.
 */
function assertClose(actual: number, expected: number, what: string): void {
  const tolerance = Math.max(0.001, expected * 0.002)
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} ms, exact ${expected} ms`)
}

function check(h: LatencyHistogram, values: number[]): void {
  const s = h.summary()
  const sorted = values.map((v) => (v < 0 ? 0 : v)).sort((a, b) => a - b)
  assert.equal(s.count, values.length)
  assert.equal(
    s.max,
    values.reduce((m, v) => (v > m ? v : m), 0),
  )
  const sum = values.reduce((a, v) => a + (v < 0.0005 ? 0 : v), 0)
  assert.ok(Math.abs(s.mean - sum / values.length) < 1e-9 * Math.max(1, s.mean), `mean ${s.mean}`)
  for (const p of [50, 90, 99] as const) assertClose(s[`p${p}`], exactPercentile(sorted, p), `p${p}`)
}

/** Records a seeded mix into `h`: runs of equal durations (a coarse clock), zeros, a long tail. */
function recordMix(h: LatencyHistogram, seed: number): number[] {
  const random = seededRandom(seed)
  const values: number[] = []
  for (let i = 0; i < 20_000; i++) {
    const kind = random()
    const v = kind < 0.3 ? 0 : kind < 0.7 ? Math.floor(random() * 4) * 0.25 + 0.25 : random() ** 4 * 5000
    const repeat = 1 + Math.floor(random() * 40)
    for (let r = 0; r < repeat; r++) {
      h.record(v)
      values.push(v)
    }
  }
  return values
}

describe('LatencyHistogram', () => {
  it('matches exact percentiles for a seeded mix of zeros, runs of equal values and spread values', () => {
    const h = new LatencyHistogram()
    const values = recordMix(h, 0x5eed)
    check(h, values)
  })

  it('a run still open when summary() is read is counted, and a run can continue after it', () => {
    const h = new LatencyHistogram()
    for (let i = 0; i < 10; i++) h.record(2)
    assertClose(h.summary().p99, 2, 'p99')
    for (let i = 0; i < 90; i++) h.record(2)
    for (let i = 0; i < 100; i++) h.record(7)
    const s = h.summary()
    assert.equal(s.count, 200)
    assertClose(s.p50, 2, 'p50')
    assertClose(s.p90, 7, 'p90')
    check(h, [...Array(100).fill(2), ...Array(100).fill(7)])
  })

  it('counts negative durations (a clock step) and sub-µs ones as zero', () => {
    const h = new LatencyHistogram()
    h.record(-3)
    h.record(0.0001)
    h.record(10)
    const s = h.summary()
    assert.equal(s.count, 3)
    assertClose(s.p50, 0, 'p50')
    assertClose(s.p99, 10, 'p99')
    assert.equal(s.max, 10)
  })

  it('records sub-millisecond durations at 1 µs and very long ones without overflow', () => {
    const h = new LatencyHistogram()
    h.record(0.0008) // below 1 µs but not zero: the 1 µs floor
    h.record(0.0123)
    h.record(3.6e9) // six weeks
    const s = h.summary()
    assertClose(s.p50, 0.012, 'p50')
    assertClose(s.p99, 3.6e9, 'p99')
  })

  it('merged() holds every duration of its parts, exactly as one histogram fed them all', () => {
    const random = seededRandom(7)
    const parts = [new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram()]
    const whole = new LatencyHistogram()
    for (let i = 0; i < 3000; i++) {
      const ms = i % 5 === 0 ? 0 : i % 7 === 0 ? 12.5 : random() * 200
      parts[i % 3]!.record(ms)
      whole.record(ms)
    }
    const merged = LatencyHistogram.merged(parts).summary()
    const expected = whole.summary()
    assert.equal(merged.count, expected.count)
    assert.equal(merged.max, expected.max)
    assert.ok(Math.abs(merged.mean - expected.mean) < 1e-9)
    for (const p of ['p50', 'p90', 'p99'] as const) assert.equal(merged[p], expected[p], p)
    assert.equal(parts[0]!.summary().count, 1000, 'the parts are left as they were')
    assert.equal(LatencyHistogram.merged([]).summary().count, 0)
  })

  it('reset() forgets everything, including an open run', () => {
    const h = new LatencyHistogram()
    for (let i = 0; i < 5; i++) h.record(4)
    h.reset()
    assert.deepEqual({ ...h.summary() }, { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 })
    h.record(4)
    h.record(1)
    const s = h.summary()
    assert.equal(s.count, 2)
    assertClose(s.p99, 4, 'p99')
    assertClose(s.p50, 1, 'p50')
  })

  it('rejects NaN, Infinity and non-numbers with a typed error naming the argument, recording nothing', () => {
    const h = new LatencyHistogram()
    h.record(5)
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '5' as unknown as number,
      undefined as unknown as number,
    ]) {
      assert.throws(
        () => h.record(bad),
        (err: unknown) => err instanceof InvalidOptionError && /ms/.test(String(err)),
      )
    }
    assert.equal(h.summary().count, 1)
  })

  it('buckets() counts exactly the durations at or below each bound: zeros, open runs, µs and 0.1% steps', () => {
    const h = new LatencyHistogram()
    // None of the tail lands within 0.1% above a bound but by chance; the check allows for it.
    const values = recordMix(h, 0xb0c5)
    const boundsMs = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 2500, 10_000]
    const b = h.buckets(boundsMs)
    assert.ok(Object.isFrozen(b) && Object.isFrozen(b.counts))
    assert.deepEqual(b.boundsMs, boundsMs)
    assert.equal(b.count, values.length)
    const sum = values.reduce((a, v) => a + (v < 0.0005 ? 0 : v), 0)
    assert.ok(Math.abs(b.sumMs - sum) < 1e-6 * sum)
    boundsMs.forEach((bound, i) => {
      const exact = values.filter((v) => v <= bound).length
      // A tail value within the bound's HDR bucket (0.1% above it at most) may count in it.
      const near = values.filter((v) => v > bound && v <= bound * 1.001).length
      const got = b.counts[i]!
      assert.ok(got >= exact && got <= exact + near, `≤ ${bound} ms: ${got}, exact ${exact} (+${near})`)
    })
    assert.equal(b.counts.at(-1), values.length, 'every value is below the last bound')
  })

  it('a summary reads buckets at call time, consistent in itself; bounds are validated', () => {
    const h = new LatencyHistogram()
    const empty = h.summary()
    assert.deepEqual(Object.keys(empty).sort(), ['count', 'max', 'mean', 'p50', 'p90', 'p99'])
    assert.deepEqual(empty.buckets([1]).counts, [0])
    for (let i = 0; i < 5; i++) h.record(0)
    for (let i = 0; i < 5; i++) h.record(3) // an open run
    const s = h.summary()
    assert.equal(JSON.stringify(s).includes('buckets'), false)
    h.record(20)
    assert.equal(s.count, 10, 'the summary is frozen')
    const b = s.buckets([0, 2.999, 3, 19.99, 20])
    assert.deepEqual(b.counts, [5, 5, 10, 10, 11])
    assert.equal(b.count, 11, 'counts at call time')
    assert.equal(b.sumMs, 35)
    assert.deepEqual(empty.buckets([1, 100]).counts, [5, 11], 'the empty summary reads the same histogram')
    for (const bad of [[], [2, 1], [1, 1], [-1], [Number.NaN], [Number.POSITIVE_INFINITY], 'x']) {
      assert.throws(
        () => h.buckets(bad as number[]),
        (err: unknown) => err instanceof InvalidOptionError && /boundsMs/.test(String(err)),
      )
      assert.throws(() => s.buckets(bad as number[]), InvalidOptionError)
    }
  })
})
