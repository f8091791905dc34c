import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { until } from '../support/until.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/start-servers.ts', import.meta.url))

/** Alive and not a zombie: a container's init may never reap the orphaned server. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !['Z', 'X'].includes(stat[stat.lastIndexOf(')') + 2] ?? '')
  } catch {
    return false
  }
}

it(
  'stops the servers and removes their temp dirs when the process that started them is SIGKILLed',
  { timeout: 90_000, skip: process.platform !== 'linux' && 'reads /proc' },
  async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    await until(() => stdout.includes('\n') || child.exitCode !== null, 60_000, 'the servers to start')
    const servers = JSON.parse(stdout) as { name: string; pid: number; dir: string }[]
    assert.ok(servers.length > 0)
    for (const { name, pid, dir } of servers) {
      assert.ok(isRunning(pid), `${name} runs`)
      assert.ok(existsSync(dir), `${name}'s temp dir exists`)
    }

    child.kill('SIGKILL')
    await exited
    for (const { name, pid, dir } of servers) {
      await until(() => !isRunning(pid) && !existsSync(dir), 20_000, `the reaper to remove ${name}`)
    }
  },
)
