import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runCli } from './run-cli.js'

describe('berth --help', () => {
  it('lists the three commands and the exit statuses, and exits 0', async () => {
    const r = await runCli(['--help'])
    assert.equal(r.code, 0, r.stderr)
    for (const word of ['demo', 'doctor', 'bench', 'Exit status']) assert.match(r.stdout, new RegExp(word))
  })

  it('prints the usage on stderr and exits 2 when no command is given', async () => {
    const r = await runCli([])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /Usage: berth/)
  })

  const commands: [string, string[]][] = [
    ['demo', ['--duration', '--port', '--no-dashboard', 'DATABASE_URL', 'Ctrl-C']],
    ['doctor', ['--instances', '--concurrency', '--queries-per-request', '--json', 'max_connections']],
    ['bench', ['--yes', '--queries', '--concurrency', '--duration', '--json', 'schema']],
  ]
  for (const [command, mentions] of commands) {
    it(`berth ${command} --help exits 0 and mentions ${mentions.join(', ')}`, async () => {
      const r = await runCli([command, '--help'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`Usage: berth ${command}`))
      for (const m of mentions) assert.ok(r.stdout.includes(m), `${command} --help should mention ${m}`)
    })
  }
})

describe('usage errors exit 2 and name the problem', () => {
  it('an unknown command', async () => {
    const r = await runCli(['frobnicate'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /unknown command 'frobnicate'/)
  })

  it('an unknown option', async () => {
    const r = await runCli(['doctor', 'postgres://localhost/x', '--bogus'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /unknown option '--bogus'/)
  })

  it('a missing URL', async () => {
    const r = await runCli(['doctor'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /missing required argument 'postgres-url'/)
  })

  it('a port out of range', async () => {
    const r = await runCli(['demo', '--port', '70000'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--port.*70000.*0 to 65535/)
  })

  it('a duration without a unit', async () => {
    const r = await runCli(['demo', '--duration', '30'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--duration.*missing unit/)
  })

  it('an unknown bench workload', async () => {
    const r = await runCli(['bench', 'postgres://localhost/x', '--queries', 'select1,nope'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /unknown name 'nope'/)
  })

  it('doctor --instances 0', async () => {
    const r = await runCli(['doctor', 'postgres://localhost/x', '--instances', '0'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--instances.*integer >= 1/)
  })
})
