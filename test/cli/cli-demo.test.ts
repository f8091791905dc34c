import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { type DemoOptions, loadDemoModule } from '../../src/cli/command-demo.js'
import { runCli } from '../../src/cli/program.js'
import { runCli as spawnCli, waitForOutput } from './run-cli.js'

const FIXTURE = 'test/cli/fixtures/fake-demo-cli.ts'

function io(env: NodeJS.ProcessEnv = {}, signal = new AbortController().signal) {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (b: Buffer) => {
    out += b.toString()
  })
  stderr.on('data', (b: Buffer) => {
    err += b.toString()
  })
  return { io: { stdout, stderr, env, signal }, out: () => out, err: () => err }
}

describe('berth demo hands its options to runDemo', () => {
  it('parses --duration as a Go duration, --port, --no-dashboard, and takes DATABASE_URL', async () => {
    let got: DemoOptions | undefined
    const t = io({ DATABASE_URL: 'postgres://demo@127.0.0.1:5432/demo' })
    const code = await runCli(['demo', '--duration', '1m30s', '--port', '8123', '--no-dashboard'], t.io, {
      loadDemo: async () => ({
        async runDemo(options) {
          got = options
        },
      }),
    })
    assert.equal(code, 0)
    assert.ok(got)
    assert.equal(got.durationMs, 90_000)
    assert.equal(got.port, 8123)
    assert.equal(got.dashboard, false)
    assert.equal(got.databaseUrl, 'postgres://demo@127.0.0.1:5432/demo')
    assert.equal(got.signal, t.io.signal)
    assert.equal(got.out, t.io.stdout)
  })

  it('defaults: no duration, port 0, the dashboard on, no DATABASE_URL', async () => {
    let got: DemoOptions | undefined
    const code = await runCli(['demo'], io().io, {
      loadDemo: async () => ({
        async runDemo(options) {
          got = options
        },
      }),
    })
    assert.equal(code, 0)
    assert.equal(got?.durationMs, undefined)
    assert.equal(got?.port, 0)
    assert.equal(got?.dashboard, true)
    assert.equal(got?.databaseUrl, undefined)
  })

  it('a demo that fails to reach DATABASE_URL exits 3, without the password', async () => {
    const t = io({ DATABASE_URL: 'postgres://demo:Sup3rSecret@127.0.0.1:1/demo' })
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1 (Sup3rSecret)'), {
      code: 'ECONNREFUSED',
    })
    const code = await runCli(['demo'], t.io, {
      loadDemo: async () => ({
        async runDemo() {
          throw Object.assign(new Error('Connection to PostgreSQL failed'), {
            code: 'BERTH_PG_CONNECTION',
            cause: refused,
          })
        },
      }),
    })
    assert.equal(code, 3)
    assert.match(t.err(), /berth demo: error: cannot connect.*connection refused/)
    assert.ok(!t.err().includes('Sup3rSecret'))
  })
})

describe('berth demo and Ctrl-C', () => {
  it('the first SIGINT aborts the demo, which shuts down, and the command exits 0', async () => {
    let stdout = ''
    let child: import('node:child_process').ChildProcess | undefined
    const done = spawnCli(['demo', '--port', '0'], {
      script: FIXTURE,
      killAfterMs: 60_000,
      onSpawn: (c) => {
        child = c
        c.stdout?.on('data', (b: Buffer) => {
          stdout += b.toString()
        })
      },
    })
    await waitForOutput(() => stdout, 'fake demo running')
    child!.kill('SIGINT')
    const r = await done
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /fake demo stopped/)
    assert.match(r.stderr, /SIGINT received, shutting down/)
  })

  it('a second SIGINT exits 130 at once, even when the demo does not stop', async () => {
    let stdout = ''
    let stderr = ''
    let child: import('node:child_process').ChildProcess | undefined
    const done = spawnCli(['demo'], {
      script: FIXTURE,
      env: { FAKE_DEMO: 'stubborn' },
      killAfterMs: 60_000,
      onSpawn: (c) => {
        child = c
        c.stdout?.on('data', (b: Buffer) => {
          stdout += b.toString()
        })
        c.stderr?.on('data', (b: Buffer) => {
          stderr += b.toString()
        })
      },
    })
    await waitForOutput(() => stdout, 'fake demo running')
    child!.kill('SIGINT')
    await waitForOutput(() => stderr, 'SIGINT received')
    child!.kill('SIGINT')
    const r = await done
    assert.equal(r.code, 130)
    assert.doesNotMatch(r.stdout, /fake demo stopped/)
    assert.match(r.stderr, /SIGINT again/)
  })
})

describe('the real demo module', () => {
  it('loads through the CLI loader and its runDemo takes the options the CLI passes', async () => {
    const mod = await loadDemoModule()
    assert.equal(typeof mod.runDemo, 'function')
    // compile-time: the demo's own signature accepts what the CLI hands it
    const real: typeof import('../../src/demo/index.js') = await import('../../src/demo/index.js')
    const accepts: (options: DemoOptions) => Promise<void> = real.runDemo
    assert.equal(accepts, mod.runDemo)
  })
})
