/**
 * The option contract, checked the same way against every owner of connections: each reads its
 * options from one table (src/core/option-table.ts), so an unknown name, a wrong type and a value
 * out of range all fail at construction with an InvalidOptionError (or its subclass) that names
 * the option and says what it takes; the pg.Pool drop-in passes over unknown names, as pg.Pool does.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidOptionError } from '../../src/core/errors.js'
import { Pool } from '../../src/core/pool.js'
import { ChannelPool } from '../../src/grpc/channel-pool.js'
import { ChannelRegistry } from '../../src/grpc/channel-registry.js'
import { Pool as CompatPool, createPgPool } from '../../src/pg/index.js'

interface Closeable {
  destroy(): Promise<unknown>
}

interface Row {
  owner: string
  make(options: Record<string, unknown>): Closeable
  /** An option of the right name with a value of the wrong type, and one out of range. */
  wrongType: [string, unknown]
  outOfRange: [string, unknown]
  /** What an unknown name does: refused, or passed over (pg.Pool's own behaviour). */
  unknown: 'refused' | 'ignored'
}

const URL = 'postgres://u@127.0.0.1:1/db'

const rows: Row[] = [
  {
    owner: 'core Pool',
    make: (o) => new Pool({ create: async () => ({}), destroy: () => {}, ...o }),
    wrongType: ['acquireTimeoutMs', '5s'],
    outOfRange: ['max', 0],
    unknown: 'refused',
  },
  {
    owner: 'PgPool (createPgPool)',
    make: (o) => createPgPool(URL, o),
    wrongType: ['pipeline', 'yes'],
    outOfRange: ['pipelineDepth', 0],
    unknown: 'refused',
  },
  {
    owner: 'pg.Pool drop-in',
    make: (o) => new CompatPool({ connectionString: URL, ...o }),
    wrongType: ['idleTimeoutMillis', '10s'],
    outOfRange: ['max', 0],
    unknown: 'ignored',
  },
  {
    owner: 'ChannelPool',
    make: (o) => new ChannelPool('127.0.0.1:1', o),
    wrongType: ['metrics', 1],
    outOfRange: ['maxChannels', 2000],
    unknown: 'refused',
  },
  {
    owner: 'ChannelRegistry',
    make: (o) => new ChannelRegistry(o),
    wrongType: ['now', 5],
    outOfRange: ['idleCloseMs', -1],
    unknown: 'refused',
  },
]

function refuses(row: Row, options: Record<string, unknown>, option: string): void {
  assert.throws(
    () => row.make(options),
    (err: unknown) => {
      assert.ok(err instanceof InvalidOptionError, `${row.owner}: an InvalidOptionError, got ${String(err)}`)
      assert.equal(err.option, option)
      assert.ok(err.expected.length > 0, 'it says what the option takes')
      assert.match(err.message, new RegExp(option))
      return true
    },
  )
}

for (const row of rows) {
  describe(`option contract: ${row.owner}`, () => {
    it('a wrong type is refused, naming the option', () => {
      refuses(row, { [row.wrongType[0]]: row.wrongType[1] }, row.wrongType[0])
    })
    it('a value out of range is refused, naming the option', () => {
      refuses(row, { [row.outOfRange[0]]: row.outOfRange[1] }, row.outOfRange[0])
    })
    it(`an unknown name is ${row.unknown}`, async () => {
      if (row.unknown === 'refused') {
        refuses(row, { maxConnz: 3 }, 'maxConnz')
      } else {
        const owner = row.make({ maxConnz: 3 })
        await owner.destroy()
      }
    })
  })
}
