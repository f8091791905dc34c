/**
 * Issue 6, scenario 11: every public entry point of `berth` (core) and `berth/pg` given wrong
 * types, out-of-range numbers, malformed URLs and durations must throw (or reject with) a
 * `BerthError` whose message names the field at fault. Table-driven: one row per bad input.
 * Rows after the "found by this suite" comment were bugs found here (an untyped error, a wrong field
 * name, a value accepted), fixed since; docs/reliability/grpc.md, findings, says how.
 */
import { after, describe, it } from 'node:test'
import { LatencyHistogram, Pool, fullJitterBackoff } from '../../src/core/index.js'
import {
  Pool as CompatPool,
  type PgPool,
  assessBudget,
  createPgPool,
  parseDuration,
  resolvePgConfig,
} from '../../src/pg/index.js'
import { testPostgres } from '../support/postgres.js'
import { type BadInput, expectTypedError } from './grpc-support.js'

// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose
type Any = any
const create = async () => ({})
const destroy = () => {}
const ok = { create, destroy }
const pools: { destroy(): Promise<void> }[] = []
after(async () => {
  await Promise.all(pools.map((p) => p.destroy().catch(() => {})))
})
function pool(): Pool<object> {
  const p = new Pool(ok)
  pools.push(p)
  return p
}
/** A pg pool that never connects (nothing listens on port 1): validation must come first. */
function pgPool(): PgPool {
  const p = createPgPool({ host: '127.0.0.1', port: 1, budgetCheck: false, acquireTimeout: 2000 })
  pools.push(p)
  return p
}
const limits = { maxConnections: 100, superuserReserved: 3, reserved: 0 }
const NO_ENV = {}

