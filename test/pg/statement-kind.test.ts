import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { statementKind } from '../../src/pg/statement-kind.js'

describe('statementKind', () => {
  it('shares plain reads and writes', () => {
    for (const q of [
      'select 1',
      '  SELECT * FROM t',
      'insert into t values (1)',
      'with x as (select 1) select * from x',
      'update t set a = 1',
      'delete from t',
      'values (1)',
      'table t',
      'select 1;',
      '/* c */ select 1',
      '-- c\nselect 1',
    ]) {
      assert.equal(statementKind(q), 'shareable', q)
    }
  })

  it('keeps session-changing statements off shared connections', () => {
    for (const q of [
      "set application_name = 'x'",
      'RESET ALL',
      'listen ch',
      'prepare p as select 1',
      'declare c cursor with hold for select 1',
      'create temp table t (x int)',
      'CREATE GLOBAL TEMPORARY TABLE t (x int)',
      'select pg_advisory_lock(1)',
      "select set_config('a.b', 'c', false)",
      'select 1; select 2',
      'discard all',
    ]) {
      assert.equal(statementKind(q), 'session', q)
    }
  })

  it('recognises BEGIN and START TRANSACTION, and runs other commands exclusive', () => {
    assert.equal(statementKind('begin'), 'begin')
    assert.equal(statementKind('Start Transaction isolation level serializable'), 'begin')
    assert.equal(statementKind('create table t (x int)'), 'exclusive')
    assert.equal(statementKind('vacuum'), 'exclusive')
    assert.equal(statementKind('select pg_advisory_xact_lock(1)'), 'shareable')
    assert.equal(statementKind("SET LOCAL statement_timeout = '1s'"), 'exclusive')
    assert.equal(statementKind('set transaction isolation level serializable'), 'exclusive')
  })
})
