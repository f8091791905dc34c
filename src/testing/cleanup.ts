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

const REAPER_SCRIPT = fileURLToPath(new URL('../../scripts/reaper.mjs', import.meta.url))

/**
 * Handle on the detached `scripts/reaper.mjs` process, which stops the server and deletes `tempDir` if
 * this process dies without cleaning up (SIGKILL, crash, OOM), i.e. when no in-process hook can run.
 */
export class Reaper {
  private constructor(private readonly child: ChildProcess) {}

  /** Returns undefined when the script is not shipped (e.g. a published build); the hooks still apply. */
  static spawn(tempDir: string): Reaper | undefined {
    if (!existsSync(REAPER_SCRIPT)) return undefined
    return Reaper.spawnWith([REAPER_SCRIPT, String(process.pid), tempDir])
  }

  /**
   * Starts a reaper from Node arguments (a script path, or `-e` and source) that watch this
   * process and clean up after it; it speaks the same pid/release messages.
   */
  static spawnWith(args: string[]): Reaper {
    // The reaper is plain JS: no tsx loader, and it must not think it is part of a node:test run.
    const { NODE_OPTIONS: _loader, NODE_TEST_CONTEXT: _test, ...env } = process.env
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

  /** Tells the reaper which postmaster to stop; `undefined` while the server is stopped. */
  watch(pid: number | undefined): Promise<void> {
    return this.send({ type: 'pid', pid: pid ?? null })
  }

  /** Everything is cleaned up already; the reaper exits. */
  dismiss(): Promise<void> {
    return this.send({ type: 'release' })
  }

  /** Best effort: if the reaper is gone there is nobody to tell, and the in-process hooks remain. */
  private send(message: object): Promise<void> {
    if (!this.child.connected) return Promise.resolve()
    return new Promise((resolve) => this.child.send(message, () => resolve()))
  }
}