const CORE: BadInput[] = [
  ['Pool(null)', () => new Pool(null as Any), 'options'],
  ['Pool without create', () => new Pool({ destroy } as Any), 'create'],
  ['Pool with create: 5', () => new Pool({ create: 5 as Any, destroy }), 'create'],
  ['Pool without destroy', () => new Pool({ create } as Any), 'destroy'],
  ['Pool with an unknown option', () => new Pool({ ...ok, maxSize: 5 } as Any), 'maxSize'],
  ['Pool name: ""', () => new Pool({ ...ok, name: '' }), 'name'],
  ['Pool name: 5', () => new Pool({ ...ok, name: 5 as Any }), 'name'],
  ['Pool max: 0', () => new Pool({ ...ok, max: 0 }), 'max'],
  ['Pool max: 1.5', () => new Pool({ ...ok, max: 1.5 }), 'max'],
  ['Pool max: "10"', () => new Pool({ ...ok, max: '10' as Any }), 'max'],
  ['Pool max: NaN', () => new Pool({ ...ok, max: Number.NaN }), 'max'],
  ['Pool min: -1', () => new Pool({ ...ok, min: -1 }), 'min'],
  ['Pool min above max', () => new Pool({ ...ok, min: 5, max: 2 }), 'min'],
  ['Pool minIdle above max', () => new Pool({ ...ok, minIdle: 11 }), 'minIdle'],
  ['Pool capacity: 0', () => new Pool({ ...ok, capacity: 0 }), 'capacity'],
  ['Pool maxWaiting: -1', () => new Pool({ ...ok, maxWaiting: -1 }), 'maxWaiting'],
  ['Pool acquireTimeoutMs: 0', () => new Pool({ ...ok, acquireTimeoutMs: 0 }), 'acquireTimeoutMs'],
  [
    'Pool acquireTimeoutMs: "1s"',
    () => new Pool({ ...ok, acquireTimeoutMs: '1s' as Any }),
    'acquireTimeoutMs',
  ],
  ['Pool createTimeoutMs: -Infinity', () => new Pool({ ...ok, createTimeoutMs: -1 / 0 }), 'createTimeoutMs'],
  [
    'Pool validateTimeoutMs: NaN',
    () => new Pool({ ...ok, validateTimeoutMs: Number.NaN }),
    'validateTimeoutMs',
  ],
  ['Pool destroyTimeoutMs: -1', () => new Pool({ ...ok, destroyTimeoutMs: -1 }), 'destroyTimeoutMs'],
  ['Pool maxLifetimeMs: 0', () => new Pool({ ...ok, maxLifetimeMs: 0 }), 'maxLifetimeMs'],
  ['Pool maxLifetimeJitterMs: -1', () => new Pool({ ...ok, maxLifetimeJitterMs: -1 }), 'maxLifetimeJitterMs'],
  ['Pool maxIdleMs: -5', () => new Pool({ ...ok, maxIdleMs: -5 }), 'maxIdleMs'],
  ['Pool healthCheckPeriodMs: 0', () => new Pool({ ...ok, healthCheckPeriodMs: 0 }), 'healthCheckPeriodMs'],
  ['Pool validateAfterIdleMs: -1', () => new Pool({ ...ok, validateAfterIdleMs: -1 }), 'validateAfterIdleMs'],
  ['Pool leakDetectionMs: 0', () => new Pool({ ...ok, leakDetectionMs: 0 }), 'leakDetectionMs'],
  ['Pool backoffInitialMs: 0', () => new Pool({ ...ok, backoffInitialMs: 0 }), 'backoffInitialMs'],
  [
    'Pool backoffMaxMs below initial',
    () => new Pool({ ...ok, backoffMaxMs: 10, backoffInitialMs: 50 }),
    'backoffMaxMs',
  ],
  ['Pool validate: 5', () => new Pool({ ...ok, validate: 5 as Any }), 'validate'],
  ['Pool canShare: "x"', () => new Pool({ ...ok, canShare: 'x' as Any }), 'canShare'],
  ['Pool spreadShared: "yes"', () => new Pool({ ...ok, spreadShared: 'yes' as Any }), 'spreadShared'],
  ['Pool clock: 5', () => new Pool({ ...ok, clock: 5 as Any }), 'clock'],
  ['Pool random: 5', () => new Pool({ ...ok, random: 5 as Any }), 'random'],
  ['acquire(null)', () => pool().acquire(null as Any), 'acquire options'],
  ['acquire timeoutMs: -1', () => pool().acquire({ timeoutMs: -1 }), 'timeoutMs'],
  ['acquire timeoutMs: "x"', () => pool().acquire({ timeoutMs: 'x' as Any }), 'timeoutMs'],
  ['acquire signal: 5', () => pool().acquire({ signal: 5 as Any }), 'signal'],
  ['acquire shared: "yes"', () => pool().acquire({ shared: 'yes' as Any }), 'shared'],
  ['close timeoutMs: -1', () => pool().close({ timeoutMs: -1 }), 'timeoutMs'],
  ['close timeoutMs: "x"', () => pool().close({ timeoutMs: 'x' as Any }), 'timeoutMs'],
  // Found by this suite as bugs and fixed since (docs/reliability/grpc.md, findings).
  ['tryAcquire shared: "x"', () => pool().tryAcquire({ shared: 'x' as Any }), 'shared'],
  ['ready signal: "x"', () => pool().ready({ signal: 'x' as Any }), 'signal'],
  ['LatencyHistogram.record(NaN)', () => new LatencyHistogram().record(Number.NaN), 'ms'],
  ['LatencyHistogram.record(Infinity)', () => new LatencyHistogram().record(Number.POSITIVE_INFINITY), 'ms'],
  ['fullJitterBackoff(NaN, ...)', () => fullJitterBackoff(Number.NaN, 100, 1000, Math.random), 'attempt'],
]

