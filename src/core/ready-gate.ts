import { AcquireAbortedError, type PoolErrorContext } from './errors.js'

interface ReadyWaiter {
  resolve(): void
  reject(err: unknown): void
}

/** The callers of `pool.ready()`: they wait for `min` resources, or hear the first failure. */
export class ReadyGate {
  #waiters: ReadyWaiter[] = []

  get size(): number {
    return this.#waiters.length
  }

  wait(signal: AbortSignal | undefined, context: () => PoolErrorContext): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((r) => r !== entry)
        reject(new AcquireAbortedError(context(), signal!.reason))
      }
      const entry: ReadyWaiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (err: unknown) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(entry)
    })
  }

  open(): void {
    for (const r of this.#take()) r.resolve()
  }

  fail(err: unknown): void {
    for (const r of this.#take()) r.reject(err)
  }

  #take(): ReadyWaiter[] {
    const all = this.#waiters
    this.#waiters = []
    return all
  }
}
