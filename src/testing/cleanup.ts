import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Something that owns OS resources (processes, temp dirs) which must not outlive this process. */
export interface Disposable {
  /** Graceful, asynchronous cleanup; must be idempotent. */
  destroy(): Promise<void>
  /** Last resort from the `exit` hook, where nothing asynchronous runs any more. */
  killSync(): void
}

const live = new Set<Disposable>()
let hooksInstalled = false

/**
 * Tracks `resource` until {@link release} so that it is cleaned up on SIGINT/SIGTERM (gracefully) and on
 * process exit (synchronously), even when a test forgets to destroy it.
 */
export function track(resource: Disposable): void {
  installProcessHooks()
  live.add(resource)
}

export function release(resource: Disposable): void {
  live.delete(resource)
}

function installProcessHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', () => {
    for (const resource of live) resource.killSync()
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      void Promise.allSettled([...live].map((resource) => resource.destroy())).then(() => {
        // Installing a listener disables Node's default "die on signal"; restore it unless someone else
        // (e.g. scripts/run-tests.ts) has taken charge of the signal.
        if (process.listenerCount(signal) > 1) return
        process.off(signal, onSignal)
        process.kill(process.pid, signal)
      })
    }
    process.on(signal, onSignal)
  }
}

/** How long a new reaper may take to start listening before the server starts without waiting. */
const LISTEN_TIMEOUT_MS = 5_000

const REAPER_SCRIPT = fileURLToPath(new URL('../../scripts/reaper.mjs', import.meta.url))

/**
 * Handle on the detached `scripts/reaper.mjs` process, which stops the server and deletes `tempDir` if
 * this process dies without cleaning up (SIGKILL, crash, OOM), i.e. when no in-process hook can run.
 */
export class Reaper {
  readonly #child: ChildProcess
  readonly #listening: Promise<void>

  private constructor(child: ChildProcess) {
    this.#child = child
    // Until its 'message' listener is in place, the reaper drops what it is sent; it says when it is.
    this.#listening = new Promise((resolve) => {
      const done = () => {
        child.off('message', done)
        child.off('exit', done)
        clearTimeout(timer)
        resolve()
      }
      child.on('message', done)
      child.on('exit', done)
      // A reaper that never answers must not hold up the server; the in-process hooks remain. Not
      // unref'ed: the reaper and its channel are, so this timer keeps us alive while we wait.
      const timer = setTimeout(done, LISTEN_TIMEOUT_MS)
    })
  }

  /**
   * Starts a reaper for the server processes named `command` (as `/proc/<pid>/comm` shows them),
   * which it stops with `stopSignal`, then SIGKILL. Returns undefined when the script is not shipped;
   * the in-process hooks still apply.
   */
  static spawn(tempDir: string, command: string, stopSignal: NodeJS.Signals): Reaper | undefined {
    if (!existsSync(REAPER_SCRIPT)) return undefined
    // The reaper is plain JS: no tsx loader, and it must not think it is part of a node:test run.
    const { NODE_OPTIONS: _loader, NODE_TEST_CONTEXT: _test, ...env } = process.env
    const args = [REAPER_SCRIPT, String(process.pid), tempDir, command, stopSignal]
    const child = spawn(process.execPath, args, {
      detached: true,
      env,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    })
    child.on('error', () => {})
    // Neither the process nor its IPC channel may keep the test process alive.
    child.unref()
    child.channel?.unref()
    return new Reaper(child)
  }

  /**
   * Resolves once the reaper listens (or is gone). Launch the server only then: a pid sent before
   * would be lost, and a SIGKILL right after the start would leave the server running.
   */
  listening(): Promise<void> {
    return this.#listening
  }

  /** Tells the reaper which server process to stop; `undefined` while the server is stopped. */
  watch(pid: number | undefined): Promise<void> {
    return this.#send({ type: 'pid', pid: pid ?? null })
  }

  /** Everything is cleaned up already; the reaper exits. */
  dismiss(): Promise<void> {
    return this.#send({ type: 'release' })
  }

  /** Best effort: if the reaper is gone there is nobody to tell, and the in-process hooks remain. */
  async #send(message: object): Promise<void> {
    await this.#listening
    if (!this.#child.connected) return
    await new Promise<void>((resolve) => this.#child.send(message, () => resolve()))
  }
}
