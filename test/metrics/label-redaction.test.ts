import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { redactLabel } from '../../src/metrics/index.js'

describe('redactLabel', () => {
  it('removes the userinfo of a URL and keeps the rest', () => {
    assert.equal(
      redactLabel('postgres://app:s3cret@db.internal:5432/orders'),
      'postgres://db.internal:5432/orders',
    )
    assert.equal(redactLabel('postgresql://app@db/orders'), 'postgresql://db/orders')
  })

  it('masks password-like parameters in a query string or a keyword/value string', () => {
    assert.equal(
      redactLabel('postgres://db/orders?sslpassword=abc&application_name=x'),
      'postgres://db/orders?sslpassword=***&application_name=x',
    )
    assert.equal(redactLabel('host=db password=s3cret user=app'), 'host=db password=*** user=app')
    assert.equal(redactLabel("host=db password='with space' user=app"), 'host=db password=*** user=app')
  })

  it('leaves plain names and gRPC targets alone', () => {
    assert.equal(redactLabel('orders'), 'orders')
    assert.equal(redactLabel('dns:///users.svc:50051'), 'dns:///users.svc:50051')
    assert.equal(redactLabel('127.0.0.1:50051'), '127.0.0.1:50051')
  })
})
