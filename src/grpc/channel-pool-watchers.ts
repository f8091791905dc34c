/**
 * Connectivity notifications of one channel pool. Every change that can move the pool's
 * connectivity (a channel changing state, a channel made or closed, the pool closing) runs
 * `notify()`, which wakes the `waitForReady` waits and the `watchConnectivityState` callbacks that
 * grpc-js and users register on the pool's channel: one list for both, so neither misses a change.
 */
import type { connectivityState } from '@grpc/grpc-js'
import { NotReadyError } from './errors.js'

export class ConnectivityWatchers {
  readonly #name: string
  readonly #current: () => connectivityState
  readonly #watchers = new Set<() => void>()

  /** @param current the pool channel's connectivity now (what `watch` compares against) */
  constructor(name: string, current: () => connectivityState) {
    this.#name = name
    this.#current = current
  }

  /** Runs `watcher` on every change from now on, until `delete`. */
  add(watcher: () => void): void {
    this.#watchers.add(watcher)
  }

  delete(watcher: () => void): void {
    this.#watchers.delete(watcher)
  }

  /** Something changed: every watcher looks again (each may remove itself). */
  notify(): void {
    for (const w of [...this.#watchers]) w()
  }

  /**
   * grpc-js' `watchConnectivityState`: calls `callback()` once the connectivity is no longer
   * `state`, or `callback(NotReadyError)` at `deadline` (a Date or ms since the epoch; `Infinity`
   * waits as long as it takes). The deadline timer is unref'ed: a wait alone keeps no process up.
   */
  watch(state: connectivityState, deadline: Date | number, callback: (error?: Error) => void): void {
    const at = deadline instanceof Date ? deadline.getTime() : deadline
    let timer: NodeJS.Timeout | undefined
    const check = () => {
      if (this.#current() === state) return
      this.#watchers.delete(check)
      clearTimeout(timer)
      callback()
    }
    if (Number.isFinite(at)) {
      timer = setTimeout(
        () => {
          this.#watchers.delete(check)
          callback(new NotReadyError(this.#name, 'deadline passed before the connectivity state changed'))
        },
        Math.max(0, at - Date.now()),
      )
      timer.unref()
    }
    this.#watchers.add(check)
  }
}
