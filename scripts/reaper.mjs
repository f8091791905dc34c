/**
 * Last line of defence against leaked test servers (PostgreSQL, PgBouncer).
 *
 * `src/testing/test-server.ts` spawns one per server, detached, in its own session, so it survives the
 * test process even when that process is SIGKILLed (where no `exit` handler can run). It is plain ESM
 * on purpose: it is started with `process.execPath` and must not depend on tsx.
 *
 * Usage: node scripts/reaper.mjs <parentPid> <tempDir> <command> <stopSignal>
 *
 * `command` is the server's executable name (`postgres`, `pgbouncer`), `stopSignal` how it shuts down
 * at once (SIGINT = PostgreSQL "fast shutdown"). It says `{ type: 'listening' }` once it can hear the
 * parent, which then keeps it informed over IPC: `{ type: 'pid', pid }` after every (re)start or stop,
 * and `{ type: 'release' }` once it has cleaned up by itself. When the parent is gone, the reaper sends the stop signal (SIGKILL after 5 s) and removes
 * the temp dir.
 */
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const POLL_MS = 500
const KILL_AFTER_MS = 5000

/** The temp dir prefixes of src/testing/postgres-server.ts and src/testing/pgbouncer.ts. */
const TEMP_PREFIXES = ['berth-pg-', 'berth-pgbouncer-']
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGQUIT']
/** The kernel keeps this many characters of a command name in /proc/<pid>/comm. */
const COMM_LENGTH = 15

const [parentArg, tempDir, command, stopSignal] = process.argv.slice(2)
const parentPid = Number(parentArg)
// Refuse anything but our own temp dirs: this process runs as root in CI and ends with `rm -rf`.
if (
  !Number.isInteger(parentPid) ||
  parentPid <= 0 ||
  !tempDir ||
  !path.isAbsolute(tempDir) ||
  !TEMP_PREFIXES.some((prefix) => path.basename(tempDir).startsWith(prefix)) ||
  !command ||
  !STOP_SIGNALS.includes(stopSignal)
) {
  process.stderr.write('usage: reaper.mjs <parentPid> <tempDir> <command> <SIGINT|SIGTERM|SIGQUIT>\n')
  process.exit(2)
}
let serverPid
let reaping = false

process.on('message', (message) => {
  if (message?.type === 'pid') serverPid = message.pid ?? undefined
  if (message?.type === 'release') process.exit(0)
})
// A closed channel is the fastest hint that the parent died; the poll below confirms it.
process.on('disconnect', () => void check())
// Ctrl-C or a hang-up in the parent's terminal must not take us down before we have cleaned up.
for (const signal of ['SIGINT', 'SIGHUP']) process.on(signal, () => {})
// Anything sent before the listener above was in place is lost; the parent waits for this.
process.send?.({ type: 'listening' })

const timer = setInterval(() => void check(), POLL_MS)

/** Reads the state letter from /proc, so that a zombie (dead, but not yet reaped) counts as gone. */
function procState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return undefined
  }
}

function isAlive(pid) {
  const state = procState(pid)
  if (state !== undefined) return state !== 'Z' && state !== 'X'
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}

/** Guards against pid reuse: only signal a process that still runs the server's command. */
function isServer(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === command.slice(0, COMM_LENGTH)
  } catch {
    return isAlive(pid)
  }
}

function signal(pid, name) {
  try {
    process.kill(pid, name)
  } catch {
    // Already gone.
  }
}

async function check() {
  if (reaping) return
  // Once the parent exits we are re-parented, so ppid changes even if the parent lingers as a zombie.
  if (process.ppid === parentPid && isAlive(parentPid)) return
  reaping = true
  clearInterval(timer)
  const pid = serverPid
  if (pid !== undefined && isAlive(pid) && isServer(pid)) {
    signal(pid, stopSignal)
    const deadline = Date.now() + KILL_AFTER_MS
    while (isAlive(pid) && Date.now() < deadline) await sleep(100)
    if (isAlive(pid)) {
      signal(pid, 'SIGKILL')
      const hardDeadline = Date.now() + 2000
      while (isAlive(pid) && Date.now() < hardDeadline) await sleep(100)
    }
  }
  await rm(tempDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }).catch(() => {})
  process.exit(0)
}
