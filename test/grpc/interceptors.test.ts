import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as grpc from '@grpc/grpc-js'
import { deadlineInterceptor } from '../../src/grpc/interceptor-deadline.js'
import { metadataPropagationInterceptor } from '../../src/grpc/interceptor-metadata.js'
import { CallMetrics, metricsInterceptor } from '../../src/grpc/interceptor-metrics.js'
import { composeInterceptors } from '../../src/grpc/interceptors.js'
import { type EchoClient, echo, echoFixture } from '../support/grpc.js'

/** An interceptor that records when it sees the call go out and its status come back. */
function tracer(name: string, events: string[]): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        events.push(`out:${name}`)
        next(metadata, {
          onReceiveStatus: (status, forward) => {
            events.push(`back:${name}`)
            forward(status)
          },
        })
      },
    })
}

describe('composeInterceptors', () => {
  const fixture = echoFixture()

  const client = (interceptors: grpc.Interceptor[]): EchoClient => fixture.client(interceptors)

  test('lists are concatenated outermost first and holes are dropped', async () => {
    const events: string[] = []
    const [a, user, b] = [
      tracer('berth-outer', events),
      tracer('user', events),
      tracer('berth-inner', events),
    ]
    const composed = composeInterceptors([a, undefined], [user], [false, null, b])
    assert.deepEqual(composed, [a, user, b])
    await echo(client(composed))
    assert.deepEqual(events, [
      'out:berth-outer',
      'out:user',
      'out:berth-inner',
      'back:berth-inner',
      'back:user',
      'back:berth-outer',
    ])
  })

  test("a user's interceptor sees what outer interceptors did, and not what inner ones will do", async () => {
    const seenByUser: { deadline: grpc.Deadline | undefined; client: grpc.MetadataValue[] }[] = []
    const user: grpc.Interceptor = (options, nextCall) =>
      new grpc.InterceptingCall(nextCall(options), {
        start: (metadata, listener, next) => {
          seenByUser.push({ deadline: options.deadline, client: metadata.get('x-client') })
          next(metadata, listener)
        },
      })
    const metrics = new CallMetrics()
    const interceptors = composeInterceptors(
      [deadlineInterceptor({ defaultMs: 5000 }), metricsInterceptor(metrics)],
      [user],
      [metadataPropagationInterceptor({ static: { 'x-client': 'billing' } })],
    )
    const reply = await echo(client(interceptors), { message: 'hi' })

    assert.equal(seenByUser.length, 1)
    assert.equal(typeof seenByUser[0]?.deadline, 'number')
    assert.deepEqual(seenByUser[0]?.client, [])
    assert.ok(reply.metadata.includes('x-client=billing'))
    assert.equal(metrics.snapshot().finished, 1)
  })

  test('the inputs are not modified', () => {
    const list = [tracer('x', [])]
    const out = composeInterceptors(list, list)
    assert.equal(out.length, 2)
    assert.equal(list.length, 1)
    assert.notEqual(out, list)
  })
})