const PG: BadInput[] = [
  ['createPgPool(5)', () => createPgPool(5 as Any), 'connection string'],
  ['createPgPool("mysql://...")', () => createPgPool('mysql://u@h/db'), 'connection string'],
  ['createPgPool("host=h dbname=d")', () => createPgPool('host=h dbname=d'), 'connection string'],
  ['URL port 99999', () => createPgPool('postgres://h:99999/db'), 'port'],
  ['URL port "abc"', () => createPgPool('postgres://h:abc/db'), 'port'],
  ['URL with an empty host entry', () => createPgPool('postgres://h1,,h2/db'), 'host'],
  [
    'URL target_session_attrs=master',
    () => createPgPool('postgres://h1,h2/db?target_session_attrs=master'),
    'target_session_attrs',
  ],
  ['URL with 3 ports for 2 hosts', () => createPgPool('postgres://h/db?host=a,b&port=1,2,3'), 'port'],
  ['URL with an unclosed IPv6 bracket', () => createPgPool('postgres://[::1/db'), 'host'],
  ['URL with an unbracketed IPv6 host', () => createPgPool('postgres://::1:5432/db'), 'host'],
  ['URL with a bad escape in dbname', () => createPgPool('postgres://h/%zz'), 'dbname'],
  ['URL with a raw @ after the host', () => createPgPool('postgres://u:p/x@h/db@x'), 'dbname'],
  ['URL pool_max_conns=0', () => createPgPool('postgres://h/db?pool_max_conns=0'), 'pool_max_conns'],
  ['URL pool_min_conns=x', () => createPgPool('postgres://h/db?pool_min_conns=x'), 'pool_min_conns'],
  [
    'URL bare-number lifetime',
    () => createPgPool('postgres://h/db?pool_max_conn_lifetime=5'),
    'pool_max_conn_lifetime',
  ],
  [
    'URL idle time "1 hour"',
    () => createPgPool('postgres://h/db?pool_max_conn_idle_time=1%20hour'),
    'pool_max_conn_idle_time',
  ],
  [
    'URL health period -1s',
    () => createPgPool('postgres://h/db?pool_health_check_period=-1s'),
    'pool_health_check_period',
  ],
  [
    'URL statement_timeout=-1',
    () => createPgPool('postgres://h/db?statement_timeout=-1'),
    'statement_timeout',
  ],
  [
    'URL statement_timeout=1m (Go unit)',
    () => createPgPool('postgres://h/db?statement_timeout=1m'),
    'statement_timeout',
  ],
  ['URL connect_timeout=1.5', () => createPgPool('postgres://h/db?connect_timeout=1.5'), 'connect_timeout'],
  ['URL sslmode=maybe', () => createPgPool('postgres://h/db?sslmode=maybe'), 'sslmode'],
  ['URL unknown parameter', () => createPgPool('postgres://h/db?bogus=1'), 'bogus'],
  ['URL query piece without =', () => createPgPool('postgres://h/db?sslmode'), 'sslmode'],
  ['option port 70000', () => createPgPool({ port: 70000 }), 'port'],
  ['option port 0', () => createPgPool({ port: 0 }), 'port'],
  ['option host ""', () => createPgPool({ host: '' }), 'host'],
  ['option host "a,,b"', () => createPgPool({ host: 'a,,b' }), 'host'],
  [
    'option loadBalanceHosts "yes"',
    () => createPgPool({ loadBalanceHosts: 'yes' as Any }),
    'loadBalanceHosts',
  ],
  ['option user 5', () => createPgPool({ user: 5 as Any }), 'user'],
  ['option password 5', () => createPgPool({ password: 5 as Any }), 'password'],
  ['option database ""', () => createPgPool({ database: '' }), 'database'],
  ['option maxConns 0', () => createPgPool({ maxConns: 0 }), 'maxConns'],
  ['option maxConns 1.5', () => createPgPool({ maxConns: 1.5 }), 'maxConns'],
  ['option minConns above maxConns', () => createPgPool({ minConns: 5, maxConns: 2 }), 'minConns'],
  ['option minIdleConns -1', () => createPgPool({ minIdleConns: -1 }), 'minIdleConns'],
  [
    'option maxConnLifetime "5 parsecs"',
    () => createPgPool({ maxConnLifetime: '5 parsecs' }),
    'maxConnLifetime',
  ],
  ['option maxConnLifetime 0', () => createPgPool({ maxConnLifetime: 0 }), 'maxConnLifetime'],
  [
    'option maxConnLifetimeJitter Infinity',
    () => createPgPool({ maxConnLifetimeJitter: 1 / 0 }),
    'maxConnLifetimeJitter',
  ],
  ['option maxConnIdleTime -1', () => createPgPool({ maxConnIdleTime: -1 }), 'maxConnIdleTime'],
  [
    'option healthCheckPeriod "never"',
    () => createPgPool({ healthCheckPeriod: 'never' }),
    'healthCheckPeriod',
  ],
  ['option statementTimeout -1', () => createPgPool({ statementTimeout: -1 }), 'statementTimeout'],
  ['option statementTimeout 2^31', () => createPgPool({ statementTimeout: 2 ** 31 }), 'statementTimeout'],
  ['option connectTimeout -1', () => createPgPool({ connectTimeout: -1 }), 'connectTimeout'],
  ['option sslmode "on"', () => createPgPool({ sslmode: 'on' as Any }), 'sslmode'],
  ['option with a URL name', () => createPgPool({ pool_max_conns: 5 } as Any), 'pool_max_conns'],
  [
    'option connectionString',
    () => createPgPool({ connectionString: 'postgres://h/db' } as Any),
    'connectionString',
  ],
  ['option unknown', () => createPgPool({ nmae: 'x' } as Any), 'nmae'],
  ['second argument 5', () => createPgPool('postgres://h/db', 5 as Any), 'options'],
  ['pool name ""', () => createPgPool({ name: '' }), 'name'],
  ['acquireTimeout -1', () => createPgPool({ acquireTimeout: -1 }), 'acquireTimeout'],
  ['acquireTimeout NaN', () => createPgPool({ acquireTimeout: Number.NaN }), 'acquireTimeout'],
  ['acquireTimeout "soon"', () => createPgPool({ acquireTimeout: 'soon' }), 'acquireTimeout'],
  ['pipeline "yes"', () => createPgPool({ pipeline: 'yes' as Any }), 'pipeline'],
  ['pipelineDepth 0', () => createPgPool({ pipelineDepth: 0 }), 'pipelineDepth'],
  ['pipelineSlowQuery -1', () => createPgPool({ pipelineSlowQuery: -1 }), 'pipelineSlowQuery'],
  ['pgbouncer "session"', () => createPgPool({ pgbouncer: 'session' as Any }), 'pgbouncer'],
  ['pipeline with pgbouncer', () => createPgPool({ pgbouncer: 'transaction', pipeline: true }), 'pipeline'],
  ['instances 0', () => createPgPool({ instances: 0 }), 'instances'],
  ['budgetCheck "no"', () => createPgPool({ budgetCheck: 'no' as Any }), 'budgetCheck'],
  ['env PGPORT=abc', () => resolvePgConfig(undefined, undefined, { PGPORT: 'abc' }), 'PGPORT'],
  [
    'env PGCONNECT_TIMEOUT=1.5',
    () => resolvePgConfig(undefined, undefined, { PGCONNECT_TIMEOUT: '1.5' }),
    'PGCONNECT_TIMEOUT',
  ],
  ['env PGSSLMODE=yes', () => resolvePgConfig(undefined, undefined, { PGSSLMODE: 'yes' }), 'PGSSLMODE'],
  [
    'env PGHOST=a,b PGPORT=1,2,3',
    () => resolvePgConfig(undefined, undefined, { PGHOST: 'a,b', PGPORT: '1,2,3' }),
    'PGPORT',
  ],
  ['parseDuration("5")', () => parseDuration('5', 'pool_max_conn_lifetime'), 'pool_max_conn_lifetime'],
  ['parseDuration(5)', () => parseDuration(5 as Any, 'f'), 'f'],
  ['parseDuration("-1s")', () => parseDuration('-1s', 'f'), 'f'],
  ['parseDuration("3000000h") overflows', () => parseDuration('3000000h', 'f'), 'f'],
  ['parseDuration("1d")', () => parseDuration('1d', 'f'), 'f'],
  ['assessBudget instances 0', () => assessBudget(limits, 5, { instances: 0 }), 'instances'],
  ['assessBudget concurrency 0', () => assessBudget(limits, 5, { concurrency: 0 }), 'concurrency'],
  [
    'assessBudget queriesPerRequest 0.5',
    () => assessBudget(limits, 5, { concurrency: 5, queriesPerRequest: 0.5 }),
    'queriesPerRequest',
  ],
  ['pg.Pool max -1', () => new CompatPool({ max: -1 }), 'max'],
  ['pg.Pool min above max', () => new CompatPool({ min: 5, max: 2 }), 'min'],
  ['query timeoutMs -1', () => pgPool().query('select 1', [], { timeoutMs: -1 }), 'timeoutMs'],
  ['query timeoutMs "x"', () => pgPool().query('select 1', [], { timeoutMs: 'x' as Any }), 'timeoutMs'],
  ['query signal 5', () => pgPool().query('select 1', [], { signal: 5 as Any }), 'signal'],
  ['tx isolation "chaos"', () => pgPool().tx(async () => 1, { isolation: 'chaos' as Any }), 'isolation'],
  ['tx retries -1', () => pgPool().tx(async () => 1, { retries: -1 }), 'retries'],
  // Found by this suite as bugs and fixed since (docs/reliability/grpc.md, findings).
  ['pg.Pool(null)', () => new CompatPool(null as Any), 'options'],
  [
    'pg.Pool connectionTimeoutMillis -5',
    () => new CompatPool({ connectionTimeoutMillis: -5 }),
    'connectionTimeoutMillis',
  ],
  ['pg.Pool maxLifetimeSeconds -1', () => new CompatPool({ maxLifetimeSeconds: -1 }), 'maxLifetimeSeconds'],
  [
    'pg.Pool idleTimeoutMillis "x"',
    () => new CompatPool({ idleTimeoutMillis: 'x' as Any }),
    'idleTimeoutMillis',
  ],
  ['createPgPool name 5', () => createPgPool({ name: 5 } as Any), 'name'],
  ['db.query(5)', () => pgPool().query(5 as Any), 'text'],
  ['assessBudget(null, 5)', () => assessBudget(null as Any, 5), 'limits'],
  ['assessBudget(limits, -5)', () => assessBudget(limits, -5), 'maxConns'],
  ['resolvePgConfig env null', () => resolvePgConfig(undefined, undefined, null as Any), 'env'],
]

describe('reliability: bad input to berth (core)', () => {
  for (const [name, run, field] of CORE)
    it(`${name} -> names ${field}`, async () => {
      await expectTypedError(run, field)
    })
})

describe('reliability: bad input to berth/pg', () => {
  for (const [name, run, field] of PG) {
    it(`${name} -> names ${field}`, async () => {
      await expectTypedError(run, field)
    })
  }
})

describe('reliability: bad input to berth/pg that reaches the server', () => {
  let db: PgPool | undefined
  after(() => db?.close({ timeoutMs: 2000 }))
  async function live(): Promise<PgPool> {
    const pg = await testPostgres()
    db ??= createPgPool(pg.url, { budgetCheck: false, acquireTimeout: 10_000 })
    return db
  }
  it('checkBudget instances 0 -> names instances', async () => {
    const d = await live()
    await expectTypedError(() => d.checkBudget({ instances: 0 }), 'instances')
  })
  it('query params 5 -> a typed error', async () => {
    const d = await live()
    await expectTypedError(() => d.query('select $1::int as n', 5 as Any), 'params')
  })
  it('tx(5) -> names fn', async () => {
    const d = await live()
    await expectTypedError(() => d.tx(5 as Any), 'fn')
  })
})
